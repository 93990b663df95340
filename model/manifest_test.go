package model

import (
	"encoding/json"
	"strings"
	"testing"
)

func validManifest() Manifest {
	return Manifest{
		FormatVersion: FormatVersion, Name: "churn", Version: 3, Kind: KindTrees, Task: TaskBinary,
		Features: []Feature{{"age", FeatureFloat}, {"plan", FeatureCategorical}},
		Outputs:  []Output{{Name: "p"}},
		Payload:  Payload{File: PayloadFile, SHA256: "ab", Bytes: 1},
	}
}

func TestManifestCheck(t *testing.T) {
	m := validManifest()
	if err := m.check(); err != nil {
		t.Fatalf("valid manifest: %v", err)
	}
	for _, tc := range []struct {
		edit func(m *Manifest)
		want string
	}{
		{func(m *Manifest) { m.FormatVersion = 9 }, "format_version 9"},
		{func(m *Manifest) { m.Name = "../x" }, "not a valid model name"},
		{func(m *Manifest) { m.Version = 0 }, "version 0"},
		{func(m *Manifest) { m.Kind = "svm" }, `unknown kind "svm"`},
		{func(m *Manifest) { m.Task = TaskMulticlass; m.Classes = 1 }, "multiclass task with 1 classes"},
		{func(m *Manifest) { m.Task = "ranking" }, `unknown task "ranking"`},
		{func(m *Manifest) { m.Features[1].Name = "age" }, `feature "age" appears twice`},
		{func(m *Manifest) { m.Features[0].Type = "text" }, `unknown type "text"`},
		{func(m *Manifest) { m.Features[0].Type = "string" }, `type string, which only a version with transforms takes`},
		{func(m *Manifest) { m.Payload.SHA256 = "" }, "payload"},
		{func(m *Manifest) { m.Outputs = nil }, "no outputs"},
		{func(m *Manifest) { m.Payload.File = "../2/model.bin.zst" }, `payload file "../2/model.bin.zst": want a file name in the version folder`},
		{func(m *Manifest) { m.Payload.File = "/etc/passwd" }, "want a file name in the version folder"},
		{func(m *Manifest) { m.Payload.Bytes = -1 }, "payload bytes -1 is outside"},
		{func(m *Manifest) { m.Payload.DecodedBytes = -1 }, "payload decoded_bytes -1 is outside"},
		{func(m *Manifest) { m.Payload.DecodedBytes = MaxPayloadBytes + 1 }, "payload decoded_bytes 1073741825 is outside [0, 1073741824]"},
	} {
		m := validManifest()
		tc.edit(&m)
		if err := m.check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("check() = %v, want %q", err, tc.want)
		}
	}
}

func TestValidName(t *testing.T) {
	for s, want := range map[string]bool{
		"churn": true, "fraud-v2.beta_1": true, "": false, ".hidden": false,
		"a/b": false, "..": false, "é": false, strings.Repeat("x", 129): false,
	} {
		if got := ValidName(s); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzManifest(f *testing.F) {
	m := validManifest()
	b, _ := json.Marshal(m)
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Manifest
		if json.Unmarshal(data, &m) != nil {
			return
		}
		_ = m.check()
	})
}
