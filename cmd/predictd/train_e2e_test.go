package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
)

// trainRow is one raw row of the training e2e data: amount may be blank
// (missing), country and device are category strings.
type trainRow struct {
	amount          string
	hour            int
	country, device string
	label           int
}

// writeTrainData writes n rows to dir/data.csv and returns the path and
// the rows.
func writeTrainData(t *testing.T, dir string, n int) (string, []trainRow) {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 9))
	countries := []string{"US", "DE", "FR", "BR", "IN"}
	devices := []string{"ios", "android", "web"}
	var b strings.Builder
	b.WriteString("amount,hour,country,device,is_fraud\n")
	rows := make([]trainRow, n)
	for i := range rows {
		amount := math.Exp(3 + rng.NormFloat64())
		r := trainRow{hour: rng.IntN(24), country: countries[rng.IntN(5)], device: devices[rng.IntN(3)]}
		z := -3 + 0.7*math.Log1p(amount) + 0.04*float64(r.hour)
		if r.country == "BR" {
			z++
		}
		if r.device == "web" {
			z += 0.6
		}
		if rng.Float64() < 1/(1+math.Exp(-z)) {
			r.label = 1
		}
		r.amount = strconv.FormatFloat(math.Round(amount*100)/100, 'f', -1, 64)
		if rng.IntN(15) == 0 {
			r.amount = ""
		}
		rows[i] = r
		fmt.Fprintf(&b, "%s,%d,%s,%s,%d\n", r.amount, r.hour, r.country, r.device, r.label)
	}
	path := filepath.Join(dir, "data.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, rows
}

const e2eFeatures = `features:
  - column: amount
    type: float
    transforms:
      - impute: {strategy: median, indicator: true}
      - log1p
      - standardize
  - column: hour
    type: int
    transforms:
      - bucketize: {bins: 4}
  - column: country
    type: string
    transforms:
      - onehot: {min_frequency: 100, unknown: infrequent}
  - column: device
    type: string
    transforms:
      - ordinal: {unknown: value, unknown_value: -1}
  - cross: [country, device]
    buckets: 8
`

// column is column k of a CSV file with a header (fixture.ReadTable).
func column(t *testing.T, path string, k int) []float64 {
	t.Helper()
	var out []float64
	for _, r := range fixture.ReadTable(t, path).Rows {
		out = append(out, r[k])
	}
	return out
}

// TestTrainServeScoreParity trains a logistic and a tree model with
// `predictd train`, then predicts the validation rows from their raw
// values (blank amounts, category strings) with `predictd score` and with
// `predictd serve` (TF Serving rows and OIP per-feature tensors): every
// prediction equals the trainer's own, bit for bit.
func TestTrainServeScoreParity(t *testing.T) {
	dir := t.TempDir()
	data, rows := writeTrainData(t, dir, 2500)
	repo := filepath.Join(dir, "repo")
	models := map[string]string{
		"fraud_lr": "label: is_fraud\ntask: binary\nseed: 11\nmodel: {type: logistic, c: 0.3}\n" + e2eFeatures,
		"fraud_gb": "label: is_fraud\ntask: binary\nseed: 11\nvalidation_fraction: 0.3\nmodel: {type: gbdt, n_trees: 30, max_depth: 3, learning_rate: 0.2, subsample: 0.8}\n" + e2eFeatures,
	}
	type trained struct {
		idx   []int
		preds []float64
	}
	got := map[string]trained{}
	for name, spec := range models {
		specPath := filepath.Join(dir, name+".yaml")
		os.WriteFile(specPath, []byte(spec), 0o644)
		predPath := filepath.Join(dir, name+".valid.csv")
		out := mustRun(t, "train", "--spec", specPath, "--in", data, "--repo", repo, "--model", name, "--predictions", predPath, "--json")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var done struct {
			Event     string `json:"event"`
			Version   int    `json:"version"`
			ValidRows int    `json:"valid_rows"`
		}
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &done); err != nil || done.Event != "done" || done.Version != 1 {
			t.Fatalf("train --json's last line %q: want a done event for version 1 (%v)", lines[len(lines)-1], err)
		}
		if name == "fraud_gb" {
			var rounds int
			for _, l := range lines {
				var ev struct {
					Event      string  `json:"event"`
					Stage      string  `json:"stage"`
					Iteration  int     `json:"iteration"`
					Iterations int     `json:"iterations"`
					TrainLoss  float64 `json:"train_loss"`
					ValidLoss  float64 `json:"valid_loss"`
				}
				if json.Unmarshal([]byte(l), &ev) == nil && ev.Event == "progress" && ev.Stage == "fit" && ev.Iterations == 30 && ev.TrainLoss > 0 && ev.ValidLoss > 0 {
					rounds = max(rounds, ev.Iteration)
				}
			}
			if rounds != 30 {
				t.Errorf("train --json: the last progress event with losses is round %d, want round 30 of 30:\n%s", rounds, out)
			}
		}
		// train --predictions: the row's position over the inputs, then the prediction.
		var idx []int
		for _, r := range column(t, predPath, 0) {
			idx = append(idx, int(r))
		}
		preds := column(t, predPath, 1)
		if len(idx) != done.ValidRows || len(idx) < 300 {
			t.Fatalf("%s: %d predictions for %d validation rows", name, len(idx), done.ValidRows)
		}
		got[name] = trained{idx, preds}
	}

	// score: the validation rows, raw, as a CSV.
	for name, tr := range got {
		var b strings.Builder
		b.WriteString("is_fraud,device,country,hour,amount\n") // another column order than training's
		for _, i := range tr.idx {
			r := rows[i]
			fmt.Fprintf(&b, "%d,%s,%s,%d,%s\n", r.label, r.device, r.country, r.hour, r.amount)
		}
		in := filepath.Join(dir, name+".raw.csv")
		os.WriteFile(in, []byte(b.String()), 0o644)
		out := filepath.Join(dir, name+".scored.csv")
		mustRun(t, "score", "--repo", repo, "--model", name, "--in", in, "--out", out)
		scored := column(t, out, 0)
		checkBits(t, name+" score", tr.preds, scored)
	}

	// serve: the same rows as JSON, strings for categories, null for a blank amount.
	d := startServe(t, nil, "--repo", repo)
	c := d.client(false)
	for name, tr := range got {
		var inst []map[string]any
		cols := map[string][]any{}
		for _, i := range tr.idx {
			r := rows[i]
			var amount any
			if r.amount != "" {
				amount, _ = strconv.ParseFloat(r.amount, 64)
			}
			inst = append(inst, map[string]any{"amount": amount, "hour": r.hour, "country": r.country, "device": r.device})
			cols["amount"] = append(cols["amount"], amount)
			cols["hour"] = append(cols["hour"], r.hour)
			cols["country"] = append(cols["country"], r.country)
			cols["device"] = append(cols["device"], r.device)
		}
		code, body := do(t, c, "POST", d.url(false, "/v1/models/"+name+":predict"), map[string]any{"instances": inst})
		if code != 200 {
			t.Fatalf("%s: TF Serving predict: %d %s", name, code, body)
		}
		var resp struct {
			Predictions json.RawMessage `json:"predictions"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		checkBits(t, name+" serve (TF Serving rows)", tr.preds, flattenPredictions(t, resp.Predictions))

		var inputs []map[string]any
		for _, f := range []struct{ name, dtype string }{{"amount", "FP64"}, {"hour", "FP64"}, {"country", "BYTES"}, {"device", "BYTES"}} {
			inputs = append(inputs, map[string]any{"name": f.name, "datatype": f.dtype, "shape": []int{len(tr.idx)}, "data": cols[f.name]})
		}
		code, body = do(t, c, "POST", d.url(false, "/v2/models/"+name+"/infer"), map[string]any{"inputs": inputs})
		if code != 200 {
			t.Fatalf("%s: OIP infer: %d %s", name, code, body)
		}
		var oip struct {
			Outputs []struct {
				Data []float64 `json:"data"`
			} `json:"outputs"`
		}
		if err := json.Unmarshal(body, &oip); err != nil || len(oip.Outputs) != 1 {
			t.Fatalf("%s: OIP response %s: %v", name, body, err)
		}
		checkBits(t, name+" serve (OIP tensors)", tr.preds, oip.Outputs[0].Data)

		// A category where a number belongs, and a number where a category does.
		for _, bad := range []struct{ inst, want string }{
			{`{"amount": "12", "hour": 3, "country": "US", "device": "web"}`, "amount"},
			{`{"amount": 12, "hour": 3, "country": 7, "device": "web"}`, "country"},
		} {
			code, body := do(t, c, "POST", d.url(false, "/v1/models/"+name+":predict"), `{"instances": [`+bad.inst+`]}`)
			if code != 400 || !strings.Contains(string(body), bad.want) {
				t.Errorf("%s: %s: %d %s, want 400 naming %s", name, bad.inst, code, body, bad.want)
			}
		}
	}
}

func checkBits(t *testing.T, what string, want, got []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d predictions, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
			t.Fatalf("%s: prediction %d is %v, the trainer's %v", what, i, got[i], want[i])
		}
	}
}

// TestTrainReproducibleAndRetrain: two runs with the same data, spec, seed
// and --created write byte-identical version folders; retrain reuses the
// recorded spec and records the parent, which inspect shows; bad specs and
// bad data exit 1 naming the line.
func TestTrainReproducibleAndRetrain(t *testing.T) {
	dir := t.TempDir()
	data, _ := writeTrainData(t, dir, 1200)
	specPath := filepath.Join(dir, "train.yaml")
	os.WriteFile(specPath, []byte("label: is_fraud\ntask: binary\nseed: 2\nmodel: {type: gbdt, n_trees: 15, max_depth: 3}\n"+e2eFeatures), 0o644)
	var dirs []string
	for _, r := range []string{"a", "b"} {
		repo := filepath.Join(dir, r)
		mustRun(t, "train", "--spec", specPath, "--in", data, "--repo", repo, "--model", "m", "--created", "2026-12-01T00:00:00Z")
		dirs = append(dirs, filepath.Join(repo, "m", "1"))
	}
	ents, err := os.ReadDir(dirs[0])
	if err != nil || len(ents) < 4 {
		t.Fatalf("%s: %v, %d files", dirs[0], err, len(ents))
	}
	for _, e := range ents {
		a, _ := os.ReadFile(filepath.Join(dirs[0], e.Name()))
		b, err := os.ReadFile(filepath.Join(dirs[1], e.Name()))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs between two identical runs (%v)", e.Name(), err)
		}
	}
	repo := filepath.Join(dir, "a")
	mustRun(t, "retrain", "--from", "m:1", "--in", data+","+data, "--repo", repo)
	out := mustRun(t, "inspect", "--repo", repo, "--model", "m")
	for _, want := range []string{"m version 2", "trained by predictd retrain", "retrained from m:1", "spec " + specPath} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect after retrain lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "data "+data+": 1200 rows"); n != 2 {
		t.Errorf("inspect after retrain lists %s %d times, want twice (it was given twice):\n%s", data, n, out)
	}

	for _, c := range []struct{ spec, want string }{
		{"label: is_fraud\ntask: binary\nmodel: {type: logistic}\nfeatures:\n  - column: amount\n    type: float\n  - column: colour\n    type: float\n", "train.yaml:7: features[1].column: no column \"colour\""},
		{"label: is_fraud\ntask: binary\nmodel: {type: logistic}\nfeatures:\n  - column: country\n    type: string\n    transforms: [standardize]\n", "train.yaml:7: features[0].transforms[0]"},
		{"label: is_fraud\ntask: binary\nmodel: {type: logistic}\nfeatures:\n  - column: amount\n    type: float\n", "column amount: missing value"},
	} {
		os.WriteFile(specPath, []byte(c.spec), 0o644)
		r := predictd(t, "train", "--spec", specPath, "--in", data, "--repo", filepath.Join(dir, "bad"), "--model", "m")
		if r.code != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("train with a bad spec: exit %d, stderr %q; want exit 1 naming %q", r.code, r.stderr, c.want)
		}
	}
	r := predictd(t, "retrain", "--from", "m", "--in", data, "--repo", repo)
	if r.code != 2 || !strings.Contains(r.stderr, "NAME:VERSION") {
		t.Errorf("retrain --from m: exit %d, %q; want a usage error asking for NAME:VERSION", r.code, r.stderr)
	}
}
