package model

import (
	"slices"
	"strings"
	"testing"
)

func TestCheckClassLabels(t *testing.T) {
	for _, tc := range []struct {
		task    Task
		classes int
		labels  []string
		want    string // "" for no error
	}{
		{TaskBinary, 0, nil, ""},
		{TaskRegression, 0, nil, ""},
		{TaskBinary, 0, []string{"neg", "pos"}, ""},
		{TaskMulticlass, 3, []string{"setosa", "versicolor", "virginica"}, ""},
		{TaskBinary, 0, []string{"é", strings.Repeat("x", MaxClassLabelBytes)}, ""},
		{TaskRegression, 0, []string{"a", "b"}, "class_labels: a regression model has no classes"},
		{TaskCount, 0, []string{"a"}, "class_labels: a count model has no classes"},
		{TaskBinary, 0, []string{"a", "b", "c"}, "class_labels: 3 labels for a binary model of 2 classes, want 2"},
		{TaskMulticlass, 4, []string{"a", "b", "c"}, "class_labels: 3 labels for a multiclass model of 4 classes, want 4"},
		{TaskMulticlass, 3, []string{"a", "", "c"}, "class_labels[1] is empty"},
		{TaskMulticlass, 3, []string{"a", "b", "a"}, `class_labels[2] "a" is class_labels[0] again`},
		{TaskBinary, 0, []string{"a", "b\xff"}, "class_labels[1] \"b\\xff\" is not valid UTF-8"},
		{TaskBinary, 0, []string{strings.Repeat("x", MaxClassLabelBytes+1), "b"}, "class_labels[0]: 257 bytes, more than the 256"},
	} {
		err := CheckClassLabels(tc.task, tc.classes, tc.labels)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckClassLabels(%s, %d, %q) = %v, want nil", tc.task, tc.classes, tc.labels, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("CheckClassLabels(%s, %d, %q) = %v, want an error containing %q", tc.task, tc.classes, tc.labels, err, tc.want)
		}
	}
}

func TestManifestCheckClassLabels(t *testing.T) {
	m := validManifest()
	m.ClassLabels = []string{"stay", "churn"}
	if err := m.check(); err != nil {
		t.Fatalf("check() with class_labels %q = %v, want nil", m.ClassLabels, err)
	}
	m.ClassLabels = []string{"stay"}
	if err := m.check(); err == nil || !strings.Contains(err.Error(), "class_labels: 1 labels for a binary model") {
		t.Errorf("check() with class_labels %q = %v, want the count refused", m.ClassLabels, err)
	}
}

// TestHasClassLabel holds HasClassLabel to the models that have a label.
func TestHasClassLabel(t *testing.T) {
	for _, tc := range []struct {
		task    Task
		outputs int
		link    Link
		want    bool
	}{
		{TaskBinary, 1, LinkSigmoid, true},
		{TaskBinary, 1, LinkProbability, true},
		{TaskBinary, 1, LinkIdentity, false},
		{TaskMulticlass, 3, LinkSoftmax, true},
		{TaskMulticlass, 3, LinkIdentity, true},
		{TaskMulticlass, 1, LinkArgmax, true},
		{TaskMulticlass, 1, LinkIdentity, false},
		{TaskRegression, 1, LinkIdentity, false},
	} {
		if got := HasClassLabel(tc.task, tc.outputs, tc.link); got != tc.want {
			t.Errorf("HasClassLabel(%s, %d, %s) = %v, want %v", tc.task, tc.outputs, tc.link, got, tc.want)
		}
	}
}

// TestWriteClassLabels: Write records ClassLabels and OpenDir reads them
// back; Write refuses bad labels and labels of a model without a class
// label; a manifest edited to name the classes of such a model is refused
// at load; a manifest without the field loads with none.
func TestWriteClassLabels(t *testing.T) {
	imp := limitsModel(t)
	imp.ClassLabels = []string{"neg", "pos"}
	repo := t.TempDir()
	_, dir, err := Write(repo, "m", imp, WriteOptions{})
	if err != nil {
		t.Fatalf("Write with ClassLabels %q: %v", imp.ClassLabels, err)
	}
	l, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Manifest.ClassLabels; !slices.Equal(got, imp.ClassLabels) {
		t.Errorf("ClassLabels read back = %q, want %q", got, imp.ClassLabels)
	}
	var desc strings.Builder
	if err := Describe(&desc, l); err != nil || !strings.Contains(desc.String(), `class labels  0 "neg", 1 "pos"`) {
		t.Errorf("Describe = %v\n%s\nwant a line: class labels  0 \"neg\", 1 \"pos\"", err, desc.String())
	}

	bad := limitsModel(t)
	bad.ClassLabels = []string{"neg", "neg"}
	if _, _, err := Write(repo, "m", bad, WriteOptions{}); err == nil || !strings.Contains(err.Error(), `class_labels[1] "neg" is class_labels[0] again`) {
		t.Errorf("Write with ClassLabels %q = %v, want the duplicate refused", bad.ClassLabels, err)
	}
	score := limitsModel(t)
	score.Model.(*Trees).Link = LinkIdentity
	score.Outputs, score.RawOutputs = DefaultOutputs(TaskBinary, 1, LinkIdentity)
	score.ClassLabels = []string{"neg", "pos"}
	if _, _, err := Write(repo, "m", score, WriteOptions{}); err == nil || !strings.Contains(err.Error(), "class_labels: the model has no class label to name") {
		t.Errorf("Write of a binary score model with ClassLabels = %v, want it refused", err)
	}

	// The same score model without labels, then its manifest edited.
	score.ClassLabels = nil
	_, sdir, err := Write(repo, "s", score, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	editManifest(t, sdir, func(m map[string]any) { m["class_labels"] = []string{"neg", "pos"} })
	if _, err := OpenDir(sdir); err == nil || !strings.Contains(err.Error(), "class_labels: the model has no class label to name") {
		t.Errorf("OpenDir of a score model whose manifest names classes = %v, want it refused", err)
	}
	editManifest(t, dir, func(m map[string]any) { delete(m, "class_labels") })
	if l, err := OpenDir(dir); err != nil || l.Manifest.ClassLabels != nil {
		t.Errorf("OpenDir of a manifest without class_labels = %v (labels %q), want it loaded without labels", err, l.Manifest.ClassLabels)
	}
}

func TestLinkOf(t *testing.T) {
	for _, tc := range []struct {
		p    Predictor
		want Link
	}{
		{&Trees{Link: LinkSoftmax}, LinkSoftmax},
		{&Dense{Link: LinkOVR}, LinkOVR},
		{nil, ""},
	} {
		if got := LinkOf(tc.p); got != tc.want {
			t.Errorf("LinkOf(%T) = %q, want %q", tc.p, got, tc.want)
		}
	}
}
