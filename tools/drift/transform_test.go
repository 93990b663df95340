package drift

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/transform"
	mdrift "github.com/predictd/predictd/monitor/drift"
	"github.com/predictd/predictd/tools/profile"
)

// rowsReader is a score.RowReader over rows held in memory.
type rowsReader struct {
	rows []float64
	nf   int
}

func (r *rowsReader) Read(dst []float64) (int, error) {
	n := min(len(dst), len(r.rows)) / r.nf
	copy(dst, r.rows[:n*r.nf])
	r.rows = r.rows[n*r.nf:]
	if len(r.rows) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// TestTransformedProfileAndDrift: for a version with feature transforms,
// profile.ModelFile of a file of raw inputs profiles the model's columns:
// the reference Build makes of the rows model.TransformRow gives. drift.File
// of the same file compares those columns and finds no drift; profile.File,
// which cannot transform, refuses the version.
func TestTransformedProfileAndDrift(t *testing.T) {
	p, err := transform.FitRows([]transform.Feature{
		{Name: "amount", Columns: []string{"amount"}, Steps: []transform.Step{{Op: transform.OpImpute, Strategy: "mean", Indicator: true}, {Op: transform.OpStandardize}}},
		{Name: "country", Columns: []string{"country"}, Encode: &transform.Encoding{Op: transform.EncOneHot, Unknown: "zeros"}},
	}, []transform.Row{
		{transform.Num(2), transform.Str("DE")}, {transform.Num(11), transform.Str("US")}, {transform.Value{}, transform.Str("US")},
	})
	if err != nil {
		t.Fatal(err)
	}
	imp := fixture.LogisticOver(p, 0.5, -0.3, -0.1)
	repo := t.TempDir()
	if _, _, err := model.Write(repo, "tm", imp, model.WriteOptions{Transform: p}); err != nil {
		t.Fatal(err)
	}
	l, err := model.Open(repo, "tm", 0)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("amount,country\n")
	var x []float64
	for i := range 1200 {
		row, amount, country := transform.Row{transform.Value{}, transform.Value{}}, "", []string{"DE", "US", "FR", ""}[i%4]
		if i%6 != 1 {
			a := float64(i%37)*0.9 - 3
			row[0], amount = transform.Num(a), fmt.Sprint(a)
		}
		if country != "" {
			row[1] = transform.Str(country)
		}
		fmt.Fprintf(&b, "%s,%s\n", amount, country)
		if x, err = model.TransformRow(x, l.Transform, false, row); err != nil {
			t.Fatal(err)
		}
	}
	in := filepath.Join(t.TempDir(), "raw.csv")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ref, err := profile.ModelFile(ctx, l, in, profile.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	want, err := profile.Build(ctx, l.Model, l.Manifest, &rowsReader{x, p.Width()}, in, profile.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ref.Features {
		names = append(names, d.Name)
	}
	if !slices.Equal(names, p.Names()) || ref.Rows != 1200 || !reflect.DeepEqual(ref.Features, want.Features) || !reflect.DeepEqual(ref.Outputs, want.Outputs) {
		t.Errorf("ModelFile(%s): %d rows, features %v; want 1200 rows of the columns %v, profiled as Build profiles the transformed rows", in, ref.Rows, names, p.Names())
	}
	if err := ref.CheckManifest(l.Manifest); err != nil {
		t.Errorf("the reference does not fit the version: %v", err)
	}

	rep, err := File(ctx, l, ref, in, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	names = names[:0]
	for _, r := range rep.Features {
		names = append(names, r.Name)
	}
	if rep.Rows != 1200 || !slices.Equal(names, p.Names()) || rep.Status != mdrift.StatusOK {
		t.Errorf("drift.File(%s) against its own profile: %d rows, features %v, status %s (%v); want 1200, %v, ok", in, rep.Rows, names, rep.Status, rep.Flagged(mdrift.StatusDrift), p.Names())
	}

	_, err = profile.File(ctx, l.Model, l.Manifest, in, profile.DefaultOptions())
	if wantErr := "profile: model tm v1 transforms its raw inputs: profile the loaded version with ModelFile"; err == nil || !strings.HasPrefix(err.Error(), wantErr) {
		t.Errorf("profile.File of a transformed version = %v, want it to start %q", err, wantErr)
	}
}
