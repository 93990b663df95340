package model_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
)

func TestContractWriteRead(t *testing.T) {
	imp, _ := imported(t)
	repo := t.TempDir()
	f0 := imp.Features[0].Name
	doc := "# hand-written\ncolumns:\n  - name: " + f0 + "\n    type: float\n    min: 0\n    max: 10\n  - name: label\n    type: string\n"
	m, dir, err := model.Write(repo, "iris", imp, model.WriteOptions{Contract: []byte(doc), ContractSource: "/some/where/c.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	cf := m.Contract
	if cf == nil || !strings.HasPrefix(cf.File, "contract-") || cf.Bytes != int64(len(doc)) || cf.Source != "c.yaml" {
		t.Fatalf("manifest contract %+v", cf)
	}
	stored, err := os.ReadFile(filepath.Join(dir, cf.File))
	if err != nil || string(stored) != doc {
		t.Fatalf("stored contract %q, %v; want the file verbatim", stored, err)
	}
	l, err := model.Open(repo, "iris", 1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := model.ReadContract(l.Dir, l.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if col := c.Column(f0); col == nil || *col.Max != 10 {
		t.Fatalf("ReadContract: column %s = %+v", f0, col)
	}
	// A version without one says so.
	if _, _, err := model.Write(repo, "iris", imp, model.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	l2, _ := model.Open(repo, "iris", 2)
	if _, err := model.ReadContract(l2.Dir, l2.Manifest); !errors.Is(err, model.ErrNoContract) {
		t.Errorf("ReadContract without a contract = %v, want ErrNoContract", err)
	}
	// A changed file is refused.
	if err := os.WriteFile(filepath.Join(dir, cf.File), []byte(strings.Replace(doc, "10", "99", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := model.ReadContract(l.Dir, l.Manifest); err == nil || !strings.Contains(err.Error(), "the contract is corrupt") {
		t.Errorf("ReadContract of a changed file = %v", err)
	}
}

func TestContractWriteRefused(t *testing.T) {
	imp, _ := imported(t)
	f0 := imp.Features[0].Name
	for _, tc := range []struct{ doc, want string }{
		{"columns:\n  - name: " + f0 + "\n    type: string\n", `contract c.yaml does not fit model iris: column "` + f0 + `" is string in the contract, but the model's input`},
		{"columns:\n  - name: x\n    type: flaot\n", `c.yaml:3: columns[0].type: "flaot"`},
	} {
		_, _, err := model.Write(t.TempDir(), "iris", imp, model.WriteOptions{Contract: []byte(tc.doc), ContractSource: "c.yaml"})
		if !errors.Is(err, model.ErrBadOption) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Write with contract %q: %v, want ErrBadOption containing %q", tc.doc, err, tc.want)
		}
	}
}
