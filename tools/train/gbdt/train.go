package gbdt

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
)

// Dataset is a table of training or validation rows.
type Dataset struct {
	// Rows are row-major, NumFeatures values a row; NaN is missing. The
	// trainer, like XGBoost and the served model, reads each value rounded
	// to float32.
	Rows        []float64
	NumFeatures int
	// Labels has one value per row (a class index 0..NumClasses-1 for
	// Softprob).
	Labels []float64
	// Names of the features, in order; nil names them f0, f1, ...
	Names []string
}

// Result is a trained model and its training history.
type Result struct {
	// Model is ready for model.Write.
	Model *model.Imported
	// Rounds is the number of boosting rounds kept (all of Options.Rounds
	// unless early stopping cut them to BestRound+1).
	Rounds int
	// BestRound is the 0-based round with the lowest validation loss, or
	// the last round without a validation set.
	BestRound int
	// TrainLoss and ValidLoss are the losses after each round trained
	// (ValidLoss nil without a validation set): logloss, RMSE, multiclass
	// logloss or Poisson negative log-likelihood, as XGBoost's default eval
	// metric for the objective.
	TrainLoss, ValidLoss []float64
	// TrainMargins are the kept model's raw margins of the training rows,
	// NumMargins a row, computed by walking the trees over the bins.
	TrainMargins []float64
}

// tnode is a node of a tree being grown, routed by bin codes.
type tnode struct {
	leaf        bool
	value       float64 // leaf output, learning rate applied
	feat        int
	bin         uint8 // left when code <= bin
	defaultLeft bool  // where missing goes
	left, right int
}

type tree struct {
	nodes []tnode
	group int
	// rows are the rows the tree was grown on, and leaves say which of
	// them each leaf holds (rows[lo:hi]); both are dropped after use.
	rows   []int32
	leaves []leafRows
}

type leafRows struct{ node, lo, hi int }

// leafOf walks t for the row whose codes are row.
func (t *tree) leafOf(row []uint8) float64 {
	i := 0
	for {
		nd := &t.nodes[i]
		if nd.leaf {
			return nd.value
		}
		c := row[nd.feat]
		var left bool
		if c == missingBin {
			left = nd.defaultLeft
		} else {
			left = c <= nd.bin
		}
		if left {
			i = nd.left
		} else {
			i = nd.right
		}
	}
}

// Train fits trees to train, scoring valid (which may be nil) after each
// round. It stops with ctx's error when ctx is done.
func Train(ctx context.Context, train *Dataset, valid *Dataset, opts Options) (*Result, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := checkData("train", train, &opts); err != nil {
		return nil, err
	}
	if valid != nil {
		if err := checkData("valid", valid, &opts); err != nil {
			return nil, err
		}
		if valid.NumFeatures != train.NumFeatures {
			return nil, fmt.Errorf("valid: %d features, but train has %d", valid.NumFeatures, train.NumFeatures)
		}
	} else if opts.EarlyStoppingRounds > 0 {
		return nil, fmt.Errorf("Options.EarlyStoppingRounds is %d but there is no validation set", opts.EarlyStoppingRounds)
	}
	nf, n := train.NumFeatures, len(train.Labels)
	cuts := computeCuts(train.Rows, n, nf, opts.MaxBin, opts.Threads)
	bt := binRows(train.Rows, n, nf, cuts, opts.Threads)
	var bv *binned
	if valid != nil {
		bv = binRows(valid.Rows, len(valid.Labels), nf, cuts, opts.Threads)
	}
	K := 1
	if opts.Objective == Softprob {
		K = opts.NumClasses
	}
	base := baseMargin(&opts)
	g := &grower{opts: &opts, b: bt, cuts: cuts, nf: nf, mds: opts.maxDeltaStep()}
	margins := initMargins(n, K, base)
	var vmargins []float64
	if valid != nil {
		vmargins = initMargins(len(valid.Labels), K, base)
	}
	// Gradient and hessian side by side: a histogram build reads both of
	// a row with one cache miss.
	gp := make([]gh, n*K)
	rng := rand.New(rand.NewPCG(opts.Seed, 0x67626474))
	res := &Result{}
	var trees []tree
	best, bestLoss := 0, math.Inf(1)
	for round := 0; round < opts.Rounds; round++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("train round %d: %w", round, err)
		}
		gradients(opts.Objective, opts.maxDeltaStep(), K, train.Labels, margins, gp, opts.Threads)
		for k := 0; k < K; k++ {
			rows := sampleRows(rng, n, opts.Subsample)
			feats := sampleFeatures(rng, nf, opts.ColsampleByTree)
			t := g.grow(rows, feats, gp[k*n:(k+1)*n])
			t.group = k
			trees = append(trees, t)
			if opts.Subsample >= 1 {
				// Every row is in one leaf's rows: add its value there,
				// the same single addition the walk would make.
				// Leaves hold disjoint rows: any split between threads
				// gives the same sums.
				parallel(opts.Threads, len(t.leaves), func(lo, hi int) {
					for _, l := range t.leaves[lo:hi] {
						v := t.nodes[l.node].value
						for _, r := range t.rows[l.lo:l.hi] {
							margins[int(r)*K+k] += v
						}
					}
				})
			} else {
				addTree(margins, bt, &t, K, opts.Threads)
			}
			t.rows, t.leaves = nil, nil
			if bv != nil {
				addTree(vmargins, bv, &t, K, opts.Threads)
			}
		}
		tl, vl := loss(opts.Objective, K, train.Labels, margins, opts.Threads), math.NaN()
		res.TrainLoss = append(res.TrainLoss, tl)
		if valid != nil {
			vl = loss(opts.Objective, K, valid.Labels, vmargins, opts.Threads)
			res.ValidLoss = append(res.ValidLoss, vl)
		}
		if opts.Progress != nil {
			opts.Progress(Round{Iteration: round, TrainLoss: tl, ValidLoss: vl})
		}
		if valid != nil {
			if vl < bestLoss {
				best, bestLoss = round, vl
			} else if opts.EarlyStoppingRounds > 0 && round-best >= opts.EarlyStoppingRounds {
				break
			}
		} else {
			best = round
		}
	}
	if opts.EarlyStoppingRounds > 0 {
		trees = trees[:(best+1)*K]
		res.Rounds = best + 1
	} else {
		res.Rounds = len(trees) / K
	}
	res.BestRound = best
	// The trainer's own predictions of the kept model, from the bins, in
	// the order kernels.Forest sums them.
	res.TrainMargins = margins
	if len(trees) != len(res.TrainLoss)*K { // early stopping dropped rounds
		res.TrainMargins = initMargins(n, K, base)
		for i := range trees {
			addTree(res.TrainMargins, bt, &trees[i], K, opts.Threads)
		}
	}
	imp, err := toImported(trees, cuts, base, train, &opts)
	if err != nil {
		return nil, err
	}
	res.Model = imp
	return res, nil
}

func checkData(name string, d *Dataset, o *Options) error {
	if d.NumFeatures < 1 {
		return fmt.Errorf("%s: NumFeatures is %d, want at least 1", name, d.NumFeatures)
	}
	n := len(d.Labels)
	if n == 0 {
		return fmt.Errorf("%s: no rows", name)
	}
	if len(d.Rows) != n*d.NumFeatures {
		return fmt.Errorf("%s: %d values for %d rows of %d features, want %d", name, len(d.Rows), n, d.NumFeatures, n*d.NumFeatures)
	}
	if d.Names != nil && len(d.Names) != d.NumFeatures {
		return fmt.Errorf("%s: %d names for %d features", name, len(d.Names), d.NumFeatures)
	}
	for r, y := range d.Labels {
		ok := finite(y)
		want := "a finite number"
		switch o.Objective {
		case BinaryLogistic:
			ok, want = y >= 0 && y <= 1, "in [0, 1]"
		case Softprob:
			ok, want = y >= 0 && y < float64(o.NumClasses) && y == math.Trunc(y), fmt.Sprintf("a class index 0 to %d", o.NumClasses-1)
		case Poisson:
			ok, want = y >= 0 && finite(y), "a finite count >= 0"
		}
		if !ok {
			return fmt.Errorf("%s: row %d: label is %v, want %s", name, r, y, want)
		}
	}
	return nil
}

// baseMargin is the starting margin of every group: BaseScore through the
// inverse link, as XGBoost 1.7.4 turns base_score into a margin.
func baseMargin(o *Options) float64 {
	switch o.Objective {
	case BinaryLogistic:
		return -math.Log(1/o.BaseScore - 1)
	case Poisson:
		return math.Log(o.BaseScore)
	}
	return o.BaseScore
}

func initMargins(n, K int, base float64) []float64 {
	m := make([]float64, n*K)
	for i := range m {
		m[i] = base
	}
	return m
}

func sigmoid(m float64) float64 { return 1 / (1 + math.Exp(-m)) }

// gradients fills gp with gradients and hessians (class-major: class k's are [k*n, (k+1)*n))
// from the margins (row-major, K a row).
func gradients(obj Objective, mds float64, K int, y, m []float64, gp []gh, threads int) {
	n := len(y)
	parallel(threads, n, func(lo, hi int) {
		p := make([]float64, K)
		for r := lo; r < hi; r++ {
			switch obj {
			case BinaryLogistic:
				q := sigmoid(m[r])
				gp[r] = gh{q - y[r], max(q*(1-q), 1e-16)}
			case SquaredError:
				gp[r] = gh{m[r] - y[r], 1}
			case Poisson:
				gp[r] = gh{math.Exp(m[r]) - y[r], math.Exp(m[r] + mds)}
			case Softprob:
				softmax(p, m[r*K:(r+1)*K])
				for k := 0; k < K; k++ {
					t := 0.0
					if int(y[r]) == k {
						t = 1
					}
					gp[k*n+r] = gh{p[k] - t, max(2*p[k]*(1-p[k]), 1e-16)}
				}
			}
		}
	})
}

func softmax(p, m []float64) {
	mx := slices.Max(m)
	s := 0.0
	for k, v := range m {
		p[k] = math.Exp(v - mx)
		s += p[k]
	}
	for k := range p {
		p[k] /= s
	}
}

// lossBlock is the number of rows whose loss terms are summed together
// before the blocks' sums are added in order: a fixed split, so the loss
// does not depend on the number of threads.
const lossBlock = 1 << 14

// loss is the objective's default evaluation metric over the margins.
func loss(obj Objective, K int, y, m []float64, threads int) float64 {
	const eps = 1e-16
	nb := (len(y) + lossBlock - 1) / lossBlock
	parts := make([]float64, nb)
	parallel(threads, nb, func(lo, hi int) {
		p := make([]float64, K)
		for b := lo; b < hi; b++ {
			s := 0.0
			for r := b * lossBlock; r < min(len(y), (b+1)*lossBlock); r++ {
				t := y[r]
				switch obj {
				case BinaryLogistic:
					q := min(max(sigmoid(m[r]), eps), 1-eps)
					switch t {
					case 1:
						s -= math.Log(q)
					case 0:
						s -= math.Log(1 - q)
					default:
						s -= t*math.Log(q) + (1-t)*math.Log(1-q)
					}
				case SquaredError:
					d := m[r] - t
					s += d * d
				case Poisson:
					lg, _ := math.Lgamma(t + 1)
					s += math.Exp(m[r]) - t*m[r] + lg
				case Softprob:
					softmax(p, m[r*K:(r+1)*K])
					s -= math.Log(max(p[int(t)], eps))
				}
			}
			parts[b] = s
		}
	})
	s := 0.0
	for _, v := range parts {
		s += v
	}
	s /= float64(len(y))
	if obj == SquaredError {
		return math.Sqrt(s)
	}
	return s
}

// sampleRows returns the ascending rows a tree sees.
func sampleRows(rng *rand.Rand, n int, frac float64) []int32 {
	rows := make([]int32, 0, n)
	for r := 0; r < n; r++ {
		if frac >= 1 || rng.Float64() < frac {
			rows = append(rows, int32(r))
		}
	}
	return rows
}

// sampleFeatures returns the ascending features a tree may split on.
func sampleFeatures(rng *rand.Rand, nf int, frac float64) []int {
	all := make([]int, nf)
	for i := range all {
		all[i] = i
	}
	if frac >= 1 {
		return all
	}
	k := max(1, int(math.Round(frac*float64(nf))))
	rng.Shuffle(nf, func(i, j int) { all[i], all[j] = all[j], all[i] })
	all = all[:k]
	slices.Sort(all)
	return all
}

// addTree adds t's leaf values to the margins of its group.
func addTree(m []float64, b *binned, t *tree, K int, threads int) {
	parallel(threads, b.rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			m[r*K+t.group] += t.leafOf(b.codes[r*b.nf : (r+1)*b.nf])
		}
	})
}

// toImported lays the trees out as a model.Imported served by the kernels.
func toImported(trees []tree, cuts [][]float64, base float64, d *Dataset, o *Options) (*model.Imported, error) {
	K := 1
	if o.Objective == Softprob {
		K = o.NumClasses
	}
	forest := kernels.Forest{NumFeatures: d.NumFeatures, Compare: kernels.LessFloat32}
	for k := 0; k < K; k++ {
		forest.Base = append(forest.Base, base)
	}
	for i := range trees {
		t := &trees[i]
		src := make([]model.SourceNode, len(t.nodes))
		for j, nd := range t.nodes {
			if nd.leaf {
				src[j] = model.SourceNode{Leaf: true, Value: nd.value}
				continue
			}
			s := model.SourceNode{Left: nd.left, Right: nd.right, Feature: nd.feat}
			if int(nd.bin) < len(cuts[nd.feat]) {
				// Left when float32(x) < the cut, as the bins have it.
				s.Value = cuts[nd.feat][nd.bin]
				if nd.defaultLeft {
					s.Flags = kernels.FlagDefaultLeft
				}
			} else {
				if nd.defaultLeft {
					panic("BUG: a split after the last bin sends NaN left too")
				}
				// A split after the last bin sends every non-missing value
				// left and NaN right (the search makes it only so). No
				// float32 threshold is above +Inf, so the children swap:
				// nothing is below -Inf, every value goes to the right
				// child, now the non-missing side, and NaN to the left.
				s.Value = math.Inf(-1)
				s.Left, s.Right = nd.right, nd.left
				s.Flags = kernels.FlagDefaultLeft
			}
			src[j] = s
		}
		if err := model.AppendTree(&forest, src, 0, t.group); err != nil {
			return nil, fmt.Errorf("BUG: tree %d: %w", i, err)
		}
	}
	var task model.Task
	var link model.Link
	switch o.Objective {
	case BinaryLogistic:
		task, link = model.TaskBinary, model.LinkSigmoid
	case SquaredError:
		task, link = model.TaskRegression, model.LinkIdentity
	case Poisson:
		task, link = model.TaskCount, model.LinkExp
	case Softprob:
		task, link = model.TaskMulticlass, model.LinkSoftmax
	}
	trs := &model.Trees{Forest: forest, Link: link, Scale: 1, Divide: 1}
	if err := trs.Prepare(); err != nil {
		return nil, fmt.Errorf("BUG: trained forest is invalid: %w", err)
	}
	feats := make([]model.Feature, d.NumFeatures)
	for f := range feats {
		name := fmt.Sprintf("f%d", f)
		if d.Names != nil {
			name = d.Names[f]
		}
		feats[f] = model.Feature{Name: name, Type: model.FeatureFloat}
	}
	imp := &model.Imported{
		Kind:     model.KindTrees,
		Task:     task,
		Features: feats,
		Model:    trs,
		Source:   model.Source{Format: "predictd-gbdt", Library: "predictd", Objective: string(o.Objective), Booster: "gbtree"},
	}
	if task == model.TaskMulticlass {
		imp.Classes = K
	}
	imp.Outputs, imp.RawOutputs = model.DefaultOutputs(task, K, link)
	return imp, nil
}
