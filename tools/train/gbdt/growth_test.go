package gbdt

import (
	"bytes"
	"context"
	"math"
	"testing"

	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
)

// treeShape returns a tree's leaf count and depth (splits on the longest
// root-to-leaf path); off is the index of its root in the forest.
func treeShape(nodes []kernels.Node, off int) (leaves, depth int) {
	var walk func(i, d int)
	walk = func(i, d int) {
		nd := nodes[i]
		if nd.IsLeaf() {
			leaves++
			depth = max(depth, d)
			return
		}
		walk(i+1, d+1)
		walk(int(nd.Right)-off, d+1)
	}
	walk(0, 0)
	return leaves, depth
}

// treeShapes returns treeShape of each tree of a trained model.
func treeShapes(res *Result) (leaves, depth []int) {
	f := res.Model.Model.(*model.Trees).Forest
	for i, tr := range treesOf(res) {
		l, d := treeShape(tr, int(f.Roots[i]))
		leaves, depth = append(leaves, l), append(depth, d)
	}
	return leaves, depth
}

// TestGrowthLimits: every tree keeps to MaxLeaves and MaxDepth under both
// policies, and on data with more to learn the limit is reached: LossGuide
// with MaxDepth 0 grows deeper than a balanced tree of as many leaves
// would be, and DepthWise with MaxLeaves stops a level part way.
func TestGrowthLimits(t *testing.T) {
	d := synthetic(5000, 8, 0.05, 21)
	cases := []struct {
		policy            GrowPolicy
		maxLeaves, depth  int
		wantDeeperThan    int // some tree is deeper than this
		wantLeavesReached bool
	}{
		{LossGuide, 8, 0, 3, true},
		{LossGuide, 31, 6, 5, true},
		{LossGuide, 0, 3, 2, false},
		{DepthWise, 12, 5, 3, true},
		{DepthWise, 0, 3, 2, false},
	}
	for _, c := range cases {
		o := DefaultOptions()
		o.Rounds, o.GrowPolicy, o.MaxLeaves, o.MaxDepth = 5, c.policy, c.maxLeaves, c.depth
		res, err := Train(context.Background(), d, nil, o)
		if err != nil {
			t.Fatalf("%s leaves %d depth %d: %v", c.policy, c.maxLeaves, c.depth, err)
		}
		deepest, most := 0, 0
		ls, ds := treeShapes(res)
		for i := range ls {
			l, dp := ls[i], ds[i]
			if c.maxLeaves > 0 && l > c.maxLeaves {
				t.Errorf("%s leaves %d depth %d: tree %d has %d leaves", c.policy, c.maxLeaves, c.depth, i, l)
			}
			if c.depth > 0 && dp > c.depth {
				t.Errorf("%s leaves %d depth %d: tree %d has depth %d", c.policy, c.maxLeaves, c.depth, i, dp)
			}
			deepest, most = max(deepest, dp), max(most, l)
		}
		if deepest <= c.wantDeeperThan {
			t.Errorf("%s leaves %d depth %d: deepest tree %d, want above %d", c.policy, c.maxLeaves, c.depth, deepest, c.wantDeeperThan)
		}
		if c.wantLeavesReached && most != c.maxLeaves {
			t.Errorf("%s leaves %d depth %d: most leaves in a tree %d, want %d", c.policy, c.maxLeaves, c.depth, most, c.maxLeaves)
		}
		if c.policy == DepthWise && c.maxLeaves > 0 && most == 1<<c.depth {
			t.Errorf("%s leaves %d depth %d: a full tree", c.policy, c.maxLeaves, c.depth)
		}
	}
}

// TestLossGuideBestFirst: with a leaf budget of 2, the one split a
// LossGuide tree makes is the root's best, the same as a depth-1 tree's;
// with a budget of 3 the tree has depth 2 and the child it splits carries
// the split depth-wise growth makes there. (Which child goes first, and
// ties, are held to XGBoost by TestGrowthAgainstXGBoost.)
func TestLossGuideBestFirst(t *testing.T) {
	d := synthetic(4000, 6, 0, 22)
	o := DefaultOptions()
	o.Rounds = 1
	o.MaxDepth = 1
	stump, err := Train(context.Background(), d, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	o.GrowPolicy, o.MaxDepth, o.MaxLeaves = LossGuide, 0, 2
	two, err := Train(context.Background(), d, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	a, b := treesOf(stump)[0], treesOf(two)[0]
	if len(a) != 3 || len(b) != 3 || a[0] != b[0] {
		t.Fatalf("2-leaf lossguide tree %v, depth-1 tree %v: want the same split", b, a)
	}
	o.MaxLeaves = 3
	three, err := Train(context.Background(), d, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	tr := treesOf(three)[0]
	if ls, ds := treeShapes(three); ls[0] != 3 || ds[0] != 2 {
		t.Fatalf("3-leaf lossguide tree has %d leaves, depth %d: want 3 and 2", ls[0], ds[0])
	}
	o = DefaultOptions()
	o.Rounds, o.MaxDepth = 1, 2
	full, err := Train(context.Background(), d, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	ft := treesOf(full)[0]
	if len(ft) != 7 {
		t.Fatalf("depth-2 tree has %d nodes, want 7", len(ft))
	}
	// The lossguide tree's split child keeps the depth-2 tree's split there.
	// Each is its forest's first tree: Right counts from 0.
	var got, want kernels.Node
	if !tr[1].IsLeaf() {
		got, want = tr[1], ft[1]
	} else {
		got, want = tr[tr[0].Right], ft[ft[0].Right]
	}
	if got.Feature != want.Feature || got.Value != want.Value {
		t.Fatalf("lossguide second split %+v, depth-wise split of that child %+v", got, want)
	}
}

// TestLossGuideThreadsBitIdentical: as TestThreadsBitIdentical, under
// LossGuide with no depth limit.
func TestLossGuideThreadsBitIdentical(t *testing.T) {
	d := synthetic(50000, 12, 0.05, 11)
	var payloads [][]byte
	for _, threads := range []int{1, 2} {
		o := DefaultOptions()
		o.Rounds, o.Threads, o.Subsample, o.ColsampleByTree, o.Seed = 8, threads, 0.7, 0.8, 42
		o.GrowPolicy, o.MaxDepth, o.MaxLeaves = LossGuide, 0, 31
		res, err := Train(context.Background(), d, nil, o)
		if err != nil {
			t.Fatal(err)
		}
		p, err := model.EncodePayload(res.Model.Model)
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, p)
	}
	if !bytes.Equal(payloads[0], payloads[1]) {
		t.Fatal("lossguide: 1 and 2 threads give different models")
	}
}

// TestLossGuideServedEqualsTrainer: a LossGuide model, written, opened and
// served, gives the trainer's margins bit for bit, with missing values and
// row sampling (margins walked) and without (margins from the leaves).
func TestLossGuideServedEqualsTrainer(t *testing.T) {
	d := synthetic(3000, 8, 0.1, 7)
	for _, sub := range []float64{1, 0.8} {
		o := DefaultOptions()
		o.Rounds, o.Subsample, o.GrowPolicy, o.MaxDepth, o.MaxLeaves = 15, sub, LossGuide, 0, 16
		res, err := Train(context.Background(), d, nil, o)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := served(t, res.Model, d.Rows)
		for i := range raw {
			if math.Float64bits(raw[i]) != math.Float64bits(res.TrainMargins[i]) {
				t.Fatalf("subsample %v: margin %d: served %v, trainer %v", sub, i, raw[i], res.TrainMargins[i])
			}
		}
	}
}

// TestProgress: Progress is called once per round trained, in order, with
// the losses Result reports, ValidLoss NaN without a validation set, and
// for the round that triggers early stopping too.
func TestProgress(t *testing.T) {
	d := synthetic(2000, 4, 0.1, 8)
	v := synthetic(500, 4, 0.1, 9)
	for _, valid := range []*Dataset{nil, v} {
		var got []Round
		o := DefaultOptions()
		o.Rounds, o.LearningRate = 60, 1
		if valid != nil {
			o.EarlyStoppingRounds = 3
		}
		o.Progress = func(r Round) { got = append(got, r) }
		res, err := Train(context.Background(), d, valid, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(res.TrainLoss) {
			t.Fatalf("valid %v: %d Progress calls for %d rounds trained", valid != nil, len(got), len(res.TrainLoss))
		}
		if valid != nil && len(got) == o.Rounds {
			t.Fatal("early stopping did not stop: the test does not see the last round")
		}
		for i, r := range got {
			if r.Iteration != i || r.TrainLoss != res.TrainLoss[i] {
				t.Fatalf("call %d: %+v, want iteration %d train loss %v", i, r, i, res.TrainLoss[i])
			}
			if valid == nil && !math.IsNaN(r.ValidLoss) {
				t.Fatalf("call %d: ValidLoss %v without a validation set, want NaN", i, r.ValidLoss)
			}
			if valid != nil && r.ValidLoss != res.ValidLoss[i] {
				t.Fatalf("call %d: ValidLoss %v, Result has %v", i, r.ValidLoss, res.ValidLoss[i])
			}
		}
	}
}

// TestEmptyGrowPolicyIsDepthWise: DefaultOptions grows depth-wise, and an
// empty GrowPolicy gives the same model as DepthWise.
func TestEmptyGrowPolicyIsDepthWise(t *testing.T) {
	if p := DefaultOptions().GrowPolicy; p != DepthWise {
		t.Fatalf("DefaultOptions().GrowPolicy = %q, want %q", p, DepthWise)
	}
	d := synthetic(2000, 6, 0.05, 23)
	var payloads [][]byte
	for _, p := range []GrowPolicy{"", DepthWise, LossGuide} {
		o := DefaultOptions()
		o.Rounds, o.GrowPolicy, o.MaxLeaves = 5, p, 8
		res, err := Train(context.Background(), d, nil, o)
		if err != nil {
			t.Fatalf("GrowPolicy %q: %v", p, err)
		}
		b, err := model.EncodePayload(res.Model.Model)
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, b)
	}
	if !bytes.Equal(payloads[0], payloads[1]) {
		t.Fatal(`GrowPolicy "" and DepthWise give different models`)
	}
	if bytes.Equal(payloads[1], payloads[2]) {
		t.Fatal("DepthWise and LossGuide give the same model: the test cannot tell them apart")
	}
}

// TestServedEqualsTrainerExtremes: with infinite values, values beyond
// float32's range (which XGBoost, and so the bins, read as ±Inf) and values
// a float32 rounding step apart, the served model gives the trainer's
// margins bit for bit, under both policies; a feature whose only missing
// rows are class 1 makes splits after the last bin (NaN alone to one side).
func TestServedEqualsTrainerExtremes(t *testing.T) {
	d := synthetic(3000, 5, 0, 31)
	for r := 0; r < 3000; r++ {
		row := d.Rows[r*5 : r*5+5]
		switch r % 7 {
		case 0:
			row[0] = math.Inf(1)
		case 1:
			row[0] = -1e300
		case 2:
			row[1] = math.Nextafter(row[1], math.Inf(1))
		}
		if d.Labels[r] == 1 && r%3 == 0 {
			row[4] = math.NaN()
		}
	}
	for _, p := range []GrowPolicy{DepthWise, LossGuide} {
		o := DefaultOptions()
		o.Rounds, o.GrowPolicy, o.MaxLeaves = 10, p, 16
		res, err := Train(context.Background(), d, nil, o)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := served(t, res.Model, d.Rows)
		for i := range raw {
			if math.Float64bits(raw[i]) != math.Float64bits(res.TrainMargins[i]) {
				t.Fatalf("%s: margin %d (row %v): served %v, trainer %v", p, i, d.Rows[i*5:i*5+5], raw[i], res.TrainMargins[i])
			}
		}
		swapped := 0
		for _, nd := range res.Model.Model.(*model.Trees).Forest.Nodes {
			if !nd.IsLeaf() && math.IsInf(nd.Value, -1) {
				swapped++
			}
		}
		if swapped == 0 {
			t.Fatalf("%s: no split after the last bin: the test does not exercise it", p)
		}
	}
}
