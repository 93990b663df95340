package onnx_test

import (
	"slices"
	"testing"
)

// TestSklearnClassLabels holds each case's imported ClassLabels, written
// to the manifest and read back, to scikit-learn's classes_ as strings
// (cases.json's classes): every classifier case names its classes, and a
// regressor has none.
func TestSklearnClassLabels(t *testing.T) {
	for _, c := range sklearnCases(t) {
		s := importServed(t, c.Name)
		if got := s.imp.ClassLabels; !slices.Equal(got, c.Classes) {
			t.Errorf("%s (%s): Imported.ClassLabels = %q, want %q", c.Name, c.Task, got, c.Classes)
		}
		if got := s.l.Manifest.ClassLabels; !slices.Equal(got, c.Classes) {
			t.Errorf("%s (%s): Manifest.ClassLabels after Write and OpenDir = %q, want %q", c.Name, c.Task, got, c.Classes)
		}
	}
}
