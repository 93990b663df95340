package compare

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFiles(t *testing.T) {
	a := write(t, "a.csv", "p0,p1\n0.5,0.25\n1,\n0,2\n")
	b := write(t, "b.csv", "p0,p1\n0.5,0.2501\n1,\n0,2.1\n")
	rep, err := Files(a, b, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 3 {
		t.Fatalf("Rows = %d, want 3", rep.Rows)
	}
	p1 := rep.Columns[1]
	if p1.Over != 2 || p1.WorstRow != 3 {
		t.Errorf("p1 = %+v, want 2 over tolerance and worst row 3", p1)
	}
	if rep.Columns[0].Over != 0 || rep.Columns[0].MaxAbs != 0 {
		t.Errorf("p0 = %+v, want exact agreement", rep.Columns[0])
	}
	if rep.OK() {
		t.Error("OK() = true with values over tolerance")
	}
}

func TestFilesErrors(t *testing.T) {
	a := write(t, "a.csv", "p\n1\n2\n")
	for _, tc := range []struct{ b, want string }{
		{"p\n1\n", "differ in length"},
		{"p,q\n1,2\n2,3\n", "columns"},
		{"p\n1\nx\n", `b.csv:3: column "p"`},
	} {
		_, err := Files(a, write(t, "b.csv", tc.b), 1e-6)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Files(%q) error = %v, want %q", tc.b, err, tc.want)
		}
	}
}
