package importer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
)

// TestImportFileQuotesBriefly: `import` once echoed a 100 MB objective name
// whole to stderr. The error ImportFile returns for a file with a 10 MB
// objective name is a BadModelError naming the file, and short.
func TestImportFileQuotesBriefly(t *testing.T) {
	good, err := os.ReadFile(fixture.Path("xgboost", "gbtree_binary_logistic.json"))
	if err != nil {
		t.Fatal(err)
	}
	const name = `"name":"binary:logistic"`
	if !bytes.Contains(good, []byte(name)) {
		t.Fatalf("fixture has no %s", name)
	}
	huge := `"name":"` + strings.Repeat("x", 10<<20) + `\u0007"`
	path := filepath.Join(t.TempDir(), "huge.json")
	if err := os.WriteFile(path, bytes.Replace(good, []byte(name), []byte(huge), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ImportFile("xgboost", path)
	var bad *BadModelError
	if !errors.As(err, &bad) || bad.Path != path {
		t.Fatalf("ImportFile error = %.300v, want a BadModelError for %s", err, path)
	}
	msg := err.Error()
	if len(msg) > len(path)+400 || strings.ContainsRune(msg, 7) || !strings.Contains(msg, "(10485761 bytes)") {
		t.Errorf("ImportFile error = %.600s (%d bytes), want under %d bytes with the objective cut and its length", msg, len(msg), len(path)+400)
	}
	if _, err := ImportFile(strings.Repeat("f", 1<<20), path); err == nil || len(err.Error()) > 300 {
		t.Errorf("ImportFile with a 1 MB format name: error = %.300v (%d bytes), want a short one", err, len(fmt.Sprint(err)))
	}
}

// TestImportXGBoostFormats: a UBJSON model imports with its format and
// checksum recorded; a legacy binary one is refused with a BadModelError
// whose message names the file and the command that converts it.
func TestImportXGBoostFormats(t *testing.T) {
	ubj := fixture.Path("xgboost", "ubj", "gbtree_tiny_binary_logistic.ubj")
	imp, err := ImportFile("xgboost", ubj)
	if err != nil {
		t.Fatalf("ImportFile(%s): %v", ubj, err)
	}
	if imp.Source.Format != "xgboost-ubjson" || imp.Source.File != "gbtree_tiny_binary_logistic.ubj" || len(imp.Source.SHA256) != 64 {
		t.Errorf("ImportFile(%s).Source = %+v, want format xgboost-ubjson, its file name and sha256", ubj, imp.Source)
	}

	dir := t.TempDir()
	legacy, err := os.ReadFile(fixture.Path("xgboost", "ubj", "gbtree_tiny_binary_logistic.model"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "old.model")
	if err := os.WriteFile(path, legacy, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ImportFile("xgboost", path)
	var bad *BadModelError
	want := fmt.Sprintf(`xgboost.Booster(model_file="%s").save_model("%s")`, path, filepath.Join(dir, "old.json"))
	if !errors.As(err, &bad) || !strings.HasPrefix(err.Error(), path+": XGBoost legacy binary model") || !strings.Contains(err.Error(), want) {
		t.Errorf("ImportFile(%s) error = %v, want a BadModelError naming the file, the format and %s", path, err, want)
	}
}

func TestRenameFeatures(t *testing.T) {
	newImp := func() *model.Imported {
		return &model.Imported{Features: []model.Feature{{Name: "input_0", Type: model.FeatureFloat}, {Name: "input_1", Type: model.FeatureCategorical}}}
	}
	imp := newImp()
	if err := RenameFeatures(imp, []string{"age", "city"}); err != nil {
		t.Fatal(err)
	}
	if imp.Features[0] != (model.Feature{Name: "age", Type: model.FeatureFloat}) || imp.Features[1] != (model.Feature{Name: "city", Type: model.FeatureCategorical}) {
		t.Fatalf("renamed features %v, want age (float), city (categorical)", imp.Features)
	}
	for _, c := range []struct {
		names []string
		want  string
	}{
		{[]string{"a"}, "1 feature names for a model of 2 features (input_0, input_1)"},
		{[]string{"a", ""}, "feature name 2 is empty"},
		{[]string{"a", "a"}, `feature name "a" given twice (names 1 and 2)`},
		{[]string{"a", "b,c"}, `feature name 2 "b,c": want at most 256 bytes of printable UTF-8 without commas`},
		{[]string{"a\n", "b"}, "feature name 1"},
	} {
		imp := newImp()
		err := RenameFeatures(imp, c.names)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("RenameFeatures(%q) error = %v, want one containing %q", c.names, err, c.want)
		}
		if imp.Features[0].Name != "input_0" {
			t.Errorf("RenameFeatures(%q) failed but renamed: %v", c.names, imp.Features)
		}
	}
}

func TestSklearnIsNative(t *testing.T) {
	path := fixture.Path("native", "logreg_binary.model.json")
	a, err := ImportFile("sklearn", path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ImportFile("native", path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Source != b.Source || len(a.Features) != len(b.Features) {
		t.Fatalf("--from sklearn gave %+v, --from native %+v", a.Source, b.Source)
	}
}

// TestSetClassLabels: labels are set for a classifier of the right count
// and refused, saying why, for a regression model, a binary score model,
// a wrong count and a repeated name.
func TestSetClassLabels(t *testing.T) {
	for _, tc := range []struct {
		file   string
		labels []string
		want   string // "" for success
	}{
		{"gbtree_binary_logistic.json", []string{"stay", "churn"}, ""},
		{"gbtree_multi_softprob.json", []string{"a", "b", "c", "d"}, ""},
		{"gbtree_binary_logistic.json", []string{"stay", "churn", "x"}, "3 class labels for a binary model of 2 classes: give 2"},
		{"gbtree_multi_softprob.json", []string{"a", "b", "c"}, "3 class labels for a multiclass model of 4 classes: give 4"},
		{"gbtree_binary_logistic.json", []string{"x", "x"}, `class_labels[1] "x" is class_labels[0] again`},
		{"dart_binary_logitraw.json", []string{"stay", "churn"}, "so it has no class label to name"},
		{"gbtree_reg_squarederror.json", []string{"a", "b"}, "a regression model has no classes to name"},
	} {
		imp, err := ImportFile("xgboost", fixture.Path("xgboost", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		err = SetClassLabels(imp, tc.labels)
		switch {
		case tc.want == "" && (err != nil || !slices.Equal(imp.ClassLabels, tc.labels)):
			t.Errorf("SetClassLabels(%s, %q) = %v, ClassLabels %q; want them set", tc.file, tc.labels, err, imp.ClassLabels)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || imp.ClassLabels != nil):
			t.Errorf("SetClassLabels(%s, %q) = %v (ClassLabels %q), want an error containing %q and none set", tc.file, tc.labels, err, imp.ClassLabels, tc.want)
		}
	}
}
