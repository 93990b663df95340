package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
)

// lrContract is a contract for the logistic regression fixture's inputs
// (lrNames), and a label column no input has.
const lrContract = `columns:
  - name: mean_radius
    type: float
    min: 0
    max: 30
  - name: mean_texture
    type: float
  - name: mean_area
    type: int
    min: 0
    categories: [1001, 1002]
  - name: label
    type: string
`

// treesContract is a contract for the tree fixture's inputs, which may be
// missing.
const treesContract = `columns:
  - name: support_calls
    type: float
  - name: discount_rate
    type: float
    max_missing: 0.5
`

const treesRowObj = `{"age": 1.2, "income": 1.9, "tenure_months": 4.2, "num_purchases": -0.1, "avg_basket": 3.9, "days_since_last": 2.0, "support_calls": SC, "discount_rate": DR, "pages_viewed": 0.8, "credit_score": -2.4}`

func treesInstance(sc, dr string) string {
	return strings.NewReplacer("SC", sc, "DR", dr).Replace(treesRowObj)
}

// errMsg is the message of an error response.
func errMsg(body string) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(body), &e) != nil {
		return body
	}
	return e.Error
}

// contractServer serves the logistic regression fixture as "lr" carrying
// lrContract (and, when views are given, reading those online features
// through svc), with the given contract mode.
func contractServer(t testing.TB, mode ContractMode, opts Options, views ...string) *Server {
	t.Helper()
	repo := t.TempDir()
	imp, err := importer.ImportFile("native", fixture.Path("native", "logreg_binary.model.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := model.Write(repo, "lr", imp, model.WriteOptions{FeatureViews: views, Contract: []byte(lrContract), ContractSource: "lr.yaml"}); err != nil {
		t.Fatal(err)
	}
	timp, err := importer.ImportFile("xgboost", fixture.Path("xgboost", "gbtree_multi_softprob.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := model.Write(repo, "trees", timp, model.WriteOptions{Contract: []byte(treesContract), ContractSource: "trees.yaml"}); err != nil {
		t.Fatal(err)
	}
	if opts.Models == nil {
		opts.Models = map[string]ModelOptions{}
	}
	opts.Models["lr"] = ModelOptions{Contract: mode}
	opts.Models["trees"] = ModelOptions{Contract: mode}
	opts.DisableBatching = true
	return serveRepo(t, opts, repo)
}

// lrInstance is lrRow as an object, with changes.
func lrInstance(changes map[string]string) string {
	vals := strings.Split(strings.Trim(lrRow, "[]"), ", ")
	var b strings.Builder
	b.WriteString("{")
	for i, n := range lrNames {
		if i > 0 {
			b.WriteString(", ")
		}
		v := vals[i]
		if c, ok := changes[n]; ok {
			v = c
		}
		b.WriteString(`"` + n + `": ` + v)
	}
	return b.String() + "}"
}

func TestContractEnforce(t *testing.T) {
	s := contractServer(t, ContractEnforce, DefaultOptions())
	for _, c := range []struct {
		name, uri, body string
		code            int
		msg             string
	}{
		{"clean", "lr", `{"instances": [` + lrRow + `]}`, 200, ""},
		{"out of range, second instance", "lr", `{"instances": [` + lrRow + `, ` + lrInstance(map[string]string{"mean_radius": "31"}) + `]}`, 400,
			`instance 1: field "mean_radius": 31 is outside the range [0, 30] (the data contract of model lr version 1)`},
		{"first of two bad instances", "lr", `{"instances": [` + lrInstance(map[string]string{"mean_radius": "32"}) + `, ` + lrInstance(map[string]string{"mean_radius": "33"}) + `]}`, 400,
			`instance 0: field "mean_radius": 32 is outside the range [0, 30]`}, // instance 1 is neither checked nor counted
		{"fraction in an int", "lr", `{"instances": [` + lrInstance(map[string]string{"mean_area": "1001.5"}) + `]}`, 400,
			`instance 0: field "mean_area": 1001.5 is not an integer (want int) (the data contract`},
		{"new category code", "lr", `{"instances": [` + lrInstance(map[string]string{"mean_area": "1002"}) + `, ` + lrInstance(map[string]string{"mean_area": "1003"}) + `]}`, 400,
			`instance 1: field "mean_area": 1003 is not one of the contract's 2 categories`},
		{"two fields at once", "lr", `{"instances": [` + lrInstance(map[string]string{"mean_radius": "-1", "mean_area": "7"}) + `]}`, 400,
			`instance 0: field "mean_radius": -1 is outside the range [0, 30]; field "mean_area": 7 is not one of the contract's 2 categories`},
		{"OIP", "lr", `{"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 10], "data": [40, 10.38, 122.8, 1001, 0.1184, 0.2776, 0.3001, 0.1471, 1, 0.07871]}]}`, 400,
			`instance 0: field "mean_radius": 40 is outside the range [0, 30]`},
		{"nullable missing", "trees", `{"instances": [` + treesInstance("1", "null") + `]}`, 200, ""},
		{"missing, not nullable", "trees", `{"instances": [` + treesInstance("1", "1") + `, ` + treesInstance("null", "1") + `]}`, 400,
			`instance 1: field "support_calls": a missing value, and the contract allows none (max_missing 0) (the data contract of model trees version 1)`},
	} {
		uri := "/v1/models/" + c.uri + ":predict"
		if strings.HasPrefix(c.body, `{"inputs"`) {
			uri = "/v2/models/" + c.uri + "/infer"
		}
		code, out, _ := call(s, "POST", uri, c.body)
		if code != c.code || !strings.Contains(errMsg(out), c.msg) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, code, out, c.code, c.msg)
		}
	}
	fams, _ := scrape(t, s)
	lr := func(col, kind string) []string {
		return []string{"model", "lr", "version", "1", "column", col, "kind", kind}
	}
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{lr("mean_radius", "out_of_range"), 4},
		{lr("mean_area", "unexpected_type"), 1},
		{lr("mean_area", "new_category"), 2},
		{[]string{"model", "trees", "version", "1", "column", "support_calls", "kind", "missing_rate"}, 1},
	} {
		if got := value(fams, "predictd_contract_violations_total", c.labels...); got != c.want {
			t.Errorf("predictd_contract_violations_total%q = %v, want %v", c.labels, got, c.want)
		}
	}
}

func TestContractCount(t *testing.T) {
	// ContractDefault counts when the version has a contract.
	s := contractServer(t, ContractDefault, DefaultOptions())
	body := `{"instances": [` + lrInstance(map[string]string{"mean_radius": "31", "mean_area": "1002"}) + `, ` + lrInstance(map[string]string{"mean_radius": "-2", "mean_area": "7"}) + `]}`
	for range 3 {
		if code, out, _ := call(s, "POST", "/v1/models/lr:predict", body); code != 200 {
			t.Fatalf("count mode: %d %s, want 200", code, out)
		}
	}
	fams, _ := scrape(t, s)
	for _, c := range []struct {
		col, kind string
		want      float64
	}{{"mean_radius", "out_of_range", 6}, {"mean_area", "new_category", 3}} {
		if got := value(fams, "predictd_contract_violations_total", "model", "lr", "version", "1", "column", c.col, "kind", c.kind); got != c.want {
			t.Errorf("%s %s: %v violations counted, want %v", c.col, c.kind, got, c.want)
		}
	}
	// Off: no check, no series.
	s = contractServer(t, ContractOff, DefaultOptions())
	if code, _, _ := call(s, "POST", "/v1/models/lr:predict", body); code != 200 {
		t.Fatalf("off: %d", code)
	}
	if fams, _ := scrape(t, s); fams["predictd_contract_violations_total"] != nil {
		t.Errorf("contract off still counts: %v", fams["predictd_contract_violations_total"])
	}
}

// TestContractAfterJoin: the checked values are the model's inputs after
// the feature join, so a value the store fills is checked as one sent.
func TestContractAfterJoin(t *testing.T) {
	svc, _, now := joinService(t)
	opts := DefaultOptions()
	opts.Features = svc
	s := contractServer(t, ContractEnforce, opts, "shape")
	rest := `"mean_smoothness": 0.1, "mean_compactness": 0.2, "mean_concavity": 0.3, "mean_concave_points": 0.1, "mean_symmetry": 0.2, "mean_fractal_dimension": 0.07`
	write(t, svc, "shape", "7", now.Add(-time.Minute), 17.99, 10.38, 122.8, 1001)
	write(t, svc, "shape", "8", now.Add(-time.Minute), 45, 10.38, 122.8, 1001) // mean_radius above the contract's 30
	if code, out, _ := call(s, "POST", "/v1/models/lr:predict", `{"instances": [{"patient_id": 7, `+rest+`}]}`); code != 200 {
		t.Fatalf("joined clean row: %d %s", code, out)
	}
	code, out, _ := call(s, "POST", "/v1/models/lr:predict", `{"instances": [{"patient_id": 7, `+rest+`}, {"patient_id": 8, `+rest+`}]}`)
	if code != fasthttp.StatusBadRequest || !strings.Contains(errMsg(out), `instance 1: field "mean_radius": 45 is outside the range [0, 30]`) {
		t.Errorf("joined row out of range: %d %s, want 400 naming instance 1 and mean_radius", code, out)
	}
}

func TestContractAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	for _, mode := range []ContractMode{ContractEnforce, ContractCount} {
		s := contractServer(t, mode, DefaultOptions())
		body := `{"instances": [` + lrRow + `, ` + lrInstance(map[string]string{"mean_area": "1002"}) + `]}`
		if mode == ContractCount {
			body = `{"instances": [` + lrInstance(map[string]string{"mean_radius": "99"}) + `]}` // counted, served
		}
		ctx := new(fasthttp.RequestCtx)
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/v1/models/lr:predict")
		ctx.Request.SetBodyString(body)
		s.Handle(ctx)
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("%s: %d %s", mode, ctx.Response.StatusCode(), ctx.Response.Body())
		}
		allocs := testing.AllocsPerRun(200, func() {
			ctx.Response.ResetBody()
			s.Handle(ctx)
		})
		if allocs != 0 {
			t.Errorf("contract %s: %.1f allocations per request, want 0", mode, allocs)
		}
	}
}

// TestContractSeriesRetired: a version's violation series go when it is
// unloaded, and a contract that cannot be read fails the load.
func TestContractSeriesRetired(t *testing.T) {
	l := openLR(t, model.WriteOptions{Contract: []byte(lrContract), ContractSource: "lr.yaml"})
	s, err := New(Options{DisableBatching: true})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Prepare(l)
	if err != nil {
		t.Fatal(err)
	}
	vs := st.(*versionState)
	vs.contract.counts[0].Add(2)
	if fams, _ := scrape(t, s); value(fams, "predictd_contract_violations_total", "model", "lr", "version", "1", "column", "mean_radius", "kind", "column_missing") != 2 {
		t.Fatalf("the counter is not exposed")
	}
	s.Retired(l, st)
	if fams, _ := scrape(t, s); fams["predictd_contract_violations_total"] != nil {
		t.Errorf("after the version retired: %v", fams["predictd_contract_violations_total"])
	}
	l.Manifest.Contract.SHA256 = strings.Repeat("0", 64)
	if _, err := s.Prepare(l); err == nil || !strings.Contains(err.Error(), "model lr version 1: contract: ") || !strings.Contains(err.Error(), "the contract is corrupt") {
		t.Errorf("Prepare with a corrupt contract: %v", err)
	}
	// With the contract off, the version serves whatever its contract file.
	off, err := New(Options{DisableBatching: true, Models: map[string]ModelOptions{"lr": {Contract: ContractOff}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := off.Prepare(l); err != nil {
		t.Errorf("Prepare with a corrupt contract and contract off: %v", err)
	}
}

// TestContractPromtool: promtool check metrics finds nothing to say about
// the violation counters.
func TestContractPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not installed (%v): install Debian's prometheus package", err)
	}
	s := contractServer(t, ContractCount, DefaultOptions())
	call(s, "POST", "/v1/models/lr:predict", `{"instances": [`+lrInstance(map[string]string{"mean_radius": "99", "mean_area": "3.5"})+`]}`)
	call(s, "POST", "/v1/models/trees:predict", `{"instances": [`+treesInstance("null", "1")+`]}`)
	fams, text := scrape(t, s)
	if len(fams["predictd_contract_violations_total"].GetMetric()) != 3 {
		t.Fatalf("want 3 violation series (mean_radius, mean_area, support_calls):\n%s", text)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil || out.Len() > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out.String())
	}
}

func TestParseContractMode(t *testing.T) {
	for s, want := range map[string]ContractMode{"": ContractDefault, "off": ContractOff, "count": ContractCount, "enforce": ContractEnforce} {
		if got, err := ParseContractMode(s); err != nil || got != want {
			t.Errorf("ParseContractMode(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := ParseContractMode("reject"); err == nil || !strings.Contains(err.Error(), `contract "reject": want enforce, count or off`) {
		t.Errorf("ParseContractMode(reject) error %v", err)
	}
}

// TestContractEnforceWithoutContract: enforce on a version that carries no
// contract serves it unchecked, and says so in the log.
func TestContractEnforceWithoutContract(t *testing.T) {
	l := openLR(t, model.WriteOptions{})
	var logged []string
	s, err := New(Options{DisableBatching: true, Models: map[string]ModelOptions{"lr": {Contract: ContractEnforce}},
		Logf: func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Prepare(l)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if st.(*versionState).contract != nil {
		t.Errorf("a version without a contract has a contract state")
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "model lr version 1: contract enforce is set, but the version carries no contract") {
		t.Errorf("logged %q, want one line saying the version is served unchecked", logged)
	}
}

// openLR writes the logistic regression fixture as model "lr" version 1
// of a fresh repository, with opts, and opens it.
func openLR(t testing.TB, opts model.WriteOptions) *model.Loaded {
	t.Helper()
	repo := t.TempDir()
	imp, err := importer.ImportFile("native", fixture.Path("native", "logreg_binary.model.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := model.Write(repo, "lr", imp, opts); err != nil {
		t.Fatal(err)
	}
	l, err := model.Open(repo, "lr", 1)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
