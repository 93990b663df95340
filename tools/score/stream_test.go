package score

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"
)

// writeLinearInput writes n rows of x, y, z (and an ignored id column) to a
// CSV file and returns its path.
func writeLinearInput(t testing.TB, dir string, n int) string {
	t.Helper()
	path := filepath.Join(dir, "input"+strconv.Itoa(n)+".csv")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("id,x,y,z\n")
	var line []byte
	for i := range n {
		line = strconv.AppendInt(line[:0], int64(i), 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, int64(i%1000), 10)
		line = append(line, ".5,"...)
		line = strconv.AppendInt(line, int64(i%17-8), 10)
		line = append(line, ",0.25\n"...)
		w.Write(line)
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
	return path
}

type memUse struct {
	allocated uint64 // bytes allocated during the run
	mallocs   uint64
	peakHeap  uint64 // highest HeapInuse sampled during the run
}

// scoreMeasured runs ScoreFile from inPath to a file named out and samples
// the heap while it runs.
func scoreMeasured(t *testing.T, inPath, out string, rows int) memUse {
	t.Helper()
	opts := linearOptions()
	outPath := filepath.Join(t.TempDir(), out)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	peak := before.HeapInuse
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
	})
	st, err := ScoreFile(context.Background(), linearModel(t), opts, inPath, outPath)
	close(stop)
	wg.Wait()
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	require.EqualValues(t, rows, st.Rows)
	m := memUse{
		allocated: after.TotalAlloc - before.TotalAlloc,
		mallocs:   after.Mallocs - before.Mallocs,
		peakHeap:  peak,
	}
	t.Logf("%s -> %s: %d rows in %v (%.0f rows/s): allocated %d KiB (%.2f bytes/row) in %d allocations, peak heap in use %d KiB",
		filepath.Ext(inPath), out, rows, st.Elapsed, float64(rows)/st.Elapsed.Seconds(), m.allocated>>10, float64(m.allocated)/float64(rows), m.mallocs, m.peakHeap>>10)
	return m
}

// TestScoreStreaming scores 200 thousand and 2 million rows and checks that
// neither the bytes allocated nor the peak heap grow with the row count:
// the pipeline recycles its chunks, so ten times the rows may cost a few
// more allocations for buffers that grow, not ten times the memory.
func TestScoreStreaming(t *testing.T) {
	if testing.Short() {
		t.Skip("scores 2.2 million rows")
	}
	if raceEnabled {
		t.Skip("the race detector's allocations would swamp the measure")
	}
	dir := t.TempDir()
	const small, large = 200_000, 2_000_000
	smallPath, largePath := writeLinearInput(t, dir, small), writeLinearInput(t, dir, large)
	for _, out := range []string{"out.csv", "out.parquet"} {
		t.Run(out, func(t *testing.T) {
			s := scoreMeasured(t, smallPath, out, small)
			l := scoreMeasured(t, largePath, out, large)
			// Slack for what a run allocates whatever its length (chunks,
			// bufio buffers, the sampler) and for GC timing.
			const slack = 4 << 20
			// The Parquet writer allocates as it goes (parquet-go's pages
			// and row groups): there, only the peak heap must stay flat.
			if out == "out.csv" && l.allocated > s.allocated+slack {
				t.Errorf("allocated %d KiB for %d rows but %d KiB for %d: allocation grows with the input", l.allocated>>10, large, s.allocated>>10, small)
			}
			if l.peakHeap > s.peakHeap+slack {
				t.Errorf("peak heap %d KiB for %d rows but %d KiB for %d: memory grows with the input", l.peakHeap>>10, large, s.peakHeap>>10, small)
			}
		})
	}
	t.Run("in.parquet", func(t *testing.T) {
		smallPath, largePath := writeParquetLinearInput(t, dir, small), writeParquetLinearInput(t, dir, large)
		s := scoreMeasured(t, smallPath, "out.csv", small)
		l := scoreMeasured(t, largePath, "out.csv", large)
		const slack = 4 << 20
		if l.peakHeap > s.peakHeap+slack {
			t.Errorf("peak heap %d KiB for %d rows but %d KiB for %d: memory grows with the input", l.peakHeap>>10, large, s.peakHeap>>10, small)
		}
	})
}

// writeParquetLinearInput writes n rows of x, y, z to a Parquet file in row
// groups of 100 thousand rows and returns its path.
func writeParquetLinearInput(t testing.TB, dir string, n int) string {
	t.Helper()
	type row struct {
		X float64 `parquet:"x"`
		Y float64 `parquet:"y,optional"`
		Z int32   `parquet:"z"`
	}
	path := filepath.Join(dir, "input"+strconv.Itoa(n)+".parquet")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := parquet.NewGenericWriter[row](f, parquet.MaxRowsPerRowGroup(100_000))
	buf := make([]row, 0, 10_000)
	for i := range n {
		buf = append(buf, row{X: float64(i % 1000), Y: float64(i%17 - 8), Z: int32(i % 4)})
		if len(buf) == cap(buf) || i == n-1 {
			_, err := w.Write(buf)
			require.NoError(t, err)
			buf = buf[:0]
		}
	}
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
	return path
}

// livePeak runs score and returns the largest live heap (HeapAlloc just
// after a forced collection) sampled while it runs, so that garbage the
// collector has not yet freed does not count.
func livePeak(t *testing.T, score func() error) uint64 {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	peak := ms.HeapAlloc
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
	})
	err := score()
	close(stop)
	wg.Wait()
	require.NoError(t, err)
	return peak
}

// TestScoreTransformedStreaming scores a transformed version's raw inputs,
// 50 thousand and 400 thousand rows of CSV and of Parquet (the second would
// take 32 MB as model columns), and checks that the live heap does not grow
// with the row count: OpenModelInput reads the file in chunks.
// (internal/table allocates as it reads, so only the live heap, sampled
// after forced collections, is compared.)
func TestScoreTransformedStreaming(t *testing.T) {
	l := transformedLinear(t)
	opts := transformOptions(l)
	opts.Features, opts.BatchRows = nil, DefaultBatchRows
	const small, large = 50_000, 400_000
	// The rows are written and dropped before anything is measured.
	write := func(format string, n int) string {
		if format == "csv" {
			return writeRawCSV(t, t.TempDir(), rawRows(n, false))
		}
		// Row groups of 100k rows: the footer parquet-go holds grows
		// with the number of row groups, not with the rows.
		return writeRawParquetGroups(t, t.TempDir(), rawRows(n, false), 100_000, 64<<10)
	}
	for _, format := range []string{"csv", "parquet"} {
		run := func(n int) uint64 {
			in, out := write(format, n), filepath.Join(t.TempDir(), "out.csv")
			return livePeak(t, func() error {
				st, err := ScoreModelFile(context.Background(), l, opts, in, out)
				if err == nil && st.Rows != int64(n) {
					err = fmt.Errorf("scored %d rows of %d", st.Rows, n)
				}
				return err
			})
		}
		s, lg := run(small), run(large)
		t.Logf("%s: live heap peak %d KiB for %d rows, %d KiB for %d", format, s>>10, small, lg>>10, large)
		// Garbage allocated between a sample's collection and its reading
		// counts as live: a few MB at 100 MB/s on a loaded machine.
		const slack = 8 << 20
		if lg > s+slack {
			t.Errorf("%s: live heap peak %d KiB for %d rows but %d KiB for %d: memory grows with the input", format, lg>>10, large, s>>10, small)
		}
	}
}
