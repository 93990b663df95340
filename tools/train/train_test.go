package train

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/internal/table"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/transform"
	"github.com/predictd/predictd/tools/eval"
	"github.com/predictd/predictd/tools/train/spec"
)

// writeFraudCSV writes n synthetic transactions: amount (5% blank),
// country and device strings, hour, and an is_fraud label drawn from a
// logistic rule over them. It returns the path.
func writeFraudCSV(t testing.TB, dir string, n int, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	countries := []string{"US", "DE", "FR", "BR", "IN", "JP"}
	devices := []string{"ios", "android", "web"}
	var b strings.Builder
	b.WriteString("amount,hour,country,device,is_fraud\n")
	for range n {
		amount := math.Exp(3 + 1.2*rng.NormFloat64())
		hour := rng.IntN(24)
		c := countries[min(rng.IntN(7), len(countries)-1)] // US twice as often
		dv := devices[rng.IntN(3)]
		z := -2 + 0.6*math.Log1p(amount) - 1.5 + 0.05*float64(hour)
		if c == "BR" {
			z += 1.2
		}
		if dv == "web" {
			z += 0.7
		}
		y := 0
		if rng.Float64() < 1/(1+math.Exp(-z)) {
			y = 1
		}
		cell := strconv.FormatFloat(math.Round(amount*100)/100, 'f', -1, 64)
		if rng.IntN(20) == 0 {
			cell = ""
		}
		fmt.Fprintf(&b, "%s,%d,%s,%s,%d\n", cell, hour, c, dv, y)
	}
	path := filepath.Join(dir, "fraud.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const fraudFeatures = `features:
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
      - onehot: {min_frequency: 50, unknown: infrequent}
  - column: device
    type: string
    transforms:
      - hash: {buckets: 8}
  - cross: [country, device]
    buckets: 16
`

const logisticSpec = `label: is_fraud
task: binary
seed: 3
validation_fraction: 0.25
model:
  type: logistic
  c: 0.5
` + fraudFeatures

const gbdtSpec = `label: is_fraud
task: binary
seed: 3
model:
  type: gbdt
  n_trees: 20
  max_depth: 3
  learning_rate: 0.3
` + fraudFeatures

func parseSpec(t testing.TB, yml string) *spec.Spec {
	t.Helper()
	s, err := spec.Parse([]byte(yml), "train.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func runSpec(t testing.TB, yml, in, repo string, mutate func(*Options)) *Result {
	t.Helper()
	o := Options{
		Spec: parseSpec(t, yml), SpecYAML: []byte(yml), Inputs: []string{in}, Repo: repo, Name: "fraud",
		Created: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), PredictdVersion: "test",
	}
	if mutate != nil {
		mutate(&o)
	}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// rawRows reads in's rows as transform.Rows for p (strings copied).
func rawRows(t testing.TB, in string, p *transform.Pipeline) []transform.Row {
	t.Helper()
	r, err := table.Open(in, table.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	idx, err := p.TableIndex(r)
	if err != nil {
		t.Fatal(err)
	}
	var rows []transform.Row
	var ch table.Chunk
	for {
		n, err := r.Next(&ch, 1000)
		if err != nil {
			break
		}
		for j := range n {
			row, err := p.ChunkRow(nil, &ch, j, idx)
			if err != nil {
				t.Fatal(err)
			}
			for k := range row {
				row[k].Str = strings.Clone(row[k].Str)
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// TestTrainedVersionPredictsAsTrainer: the written version, opened as
// serve and score open it, predicts each validation row (raw values
// through model.TransformRow) bit for bit as the trainer did; its
// manifest carries the transform, lineage, evaluation and reference.
func TestTrainedVersionPredictsAsTrainer(t *testing.T) {
	dir := t.TempDir()
	in := writeFraudCSV(t, dir, 3000, 1)
	for _, c := range []struct{ name, yml string }{{"logistic", logisticSpec}, {"gbdt", strings.Replace(gbdtSpec, "seed: 3", "seed: 3\nvalidation_fraction: 0.3", 1)}} {
		t.Run(c.name, func(t *testing.T) {
			repo := filepath.Join(dir, c.name)
			res := runSpec(t, c.yml, in, repo, nil)
			if res.ValidRows == 0 || res.TrainRows+res.ValidRows != 3000 {
				t.Fatalf("rows: %d training + %d validation, want 3000 with some held out", res.TrainRows, res.ValidRows)
			}
			l, err := model.Open(repo, "fraud", res.Manifest.Version)
			if err != nil {
				t.Fatal(err)
			}
			if l.Transform == nil || l.Manifest.Reference == nil {
				t.Fatalf("version lacks its transform (%v) or reference (%v)", l.Transform != nil, l.Manifest.Reference)
			}
			rows := rawRows(t, in, l.Transform)
			var x []float64
			for i, k := range res.ValidIndex {
				x, err = model.TransformRow(x[:0], l.Transform, l.Manifest.Kind == model.KindTrees, rows[k])
				if err != nil {
					t.Fatalf("row %d: %v", k, err)
				}
				got := l.Model.Predict(nil, x, false)[0]
				if want := res.ValidPredictions[i]; math.Float64bits(got) != math.Float64bits(want) {
					t.Fatalf("row %d: the served version predicts %v, the trainer %v", k, got, want)
				}
			}
			lin, ok, err := model.ReadTrainingLineage(l.Manifest)
			if err != nil || !ok {
				t.Fatalf("training lineage: %v, %v", ok, err)
			}
			data, _ := os.ReadFile(in)
			if len(lin.Data) != 1 || lin.Data[0].Rows != 3000 || lin.Data[0].Bytes != int64(len(data)) || lin.Seed != 3 || lin.SpecYAML != c.yml {
				t.Fatalf("lineage = %+v, want the data file (3000 rows, %d bytes), seed 3 and the spec verbatim", lin, len(data))
			}
			rec, ok, err := eval.ReadRecorded(l.Manifest)
			if err != nil || !ok {
				t.Fatalf("recorded evaluation: %v, %v", ok, err)
			}
			if rec.Rows != int64(res.ValidRows) || !(rec.Overall.AUC > 0.6) {
				t.Fatalf("recorded evaluation: %d rows, AUC %v; want %d rows and an AUC above 0.6 (the label depends on the features)", rec.Rows, rec.Overall.AUC, res.ValidRows)
			}
		})
	}
}

// TestReproducible: the same data, spec and seed (and creation time) give
// a byte-identical version folder, at 1 and 2 threads; another seed gives
// another model.
func TestReproducible(t *testing.T) {
	dir := t.TempDir()
	in := writeFraudCSV(t, dir, 2000, 2)
	for _, c := range []struct{ name, yml string }{{"logistic", logisticSpec}, {"gbdt", gbdtSpec}} {
		t.Run(c.name, func(t *testing.T) {
			a := runSpec(t, c.yml, in, filepath.Join(dir, c.name, "a"), func(o *Options) { o.Threads = 1 })
			b := runSpec(t, c.yml, in, filepath.Join(dir, c.name, "b"), func(o *Options) { o.Threads = 2 })
			ents, err := os.ReadDir(a.Dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(ents) < 4 {
				t.Fatalf("%s holds %d files, want manifest, payload, transform and reference", a.Dir, len(ents))
			}
			for _, e := range ents {
				x, _ := os.ReadFile(filepath.Join(a.Dir, e.Name()))
				y, err := os.ReadFile(filepath.Join(b.Dir, e.Name()))
				if err != nil || !bytes.Equal(x, y) {
					t.Errorf("%s differs between two runs (err %v)", e.Name(), err)
				}
			}
			other := runSpec(t, strings.Replace(c.yml, "seed: 3", "seed: 4", 1), in, filepath.Join(dir, c.name, "c"), nil)
			if other.Manifest.Payload.SHA256 == a.Manifest.Payload.SHA256 {
				t.Errorf("seed 4 gave the payload of seed 3: the seed does not reach the split")
			}
		})
	}
}

// TestRetrainLineage: a run with a Parent records it.
func TestRetrainLineage(t *testing.T) {
	dir := t.TempDir()
	in := writeFraudCSV(t, dir, 1000, 3)
	repo := filepath.Join(dir, "repo")
	first := runSpec(t, logisticSpec, in, repo, nil)
	second := runSpec(t, logisticSpec, in, repo, func(o *Options) {
		o.Parent = &model.VersionRef{Name: "fraud", Version: first.Manifest.Version}
		o.Tool = "predictd retrain"
	})
	lin, _, err := model.ReadTrainingLineage(second.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if second.Manifest.Version != 2 || lin.Parent == nil || *lin.Parent != (model.VersionRef{Name: "fraud", Version: 1}) || lin.Tool != "predictd retrain" {
		t.Fatalf("retrained version %d lineage parent %v tool %q, want version 2 with parent fraud:1 by predictd retrain", second.Manifest.Version, lin.Parent, lin.Tool)
	}
}

// TestRunErrors: bad data and specs that fit no data are refused with the
// file, line and column.
func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	in := writeFraudCSV(t, dir, 300, 4)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noImpute := strings.Replace(logisticSpec, "      - impute: {strategy: median, indicator: true}\n", "", 1)
	cases := []struct {
		name, yml, in, want string
	}{
		{"unknown column", strings.Replace(logisticSpec, "column: device", "column: devise", 1), in, `train.yaml:23: features[3].column: no column "devise" in the table`},
		{"string column read as a number", strings.Replace(strings.Replace(logisticSpec, "- column: device\n    type: string\n    transforms:\n      - hash: {buckets: 8}", "- column: device\n    type: float", 1), "  - cross: [country, device]\n    buckets: 16\n", "", 1), in, `fraud.csv:3: column "device": "ios" is not a finite number`},
		{"missing value for a linear model", noImpute, in, "column amount: missing value"},
		{"bad label", logisticSpec, write("badlabel.csv", "amount,hour,country,device,is_fraud\n1,2,US,web,0\n3,4,DE,ios,2\n"), "badlabel.csv:3: column is_fraud: label 2; a binary task's label is 0 or 1"},
		{"missing label", logisticSpec, write("nolabel.csv", "amount,hour,country,device,is_fraud\n1,2,US,web,0\n3,4,DE,ios,\n"), "nolabel.csv:3: column is_fraud: the label is missing"},
		{"one class", logisticSpec, write("oneclass.csv", "amount,hour,country,device,is_fraud\n1,2,US,web,0\n3,4,DE,ios,0\n5,4,DE,ios,0\n"), "a binary task needs both classes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := spec.Parse([]byte(c.yml), "train.yaml")
			if err != nil {
				t.Fatalf("spec: %v", err)
			}
			_, err = Run(context.Background(), Options{Spec: s, SpecYAML: []byte(c.yml), Inputs: []string{c.in}, Repo: filepath.Join(dir, "repo"), Name: "m"})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Run: err = %v, want one containing %q", err, c.want)
			}
		})
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "repo", "m")); slices.ContainsFunc(ents, func(e os.DirEntry) bool { return !strings.HasPrefix(e.Name(), ".") }) {
		t.Fatalf("a failed run left a version behind: %v", ents)
	}
}

func TestInValidationFraction(t *testing.T) {
	const n = 100000
	for _, f := range []float64{0, 0.1, 0.5} {
		var held int
		for r := range int64(n) {
			if inValidation(11, r, f) {
				held++
			}
		}
		if got := float64(held) / n; math.Abs(got-f) > 0.01 {
			t.Errorf("inValidation(fraction %v) holds out %v of %d rows", f, got, n)
		}
	}
}

// TestModelsAndTasks: every model type the spec offers trains through Run
// for its tasks, and the served version predicts the validation rows as
// the trainer did, with the evaluation recorded.
func TestModelsAndTasks(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(8, 8))
	var b strings.Builder
	b.WriteString("x1,x2,colour,class,count,value\n")
	colours := []string{"red", "green", "blue"}
	for range 1500 {
		x1, x2 := rng.NormFloat64(), rng.NormFloat64()
		c := rng.IntN(3)
		class := 0
		switch {
		case x1+0.5*float64(c) > 0.8:
			class = 2
		case x2 > 0:
			class = 1
		}
		mean := math.Exp(0.3*x1 + 0.2*float64(c))
		count := 0
		for l := math.Exp(-mean); ; count++ {
			if l >= rng.Float64() {
				break
			}
			l += math.Exp(-mean) * math.Pow(mean, float64(count+1)) / math.Gamma(float64(count+2))
			if count > 50 {
				break
			}
		}
		value := 2*x1 - x2 + float64(c) + 0.1*rng.NormFloat64()
		fmt.Fprintf(&b, "%.6f,%.6f,%s,%d,%d,%.6f\n", x1, x2, colours[c], class, count, value)
	}
	in := filepath.Join(dir, "data.csv")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	const feats = "features:\n  - column: x1\n    type: float\n    transforms: [standardize]\n  - column: x2\n    type: float\n    transforms: [minmax]\n  - column: colour\n    type: string\n    transforms: [{onehot: {unknown: zeros}}]\n"
	cases := []struct {
		name, head string
		check      func(m eval.Metrics) bool
	}{
		{"multinomial logistic", "label: class\ntask: multiclass\nmodel: {type: logistic, c: 2}\n", func(m eval.Metrics) bool { return m.Accuracy > 0.7 }},
		{"l1 logistic", "label: class\ntask: multiclass\nmodel: {type: logistic, penalty: l1, c: 1}\n", func(m eval.Metrics) bool { return m.Accuracy > 0.7 }},
		{"elastic net logistic", "label: class\ntask: multiclass\nmodel: {type: logistic, penalty: elasticnet, l1_ratio: 0.3}\n", func(m eval.Metrics) bool { return m.Accuracy > 0.7 }},
		{"multiclass gbdt", "label: class\ntask: multiclass\nmodel: {type: gbdt, n_trees: 20, max_depth: 3}\n", func(m eval.Metrics) bool { return m.Accuracy > 0.7 }},
		{"ridge", "label: value\ntask: regression\nmodel: {type: ridge, alpha: 0.5}\n", func(m eval.Metrics) bool { return m.R2 > 0.95 }},
		{"regression gbdt, lossguide", "label: value\ntask: regression\nmodel: {type: gbdt, n_trees: 40, growth: lossguide, max_leaves: 8, max_depth: 0}\n", func(m eval.Metrics) bool { return m.R2 > 0.8 }},
		{"poisson gbdt", "label: count\ntask: poisson\nmodel: {type: gbdt, n_trees: 30, max_depth: 2, learning_rate: 0.1}\n", func(m eval.Metrics) bool { return m.PoissonDeviance > 0 && m.PoissonDeviance < 2 }},
	}
	// Linear regression over one-hot columns of every category and an
	// intercept has no unique solution; the error says what to use.
	yml := "label: value\ntask: regression\nmodel: {type: linear}\n" + feats
	_, err := Run(context.Background(), Options{Spec: parseSpec(t, yml), SpecYAML: []byte(yml), Inputs: []string{in}, Repo: filepath.Join(dir, "linear"), Name: "m"})
	if err == nil || !strings.Contains(err.Error(), "train.yaml:3: model: type linear: the model columns are collinear") {
		t.Errorf("linear over a full one-hot: err = %v, want the spec's line and what to use instead", err)
	}
	yml = "label: value\ntask: regression\nmodel: {type: linear}\nfeatures:\n  - column: x1\n    type: float\n  - column: x2\n    type: float\n"
	res := runSpec(t, yml, in, filepath.Join(dir, "linear2"), nil)
	if rec, _, _ := eval.ReadRecorded(res.Manifest); rec == nil || !(rec.Overall.R2 > 0.8) {
		t.Errorf("linear regression on x1, x2: recorded evaluation %+v, want R2 above 0.8", rec)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			yml := c.head + feats
			res := runSpec(t, yml, in, filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")), nil)
			l, err := model.Open(filepath.Dir(filepath.Dir(res.Dir)), res.Manifest.Name, res.Manifest.Version)
			if err != nil {
				t.Fatal(err)
			}
			rows := rawRows(t, in, l.Transform)
			k := len(l.Manifest.Outputs)
			var x []float64
			for i, r := range res.ValidIndex {
				x, err = model.TransformRow(x[:0], l.Transform, l.Manifest.Kind == model.KindTrees, rows[r])
				if err != nil {
					t.Fatal(err)
				}
				got := l.Model.Predict(nil, x, false)
				for o := range k {
					if math.Float64bits(got[o]) != math.Float64bits(res.ValidPredictions[i*k+o]) {
						t.Fatalf("row %d output %d: served %v, trainer %v", r, o, got[o], res.ValidPredictions[i*k+o])
					}
				}
			}
			rec, ok, err := eval.ReadRecorded(l.Manifest)
			if err != nil || !ok || !c.check(rec.Overall) {
				t.Fatalf("recorded evaluation %+v (%v, %v): below what the data allows", rec, ok, err)
			}
		})
	}
}
