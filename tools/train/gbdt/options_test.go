package gbdt

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/monitor/quality"
)

// trees returns each tree's nodes of a trained model.
func treesOf(res *Result) [][]kernels.Node {
	f := res.Model.Model.(*model.Trees).Forest
	var out [][]kernels.Node
	for i, r := range f.Roots {
		end := int32(len(f.Nodes))
		if i+1 < len(f.Roots) {
			end = f.Roots[i+1]
		}
		out = append(out, f.Nodes[r:end])
	}
	return out
}

func TestGammaStopsSplits(t *testing.T) {
	d := synthetic(1000, 4, 0, 3)
	o := DefaultOptions()
	o.Rounds = 3
	res, err := Train(context.Background(), d, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(treesOf(res)[0]); n < 3 {
		t.Fatalf("gamma 0: first tree has %d nodes, want a split", n)
	}
	o.Gamma = 1e9
	res, err = Train(context.Background(), d, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	for i, tr := range treesOf(res) {
		if len(tr) != 1 {
			t.Fatalf("gamma 1e9: tree %d has %d nodes, want a single leaf", i, len(tr))
		}
	}
}

func TestColsampleByTree(t *testing.T) {
	d := synthetic(2000, 8, 0, 4)
	o := DefaultOptions()
	o.Rounds, o.ColsampleByTree = 10, 0.3 // round(2.4) = 2 features a tree
	res, err := Train(context.Background(), d, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	all := map[int32]bool{}
	for i, tr := range treesOf(res) {
		used := map[int32]bool{}
		for _, nd := range tr {
			if !nd.IsLeaf() {
				used[nd.Feature] = true
				all[nd.Feature] = true
			}
		}
		if len(used) > 2 {
			t.Fatalf("tree %d splits on %d features, want at most 2", i, len(used))
		}
	}
	if len(all) < 3 {
		t.Fatalf("10 trees used %d features in all: sampling does not vary between trees", len(all))
	}
}

func TestMaxDeltaStepBoundsLeaves(t *testing.T) {
	d := synthetic(1000, 4, 0, 5)
	for r := range d.Labels {
		d.Labels[r] *= 100
	}
	o := DefaultOptions()
	o.Objective, o.Rounds, o.MaxDeltaStep, o.LearningRate = SquaredError, 5, 2, 0.5
	res, err := Train(context.Background(), d, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	hit := false
	for _, tr := range treesOf(res) {
		for _, nd := range tr {
			if nd.IsLeaf() {
				if math.Abs(nd.Value) > 0.5*2 {
					t.Fatalf("leaf %v beyond learning rate × MaxDeltaStep = 1", nd.Value)
				}
				hit = hit || math.Abs(nd.Value) == 1
			}
		}
	}
	if !hit {
		t.Fatal("no leaf reached the bound: the test does not exercise it")
	}
}

// TestConcurrentTrain: Train may run concurrently (run with -race), and gives
// the same model each time.
func TestConcurrentTrain(t *testing.T) {
	d := synthetic(3000, 5, 0.05, 6)
	o := DefaultOptions()
	o.Rounds, o.Subsample, o.Seed = 5, 0.8, 9
	var wg sync.WaitGroup
	payloads := make([][]byte, 3)
	errs := make([]error, 3)
	for i := range payloads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := Train(context.Background(), d, nil, o)
			if err == nil {
				payloads[i], err = model.EncodePayload(res.Model.Model)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i := range payloads {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if string(payloads[i]) != string(payloads[0]) {
			t.Fatalf("concurrent run %d gave a different model", i)
		}
	}
}

func TestSampleRows(t *testing.T) {
	const n = 100000
	a := sampleRows(rand.New(rand.NewPCG(1, 2)), n, 0.3)
	b := sampleRows(rand.New(rand.NewPCG(1, 2)), n, 0.3)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed kept different rows")
	}
	if !slices.IsSorted(a) {
		t.Fatal("sampled rows are not ascending")
	}
	// Binomial(100000, 0.3): sd 145; 5 sd either side.
	if len(a) < 30000-725 || len(a) > 30000+725 {
		t.Fatalf("kept %d of %d rows at 0.3", len(a), n)
	}
	if got := len(sampleRows(rand.New(rand.NewPCG(1, 2)), n, 1)); got != n {
		t.Fatalf("Subsample 1 kept %d of %d rows", got, n)
	}
}

// TestTrainLoss: the reported training loss is the metric of the trainer's
// margins, as monitor/quality computes it.
func TestTrainLoss(t *testing.T) {
	d := synthetic(2000, 4, 0.1, 8)
	o := DefaultOptions()
	o.Rounds = 4
	res, err := Train(context.Background(), d, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]float64, len(res.TrainMargins))
	for i, m := range res.TrainMargins {
		p[i] = sigmoid(m)
	}
	if got, want := res.TrainLoss[3], quality.LogLoss(d.Labels, p); math.Abs(got-want) > 1e-12 {
		t.Fatalf("TrainLoss %v, quality.LogLoss %v", got, want)
	}
	o.Objective = SquaredError
	res, err = Train(context.Background(), d, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.TrainLoss[3], quality.RMSE(d.Labels, res.TrainMargins); math.Abs(got-want) > 1e-12 {
		t.Fatalf("TrainLoss %v, quality.RMSE %v", got, want)
	}
}
