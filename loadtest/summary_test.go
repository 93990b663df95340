package loadtest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestBodiesFromInstances(t *testing.T) {
	in := "[1, 2]\n\n  {\"a\": 3}  \n[4, null]\n"
	for _, c := range []struct {
		batch int
		want  []string
	}{
		{1, []string{`{"instances":[[1, 2]]}`, `{"instances":[{"a": 3}]}`, `{"instances":[[4, null]]}`}},
		{2, []string{`{"instances":[[1, 2],{"a": 3}]}`, `{"instances":[[4, null],[1, 2]]}`}},
		{5, []string{`{"instances":[[1, 2],{"a": 3},[4, null],[1, 2],{"a": 3}]}`}},
	} {
		got, err := BodiesFromInstances(strings.NewReader(in), "x.ndjson", c.batch)
		if err != nil {
			t.Fatal(err)
		}
		var gs []string
		for _, b := range got {
			gs = append(gs, string(b))
		}
		if strings.Join(gs, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("batch %d: bodies\n%s\nwant\n%s", c.batch, strings.Join(gs, "\n"), strings.Join(c.want, "\n"))
		}
	}
	for _, c := range []struct{ in, want string }{
		{"", "x.ndjson holds no instances"},
		{"[1]\n{\"a\":\n", "x.ndjson:2: not a JSON value"},
		{"[1]\n\n7\n", "x.ndjson:3: an instance is an object of features or an array of values"},
	} {
		if _, err := BodiesFromInstances(strings.NewReader(c.in), "x.ndjson", 1); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("BodiesFromInstances(%q) error %v, want %q", c.in, err, c.want)
		}
	}
}

// FuzzBodiesFromInstances: any input either is refused or gives bodies
// that are JSON objects holding exactly batch instances.
func FuzzBodiesFromInstances(f *testing.F) {
	f.Add([]byte("[1, 2]\n{\"a\": 3}\n"), 2)
	f.Add([]byte("\n\n[1e999]\n"), 1)
	f.Add([]byte("{\"a\": [1, {\"b\": null}]}\r\n"), 3)
	f.Fuzz(func(t *testing.T, in []byte, batch int) {
		batch = batch%8 + 1
		if batch < 1 {
			batch += 8
		}
		bodies, err := BodiesFromInstances(bytes.NewReader(in), "f", batch)
		if err != nil {
			return
		}
		for _, b := range bodies {
			var req struct{ Instances []json.RawMessage }
			if err := json.Unmarshal(b, &req); err != nil || len(req.Instances) != batch {
				t.Fatalf("BodiesFromInstances(%q, %d) body %q: %v, %d instances", in, batch, b, err, len(req.Instances))
			}
		}
	})
}

func TestSLOCheck(t *testing.T) {
	r := Result{Requests: 1000, OK: 990, Unsent: 10, P99: 5 * time.Millisecond}
	for _, c := range []struct {
		slo  SLO
		pass bool
		want string
	}{
		{SLO{P99: 10 * time.Millisecond, MaxErrorRate: 0.02}, true, ""},
		{SLO{P99: 4 * time.Millisecond, MaxErrorRate: 0.02}, false, "p99 5.00ms is above the SLO's 4.00ms"},
		{SLO{P99: 10 * time.Millisecond, MaxErrorRate: 0.01}, false, "error rate 1.98% (20 failed or unsent of 1010)"},
	} {
		v := c.slo.Check(r)
		if v.Pass != c.pass || !strings.Contains(strings.Join(v.Reasons, "; "), c.want) {
			t.Errorf("%+v.Check = %+v, want pass %v with %q", c.slo, v, c.pass, c.want)
		}
	}
}

func TestBodiesFromLines(t *testing.T) {
	got, err := BodiesFromLines(strings.NewReader("{\"a\": 1}\n\n  {\"inputs\": []}\r\n"), "b.ndjson")
	if err != nil || len(got) != 2 || string(got[0]) != `{"a": 1}` || string(got[1]) != `{"inputs": []}` {
		t.Errorf("BodiesFromLines = %q, %v", got, err)
	}
	for _, c := range []struct{ in, want string }{
		{"\n", "b.ndjson holds no request bodies"},
		{"{}\n[1]\n", "b.ndjson:2: not a JSON object"},
		{"{\"a\":\n", "b.ndjson:1: not a JSON object"},
	} {
		if _, err := BodiesFromLines(strings.NewReader(c.in), "b.ndjson"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("BodiesFromLines(%q) error %v, want %q", c.in, err, c.want)
		}
	}
}

// FuzzBodiesFromLines: any input is refused or gives JSON objects.
func FuzzBodiesFromLines(f *testing.F) {
	f.Add([]byte("{\"a\": 1}\n\n{}\n"))
	f.Add([]byte("{\"inputs\": [{\"data\": [1e999]}]}\r\n[1]\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		bodies, err := BodiesFromLines(bytes.NewReader(in), "f")
		if err != nil {
			return
		}
		for _, b := range bodies {
			var m map[string]json.RawMessage
			if json.Unmarshal(b, &m) != nil {
				t.Fatalf("BodiesFromLines(%q) gave %q, not a JSON object", in, b)
			}
		}
	})
}
