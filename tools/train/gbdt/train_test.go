package gbdt

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
)

// TestBinsAreFloat32Less: a split after bin b, code <= b going left, is
// the served rule float32(x) < float32(cuts[b]) (kernels.LessFloat32) for
// every non-NaN x, also x within a float32 rounding step of a cut, huge and
// infinite.
func TestBinsAreFloat32Less(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var cuts []float64
	for i := 0; i < 200; i++ {
		cuts = append(cuts, round32(rng.NormFloat64()*math.Pow(10, float64(rng.IntN(20)-10))))
	}
	cuts = append(cuts, 0, 1, -1, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, math.Inf(1))
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	xs := []float64{math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, 1e-300, -1e-300, 0}
	for _, c := range cuts {
		p := float64(math.Nextafter32(float32(c), float32(math.Inf(-1))))
		m := (p + c) / 2 // a float32 rounding tie
		for _, x := range []float64{c, p, m, math.Nextafter(m, math.Inf(-1)), math.Nextafter(m, math.Inf(1)), math.Nextafter(c, math.Inf(-1)), math.Nextafter(c, math.Inf(1))} {
			if !math.IsNaN(x) {
				xs = append(xs, x)
			}
		}
	}
	for _, x := range xs {
		code := binOf(cuts, x)
		for b, c := range cuts {
			if got, want := int(code) <= b, float32(x) < float32(c); got != want {
				t.Fatalf("x=%v cut %d=%v: code %d <= %d is %v, float32(x) < cut is %v", x, b, c, code, b, got, want)
			}
		}
	}
}

func TestCutsFor(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		vals   []float64
		maxBin int
		want   []float64
	}{
		{[]float64{3, 1, 2, 2, nan}, 255, []float64{2, 3}},
		{[]float64{nan, nan}, 255, nil},
		{[]float64{5, 5, 5}, 255, nil},
		// Pruned as XGBoost's WQSummary::SetPrune: ranks 5, 8, 11 of the
		// doubled rank range pick 3, 5 and 6.
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8}, 4, []float64{3, 5, 6}},
		{[]float64{1, 1, 1, 1, 1, 1, 2, 3}, 2, []float64{2}},
	}
	for _, c := range cases {
		got := cutsFor(c.vals, c.maxBin)
		if len(got) != len(c.want) {
			t.Fatalf("cutsFor(%v, %d) = %v, want %v", c.vals, c.maxBin, got, c.want)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Fatalf("cutsFor(%v, %d) = %v, want %v", c.vals, c.maxBin, got, c.want)
			}
		}
	}
	// At most maxBin bins, rising cuts, no empty bin on the training values.
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, 10000)
	for i := range vals {
		vals[i] = math.Round(rng.NormFloat64() * 300)
	}
	for _, mb := range []int{2, 16, 255} {
		cuts := cutsFor(vals, mb)
		if len(cuts)+1 > mb {
			t.Fatalf("maxBin %d: %d bins", mb, len(cuts)+1)
		}
		count := make([]int, len(cuts)+1)
		for _, v := range vals {
			count[binOf(cuts, v)]++
		}
		for b, c := range count {
			if c == 0 {
				t.Fatalf("maxBin %d: bin %d is empty (cuts %v)", mb, b, cuts)
			}
		}
	}
	// binOf is the number of cuts <= x, as sort.Search finds it.
	for _, nc := range []int{0, 1, 2, 3, 7, 254} {
		cuts := make([]float64, nc)
		for i := range cuts {
			cuts[i] = float64(2 * i)
		}
		for x := -2.0; x <= float64(2*nc+1); x += 0.5 {
			want := sort.Search(nc, func(i int) bool { return cuts[i] > x })
			if got := binOf(cuts, x); int(got) != want {
				t.Fatalf("binOf(%d cuts, %v) = %d, want %d", nc, x, got, want)
			}
		}
	}
	if binOf([]float64{1}, nan) != missingBin {
		t.Fatalf("binOf(NaN) is not the missing bin")
	}
}

func TestSortFloats(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 100, radixMin, 50000} {
		vals := make([]float64, n)
		for i := range vals {
			switch i % 7 {
			case 0:
				vals[i] = math.Inf(1 - 2*(i%2))
			case 1:
				vals[i] = math.Copysign(0, float64(1-2*(i%2)))
			default:
				vals[i] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
			}
		}
		want := slices.Clone(vals)
		slices.Sort(want)
		sortFloats(vals)
		for i := range vals {
			if vals[i] != want[i] {
				t.Fatalf("n=%d: sortFloats()[%d] = %v, slices.Sort gives %v", n, i, vals[i], want[i])
			}
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	d := synthetic(50, 3, 0, 1)
	cases := []struct {
		field string
		edit  func(o *Options)
	}{
		{"Objective", func(o *Options) { o.Objective = "reg:huber" }},
		{"NumClasses", func(o *Options) { o.Objective = Softprob; o.NumClasses = 1 }},
		{"NumClasses", func(o *Options) { o.NumClasses = 3 }},
		{"Rounds", func(o *Options) { o.Rounds = 0 }},
		{"MaxDepth", func(o *Options) { o.MaxDepth = 0 }},
		{"MaxDepth", func(o *Options) { o.MaxDepth = 17 }},
		{"MaxDepth", func(o *Options) { o.GrowPolicy = DepthWise; o.MaxDepth = 0; o.MaxLeaves = 8 }},
		{"MaxDepth", func(o *Options) { o.GrowPolicy = LossGuide; o.MaxDepth = -1; o.MaxLeaves = 8 }},
		{"GrowPolicy", func(o *Options) { o.GrowPolicy = "leafwise" }},
		{"MaxLeaves", func(o *Options) { o.MaxLeaves = -1 }},
		{"MaxLeaves", func(o *Options) { o.MaxLeaves = 1 }},
		{"MaxLeaves", func(o *Options) { o.GrowPolicy = LossGuide; o.MaxDepth = 0 }},
		{"MaxLeaves", func(o *Options) { o.GrowPolicy = LossGuide; o.MaxDepth = 17 }},
		{"LearningRate", func(o *Options) { o.LearningRate = 0 }},
		{"LearningRate", func(o *Options) { o.LearningRate = math.NaN() }},
		{"Lambda", func(o *Options) { o.Lambda = -1 }},
		{"Alpha", func(o *Options) { o.Alpha = math.Inf(1) }},
		{"MinChildWeight", func(o *Options) { o.MinChildWeight = -0.5 }},
		{"Gamma", func(o *Options) { o.Gamma = math.NaN() }},
		{"MaxDeltaStep", func(o *Options) { o.MaxDeltaStep = -1 }},
		{"MaxBin", func(o *Options) { o.MaxBin = 256 }},
		{"MaxBin", func(o *Options) { o.MaxBin = 1 }},
		{"Subsample", func(o *Options) { o.Subsample = 0 }},
		{"ColsampleByTree", func(o *Options) { o.ColsampleByTree = 1.5 }},
		{"Threads", func(o *Options) { o.Threads = 0 }},
		{"EarlyStoppingRounds", func(o *Options) { o.EarlyStoppingRounds = -1 }},
		{"EarlyStoppingRounds", func(o *Options) { o.EarlyStoppingRounds = 3 }}, // no validation set
		{"BaseScore", func(o *Options) { o.BaseScore = 1 }},
		{"BaseScore", func(o *Options) { o.Objective = Poisson; o.BaseScore = 0 }},
	}
	for _, c := range cases {
		o := DefaultOptions()
		c.edit(&o)
		_, err := Train(context.Background(), d, nil, o)
		if err == nil || !strings.Contains(err.Error(), "Options."+c.field) {
			t.Errorf("bad %s: err = %v, want one naming Options.%s", c.field, err, c.field)
		}
	}
}

func TestBadData(t *testing.T) {
	o := DefaultOptions()
	d := synthetic(20, 2, 0, 1)
	d.Labels[7] = 2
	if _, err := Train(context.Background(), d, nil, o); err == nil || !strings.Contains(err.Error(), "train: row 7: label is 2, want in [0, 1]") {
		t.Errorf("label 2 for logistic: err = %v", err)
	}
	d = synthetic(20, 2, 0, 1)
	d.Rows = d.Rows[:39]
	if _, err := Train(context.Background(), d, nil, o); err == nil || !strings.Contains(err.Error(), "39 values for 20 rows") {
		t.Errorf("short rows: err = %v", err)
	}
	o.Objective, o.NumClasses = Softprob, 3
	d = synthetic(20, 2, 0, 1)
	d.Labels[4] = 1.5
	if _, err := Train(context.Background(), d, nil, o); err == nil || !strings.Contains(err.Error(), "row 4: label is 1.5, want a class index 0 to 2") {
		t.Errorf("class 1.5: err = %v", err)
	}
}

// served trains, writes the model to a repository, opens it and returns the
// served raw margins and outputs of rows.
func served(t *testing.T, imp *model.Imported, rows []float64) (raw, out []float64) {
	t.Helper()
	repo := t.TempDir()
	if _, _, err := model.Write(repo, "m", imp, model.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	l, err := model.Open(repo, "m", 0)
	if err != nil {
		t.Fatal(err)
	}
	return l.Model.Predict(nil, rows, true), l.Model.Predict(nil, rows, false)
}

// TestServedEqualsTrainer: the model written, opened and served gives the
// trainer's own margins bit for bit on the raw training rows, with missing
// values, sampling, and every objective.
func TestServedEqualsTrainer(t *testing.T) {
	base := synthetic(3000, 8, 0.1, 7)
	for _, obj := range []Objective{BinaryLogistic, SquaredError, Poisson, Softprob} {
		d := *base
		d.Labels = append([]float64(nil), base.Labels...)
		o := DefaultOptions()
		o.Objective, o.Rounds, o.Subsample, o.ColsampleByTree, o.Alpha, o.Seed = obj, 20, 0.8, 0.75, 0.1, 5
		switch obj {
		case SquaredError:
			for r := range d.Labels {
				d.Labels[r] += float64(r%5) * 0.3
			}
		case Poisson:
			for r := range d.Labels {
				d.Labels[r] += float64(r % 3)
			}
		case Softprob:
			o.NumClasses = 3
			for r := range d.Labels {
				d.Labels[r] += float64(r % 2)
			}
		}
		res, err := Train(context.Background(), &d, nil, o)
		if err != nil {
			t.Fatalf("%s: %v", obj, err)
		}
		raw, out := served(t, res.Model, d.Rows)
		if len(raw) != len(res.TrainMargins) {
			t.Fatalf("%s: %d served margins, %d trainer margins", obj, len(raw), len(res.TrainMargins))
		}
		for i := range raw {
			if math.Float64bits(raw[i]) != math.Float64bits(res.TrainMargins[i]) {
				t.Fatalf("%s: margin %d: served %v, trainer %v", obj, i, raw[i], res.TrainMargins[i])
			}
		}
		if obj == BinaryLogistic {
			for i := range out {
				if want := sigmoid(res.TrainMargins[i]); math.Abs(out[i]-want) > 1e-15 {
					t.Fatalf("%s: p %d: served %v, sigmoid of trainer margin %v", obj, i, out[i], want)
				}
			}
		}
		if len(res.Model.Model.(*model.Trees).Forest.Roots) != 20*max(1, o.NumClasses) {
			t.Fatalf("%s: %d trees, want %d", obj, len(res.Model.Model.(*model.Trees).Forest.Roots), 20*max(1, o.NumClasses))
		}
	}
}

// TestThreadsBitIdentical: 1 and 2 threads give the same payload bytes, on
// data large enough that histograms are built on both threads, both split
// over features (small nodes) and over row blocks (large ones).
func TestThreadsBitIdentical(t *testing.T) {
	d := synthetic(50000, 12, 0.05, 11)
	if len(d.Labels) <= blockRows {
		t.Fatal("data too small to be built in blocks")
	}
	var payloads [][]byte
	for _, threads := range []int{1, 2} {
		o := DefaultOptions()
		o.Rounds, o.Threads, o.Subsample, o.ColsampleByTree, o.Seed = 10, threads, 0.7, 0.8, 42
		if len(d.Labels)*12 < parallelWork {
			t.Fatal("data too small to use two threads")
		}
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
		t.Fatal("1 and 2 threads give different models")
	}
	// A different seed samples differently: the test can see a difference.
	o := DefaultOptions()
	o.Rounds, o.Subsample, o.ColsampleByTree, o.Seed = 10, 0.7, 0.8, 43
	res, err := Train(context.Background(), d, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := model.EncodePayload(res.Model.Model)
	if bytes.Equal(p, payloads[0]) {
		t.Fatal("seeds 42 and 43 give the same model")
	}
}

// TestMissingDirection: a feature whose missing values mean class 1 learns
// to send them the way of its high values.
func TestMissingDirection(t *testing.T) {
	for _, left := range []bool{true, false} {
		n := 1000
		d := &Dataset{NumFeatures: 1, Rows: make([]float64, n), Labels: make([]float64, n)}
		for r := 0; r < n; r++ {
			d.Rows[r] = float64(r % 100)
			y := 0.0
			if d.Rows[r] >= 50 {
				y = 1
			}
			if r%7 == 0 {
				d.Rows[r] = math.NaN()
				y = 1 // like the high values, which go right
				if left {
					y = 0 // like the low values, which go left
				}
			}
			d.Labels[r] = y
		}
		o := DefaultOptions()
		o.Rounds, o.MaxDepth = 1, 1
		res, err := Train(context.Background(), d, nil, o)
		if err != nil {
			t.Fatal(err)
		}
		root := res.Model.Model.(*model.Trees).Forest.Nodes[0]
		gotLeft := root.Flags&1 != 0
		// Left when float32(x) < 50 (kernels.LessFloat32).
		if root.Value != 50 || gotLeft != left {
			t.Fatalf("missing like the left values: %v: root threshold %v default left %v, want 50 and %v", left, root.Value, gotLeft, left)
		}
	}
}

func TestEarlyStopping(t *testing.T) {
	d := synthetic(2000, 6, 0, 21)
	v := synthetic(1000, 6, 0, 22)
	o := DefaultOptions()
	o.Rounds, o.LearningRate, o.MaxDepth, o.EarlyStoppingRounds = 300, 0.5, 6, 5
	res, err := Train(context.Background(), d, v, o)
	if err != nil {
		t.Fatal(err)
	}
	n := len(res.ValidLoss)
	if n >= 300 {
		t.Fatalf("trained all %d rounds: the validation loss never stopped falling", n)
	}
	if res.BestRound != n-1-5 || res.Rounds != res.BestRound+1 {
		t.Fatalf("%d rounds trained, best %d, kept %d: want best = trained-6 and kept = best+1", n, res.BestRound, res.Rounds)
	}
	for i, l := range res.ValidLoss {
		if l < res.ValidLoss[res.BestRound] || (i < res.BestRound && l == res.ValidLoss[res.BestRound]) {
			t.Fatalf("round %d loss %v beats best round %d's %v", i, l, res.BestRound, res.ValidLoss[res.BestRound])
		}
	}
	if got := len(res.Model.Model.(*model.Trees).Forest.Roots); got != res.Rounds {
		t.Fatalf("%d trees kept, want %d", got, res.Rounds)
	}
	// The trainer's margins are the kept model's, not the trained one's.
	rawTrain, _ := served(t, res.Model, d.Rows)
	for i := range rawTrain {
		if rawTrain[i] != res.TrainMargins[i] {
			t.Fatalf("train row %d: served margin %v, TrainMargins %v", i, rawTrain[i], res.TrainMargins[i])
		}
	}
	// The kept model's validation loss, served, is the best round's.
	raw, _ := served(t, res.Model, v.Rows)
	if got := loss(BinaryLogistic, 1, v.Labels, raw, 1); got != res.ValidLoss[res.BestRound] {
		t.Fatalf("served validation loss %v, best round's %v", got, res.ValidLoss[res.BestRound])
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Train(ctx, synthetic(100, 2, 0, 1), nil, DefaultOptions())
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("cancelled: err = %v", err)
	}
}
