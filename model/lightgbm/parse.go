package lightgbm

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
)

// Parse reads a LightGBM text model (format v2, v3 or v4) and returns it as
// a validated tree-ensemble model. Errors name the line, and inside a tree
// its Tree=N block and field; the caller adds the file name and sets
// Source.File and Source.SHA256.
//
// The layout it reads is LightGBM's GBDT::SaveModelToString: a header of
// key=value lines, one block of key=value lines per tree starting at
// "Tree=N", the line "end of trees", and a trailer (feature importances,
// parameters) of which only [boosting: ...] and [data_sample_strategy: ...]
// are read. Header and tree keys may come in any order; unknown keys are
// ignored, a key given twice is an error.
func Parse(data []byte) (*model.Imported, error) {
	p := parser{sc: scanner{data: data}, fields: make(map[string]field, 24)}
	return p.parse()
}

// field is the value of one key=value line and where it was.
type field struct {
	val  string
	line int
}

// header holds what the trees and the result need from the header.
type header struct {
	version    string
	maxFeature int
	names      []string
	numClass   int
	perIter    int // num_tree_per_iteration
	obj        objective
	objText    string
	average    bool
	sizes      []int64 // tree_sizes, nil when absent
	sizesLine  int
	perIterSrc int    // line of num_tree_per_iteration, or of num_class when absent
	perIterKey string // which of the two it is
}

// maxObjectiveBytes bounds the objective line, which the manifest keeps:
// LightGBM writes a name and a few parameters.
const maxObjectiveBytes = 1024

// block is where a Tree= block lies in the file, for tree_sizes.
type block struct {
	line  int   // of its Tree= line
	bytes int64 // from its Tree= line to the next Tree= or "end of trees"
	lf    int64 // the same with each "\r\n" counted as one byte
}

type parser struct {
	sc      scanner
	hdr     header
	f       kernels.Forest
	catFeat []bool // features used by a categorical split
	nTrees  int
	blocks  []block
	// leavesOutside01 records a leaf value outside [0, 1] (see rfLink).
	leavesOutside01 bool

	// per-tree scratch, reused
	fields map[string]field
	toks   []string
	nodes  []model.SourceNode
}

func (p *parser) parse() (*model.Imported, error) {
	first, _ := p.sc.next()
	first = strings.TrimSpace(strings.TrimPrefix(first, "\ufeff"))
	if first != "tree" {
		return nil, fmt.Errorf("line 1: got %s, want \"tree\": not a LightGBM text model", model.Quote(first))
	}
	if err := p.header(); err != nil {
		return nil, err
	}
	endLine, err := p.trees()
	if err != nil {
		return nil, err
	}
	h := &p.hdr
	if p.nTrees == 0 {
		return nil, fmt.Errorf("line %d: the model has no trees", endLine)
	}
	if h.sizes != nil && len(h.sizes) != p.nTrees {
		return nil, fmt.Errorf("line %d: tree_sizes lists %d trees, but the file has %d Tree= blocks (truncated or edited?)", h.sizesLine, len(h.sizes), p.nTrees)
	}
	// LightGBM finds each tree by these sizes, so a size that does not
	// match its block means the file was edited after it was written. A
	// file whose line endings were turned into CRLF keeps its sizes.
	for i, want := range h.sizes {
		if b := p.blocks[i]; want != b.bytes && want != b.lf {
			return nil, fmt.Errorf("line %d: tree_sizes[%d] = %d, but the Tree=%d block (line %d) is %d bytes: the file was edited after LightGBM wrote it; correct tree_sizes or delete the line", h.sizesLine, i, want, i, b.line, b.bytes)
		}
	}
	if p.nTrees < h.perIter {
		return nil, fmt.Errorf("line %d: %s = %d, but the file has %d trees, fewer than one iteration's", h.perIterSrc, h.perIterKey, h.perIter, p.nTrees)
	}
	if p.nTrees%h.perIter != 0 {
		return nil, fmt.Errorf("line %d: the file has %d trees, not a multiple of num_tree_per_iteration = %d", endLine, p.nTrees, h.perIter)
	}
	// Allocated only now that the trees bound it: num_class=1000000000
	// in a small file must cost nothing.
	p.f.Base = make([]float64, h.perIter)
	boosting, sampling := p.trailer()

	t := &model.Trees{Forest: p.f, Link: h.obj.link, Scale: h.obj.scale, Divide: 1}
	if h.average {
		// GBDT::PredictRaw divides by num_iteration_for_pred_, the number
		// of iterations, before the objective's ConvertOutput.
		t.Divide = float64(p.nTrees / h.perIter)
		if t.Link, err = p.rfLink(); err != nil {
			return nil, err
		}
	}
	if err := t.Prepare(); err != nil {
		// Everything Validate checks is checked above with a line number;
		// reaching here means the two disagree.
		return nil, fmt.Errorf("BUG: imported forest fails validation: %w", err)
	}

	feats := make([]model.Feature, len(h.names))
	for i, n := range h.names {
		feats[i] = model.Feature{Name: n, Type: model.FeatureFloat}
		if p.catFeat[i] {
			feats[i].Type = model.FeatureCategorical
		}
	}
	imp := &model.Imported{
		Kind:     model.KindTrees,
		Task:     h.obj.task,
		Features: feats,
		Source: model.Source{
			Format:         "lightgbm-text",
			Library:        "lightgbm",
			LibraryVersion: "model format " + h.version,
			Objective:      h.objText,
			Booster:        booster(boosting, sampling, h.average),
		},
		Model: t,
	}
	if h.obj.task == model.TaskMulticlass {
		imp.Classes = h.perIter
	}
	imp.Outputs, imp.RawOutputs = model.DefaultOutputs(h.obj.task, h.perIter, t.Link)
	return imp, nil
}

// rfLink is the link of a random forest (average_output), by the LightGBM
// that wrote the file. LightGBM 2.2.3 (February 2019; pull request #1906,
// fixing issue #1843) changed random forests: before it, a binary forest
// stored each leaf as a probability (the sigmoid of its raw output) and
// GBDT::Predict returned the plain average of the trees, without the
// objective's ConvertOutput; from it on, leaves are raw scores and the
// average goes through ConvertOutput, as for boosting. Formats v3 and v4
// (LightGBM 3 and later) are always the latter. Format v2 was written by
// both, and the file does not record which release wrote it; its leaves
// tell: a binary forest from 2.2.2 or earlier has every leaf in [0, 1],
// one from 2.2.3 on has raw scores, which in a trained forest fall on both
// sides of 0 (they all lie in [0, 1] only if no leaf ever predicts below
// 0.5 nor above 0.73). So a v2 binary forest with every leaf in [0, 1] is
// read as probabilities, averaged (model.LinkProbability); any other as
// from 2.2.3 on. A v2 forest with another objective that transforms its
// output (multiclass, cross_entropy, poisson, ...) is refused: which
// releases stored what for those is not established. Identity objectives
// (regression) predict the same either way.
func (p *parser) rfLink() (model.Link, error) {
	h := &p.hdr
	if h.version != "v2" || h.obj.link == model.LinkIdentity {
		return h.obj.link, nil
	}
	if h.obj.task == model.TaskBinary && h.obj.link == model.LinkSigmoid {
		if p.leavesOutside01 {
			return h.obj.link, nil
		}
		return model.LinkProbability, nil
	}
	return "", fmt.Errorf("a random forest (average_output) in format v2 with objective %s: LightGBM 2.2.2 and earlier averaged such a forest's outputs without the objective's transform, 2.2.3 and later apply it, and a v2 file does not say which release wrote it; load it in the LightGBM that trained it and save it again with LightGBM 3 or later (format v3 or v4), after checking its predictions there", model.Quote(h.objText))
}

// header reads the key=value lines up to the first Tree= block (or "end of
// trees") and checks them.
func (p *parser) header() error {
	kv := make(map[string]field, 16)
	for {
		line, ok := p.sc.next()
		if !ok {
			return fmt.Errorf("line %d: file ends in the header, before any Tree= block or \"end of trees\" (truncated?)", p.sc.line)
		}
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		if strings.HasPrefix(t, "Tree=") || t == "end of trees" {
			p.sc.unread()
			break
		}
		// A key without '=' (average_output) is present with an empty value.
		k, v, _ := strings.Cut(t, "=")
		k = strings.TrimSpace(k)
		if prev, dup := kv[k]; dup {
			return fmt.Errorf("line %d: %s appears twice (first on line %d)", p.sc.line, model.Quote(k), prev.line)
		}
		kv[k] = field{strings.TrimSpace(v), p.sc.line}
	}
	endLine := p.sc.line + 1 // the line that ended the header
	missing := func(key string) error {
		return fmt.Errorf("line %d: the header has no %s= line", endLine, key)
	}

	h := &p.hdr
	ver, ok := kv["version"]
	if !ok {
		return missing("version")
	}
	switch ver.val {
	case "v2", "v3", "v4":
		h.version = ver.val
	default:
		return fmt.Errorf("line %d: version: %s is not a model format this importer reads (want v2, v3 or v4)", ver.line, model.Quote(ver.val))
	}

	nc, ok := kv["num_class"]
	if !ok {
		return missing("num_class")
	}
	var err error
	if h.numClass, err = atoi(nc, "num_class", 1, math.MaxInt32); err != nil {
		return err
	}
	h.perIter, h.perIterSrc, h.perIterKey = h.numClass, nc.line, "num_class"
	if f, ok := kv["num_tree_per_iteration"]; ok {
		if h.perIter, err = atoi(f, "num_tree_per_iteration", 1, math.MaxInt32); err != nil {
			return err
		}
		h.perIterSrc, h.perIterKey = f.line, "num_tree_per_iteration"
	}
	if f, ok := kv["label_index"]; ok {
		if _, err := atoi(f, "label_index", math.MinInt32, math.MaxInt32); err != nil {
			return err
		}
	}

	mf, ok := kv["max_feature_idx"]
	if !ok {
		return missing("max_feature_idx")
	}
	if h.maxFeature, err = atoi(mf, "max_feature_idx", 0, math.MaxInt32-1); err != nil {
		return err
	}
	fn, ok := kv["feature_names"]
	if !ok {
		return missing("feature_names")
	}
	h.names = splitSpaces(fn.val, nil)
	if len(h.names) != h.maxFeature+1 {
		return fmt.Errorf("line %d: feature_names has %d names, want max_feature_idx+1 = %d (line %d)", fn.line, len(h.names), h.maxFeature+1, mf.line)
	}
	seen := make(map[string]int, len(h.names))
	for i, n := range h.names {
		if j, dup := seen[n]; dup {
			return fmt.Errorf("line %d: feature_names: %s is both feature %d and feature %d", fn.line, model.Quote(n), j, i)
		}
		seen[n] = i
	}
	if fi, ok := kv["feature_infos"]; ok {
		if n := len(splitSpaces(fi.val, nil)); n != h.maxFeature+1 {
			return fmt.Errorf("line %d: feature_infos has %d entries, want max_feature_idx+1 = %d (line %d)", fi.line, n, h.maxFeature+1, mf.line)
		}
	}

	obj, ok := kv["objective"]
	if !ok {
		return fmt.Errorf("line %d: the header has no objective= line: the model was trained with a custom objective, or the header is incomplete; add objective=<name> (e.g. objective=binary sigmoid:1) to say how margins become predictions", endLine)
	}
	if len(obj.val) > maxObjectiveBytes {
		return fmt.Errorf("line %d: objective is %d bytes, more than the %d this importer reads: %s", obj.line, len(obj.val), maxObjectiveBytes, model.Quote(obj.val))
	}
	if h.obj, err = parseObjective(obj); err != nil {
		return err
	}
	h.objText = obj.val
	if h.obj.perClass {
		if h.numClass < 2 || h.perIter != h.numClass {
			return fmt.Errorf("line %d: objective %s needs num_class >= 2 and num_tree_per_iteration = num_class, header has num_class = %d and num_tree_per_iteration = %d (line %d)", obj.line, h.obj.name, h.numClass, h.perIter, h.perIterSrc)
		}
		if h.obj.numClass != 0 && h.obj.numClass != h.numClass {
			return fmt.Errorf("line %d: objective: num_class:%d disagrees with num_class = %d on line %d", obj.line, h.obj.numClass, h.numClass, nc.line)
		}
	} else if h.perIter != 1 {
		return fmt.Errorf("line %d: objective %s has one output, but num_tree_per_iteration = %d (line %d); want 1", obj.line, h.obj.name, h.perIter, h.perIterSrc)
	} else if h.numClass != 1 {
		return fmt.Errorf("line %d: num_class = %d, but objective %s (line %d) has one output; want 1", nc.line, h.numClass, h.obj.name, obj.line)
	}

	_, h.average = kv["average_output"]

	if ts, ok := kv["tree_sizes"]; ok {
		toks := splitSpaces(ts.val, nil)
		h.sizes, h.sizesLine = make([]int64, len(toks)), ts.line
		for i, s := range toks {
			n, err := strconv.ParseUint(s, 10, 63)
			if err != nil || n == 0 {
				return fmt.Errorf("line %d: tree_sizes[%d]: %s is not a positive integer", ts.line, i, model.Quote(s))
			}
			h.sizes[i] = int64(n)
		}
	}

	p.f = kernels.Forest{
		NumFeatures: h.maxFeature + 1,
		Compare:     kernels.LessEqFloat64,
	}
	p.catFeat = make([]bool, h.maxFeature+1)
	return nil
}

// trees reads the Tree= blocks up to "end of trees" and returns that line's
// number. It records where each block lies in p.blocks.
func (p *parser) trees() (int, error) {
	// A block runs from its Tree= line to the start of the next Tree= or
	// "end of trees" line, blank lines included, as LightGBM counts it.
	start := -1
	end := func(at int) {
		if start >= 0 {
			b := &p.blocks[len(p.blocks)-1]
			b.bytes = int64(at - start)
			b.lf = b.bytes - int64(bytes.Count(p.sc.data[start:at], []byte("\r\n")))
		}
	}
	for {
		line, ok := p.sc.next()
		if !ok {
			return 0, fmt.Errorf("line %d: file ends without an \"end of trees\" line (truncated?)", p.sc.line)
		}
		t := strings.TrimSpace(line)
		switch {
		case t == "":
		case t == "end of trees":
			end(p.sc.prevPos)
			return p.sc.line, nil
		case strings.HasPrefix(t, "Tree="):
			end(p.sc.prevPos)
			start = p.sc.prevPos
			p.blocks = append(p.blocks, block{line: p.sc.line})
			if err := p.tree(t); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("line %d: got %s between trees, want Tree=N or \"end of trees\"", p.sc.line, model.Quote(t))
		}
	}
}

// tree reads one Tree= block, whose first line is head, and appends the tree
// to the forest.
func (p *parser) tree(head string) error {
	headLine := p.sc.line
	label, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(head, "Tree=")))
	if err != nil || label < 0 {
		return fmt.Errorf("line %d: %s: the tree index is not a non-negative integer", headLine, model.Quote(head))
	}
	if label != p.nTrees {
		return fmt.Errorf("line %d: Tree=%d, want Tree=%d: the trees are numbered 0, 1, 2, ... in file order", headLine, label, p.nTrees)
	}
	clear(p.fields)
	for {
		line, ok := p.sc.next()
		if !ok {
			return fmt.Errorf("line %d: file ends inside Tree=%d, without an \"end of trees\" line (truncated?)", p.sc.line, label)
		}
		t := strings.TrimSpace(line)
		if t == "" {
			break
		}
		if strings.HasPrefix(t, "Tree=") || t == "end of trees" {
			p.sc.unread()
			break
		}
		k, v, found := strings.Cut(t, "=")
		if !found {
			return fmt.Errorf("line %d: Tree=%d: %s is not a key=value line", p.sc.line, label, model.Quote(t))
		}
		k = strings.TrimSpace(k)
		if prev, dup := p.fields[k]; dup {
			return fmt.Errorf("line %d: Tree=%d: %s appears twice (first on line %d)", p.sc.line, label, model.Quote(k), prev.line)
		}
		p.fields[k] = field{strings.TrimSpace(v), p.sc.line}
	}
	tb := treeBlock{p: p, label: label, head: headLine}
	if err := tb.build(); err != nil {
		return err
	}
	p.nTrees++
	return nil
}

// treeBlock is one Tree= block being turned into forest nodes.
type treeBlock struct {
	p     *parser
	label int
	head  int // line of Tree=N
}

func (t *treeBlock) errf(line int, format string, args ...any) error {
	return fmt.Errorf("line %d: Tree=%d: %s", line, t.label, fmt.Sprintf(format, args...))
}

// get returns a field that must be present.
func (t *treeBlock) get(key string) (field, error) {
	f, ok := t.p.fields[key]
	if !ok {
		return f, t.errf(t.head, "no %s line", key)
	}
	return f, nil
}

// list splits a required array field and checks it has want values.
func (t *treeBlock) list(key string, want int, wantExpr string) ([]string, field, error) {
	f, err := t.get(key)
	if err != nil {
		return nil, f, err
	}
	t.p.toks = splitSpaces(f.val, t.p.toks[:0])
	if len(t.p.toks) != want {
		return nil, f, t.errf(f.line, "%s has %d values, want %s = %d", key, len(t.p.toks), wantExpr, want)
	}
	return t.p.toks, f, nil
}

func (t *treeBlock) ints(key string, want int, wantExpr string) ([]int, int, error) {
	toks, f, err := t.list(key, want, wantExpr)
	if err != nil {
		return nil, f.line, err
	}
	out := make([]int, len(toks))
	for i, s := range toks {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, f.line, t.errf(f.line, "%s[%d]: %s is not a 32-bit integer", key, i, model.Quote(s))
		}
		out[i] = int(n)
	}
	return out, f.line, nil
}

func (t *treeBlock) floats(key string, want int, wantExpr string) ([]float64, int, error) {
	toks, f, err := t.list(key, want, wantExpr)
	if err != nil {
		return nil, f.line, err
	}
	out := make([]float64, len(toks))
	for i, s := range toks {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return nil, f.line, t.errf(f.line, "%s[%d]: %s is out of float64 range", key, i, model.Quote(s))
			}
			return nil, f.line, t.errf(f.line, "%s[%d]: %s is not a number", key, i, model.Quote(s))
		}
		out[i] = v
	}
	return out, f.line, nil
}

// scalar reads a required or optional integer field.
func (t *treeBlock) scalar(key string, required bool, def, lo, hi int) (int, error) {
	f, ok := t.p.fields[key]
	if !ok {
		if required {
			return 0, t.errf(t.head, "no %s line", key)
		}
		return def, nil
	}
	n, err := strconv.Atoi(f.val)
	if err != nil {
		return 0, t.errf(f.line, "%s: %s is not an integer", key, model.Quote(f.val))
	}
	if n < lo || n > hi {
		return 0, t.errf(f.line, "%s = %d is out of range [%d, %d]", key, n, lo, hi)
	}
	return n, nil
}

// build checks the block's fields and appends its tree to the forest.
func (t *treeBlock) build() error {
	p := t.p
	nl, err := t.scalar("num_leaves", true, 0, 1, math.MaxInt32)
	if err != nil {
		return err
	}
	// Tree::Tree reads is_linear as an integer cast to bool; LightGBM
	// writes 0 or 1, and only those are accepted.
	linear, err := t.scalar("is_linear", false, 0, 0, 1)
	if err != nil {
		return err
	}
	numCat, err := t.scalar("num_cat", false, 0, 0, math.MaxInt32-1)
	if err != nil {
		return err
	}
	leaves, leafLine, err := t.floats("leaf_value", nl, "num_leaves")
	if err != nil {
		return err
	}
	for i, v := range leaves {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return t.errf(leafLine, "leaf_value[%d] = %v is not a finite number", i, v)
		}
		if v < 0 || v > 1 {
			p.leavesOutside01 = true
		}
	}
	group := p.nTrees % p.hdr.perIter
	if len(p.f.Nodes)+2*nl-1 > math.MaxInt32 {
		return t.errf(t.head, "the model has more than %d nodes", math.MaxInt32)
	}

	if nl == 1 {
		// Tree::Tree stops reading at a single leaf, unless it is linear:
		// the split fields are empty or absent. Tree::Predict evaluates a
		// single linear leaf's model like any other.
		p.nodes = append(p.nodes[:0], model.SourceNode{Leaf: true, Value: leaves[0]})
		if linear == 1 {
			if err := t.linear(p.nodes); err != nil {
				return err
			}
		}
		if err := model.AppendTree(&p.f, p.nodes, 0, group); err != nil {
			return t.errf(t.head, "%v", err)
		}
		return nil
	}

	n := nl - 1 // internal nodes
	want := "num_leaves-1"
	feat, featLine, err := t.ints("split_feature", n, want)
	if err != nil {
		return err
	}
	thr, thrLine, err := t.floats("threshold", n, want)
	if err != nil {
		return err
	}
	dt := make([]int, n) // absent: all 0, as Tree::Tree defaults it
	dtLine := t.head
	if _, ok := p.fields["decision_type"]; ok {
		if dt, dtLine, err = t.ints("decision_type", n, want); err != nil {
			return err
		}
	}
	left, leftLine, err := t.ints("left_child", n, want)
	if err != nil {
		return err
	}
	right, rightLine, err := t.ints("right_child", n, want)
	if err != nil {
		return err
	}

	// Category sets: set k of this tree becomes forest set setBase+k.
	setBase := 0
	if numCat > 0 {
		bounds, bLine, err := t.ints("cat_boundaries", numCat+1, "num_cat+1")
		if err != nil {
			return err
		}
		if bounds[0] != 0 {
			return t.errf(bLine, "cat_boundaries[0] = %d, want 0", bounds[0])
		}
		for k := 1; k <= numCat; k++ {
			if bounds[k] < bounds[k-1] {
				return t.errf(bLine, "cat_boundaries[%d] = %d is less than cat_boundaries[%d] = %d", k, bounds[k], k-1, bounds[k-1])
			}
		}
		words, cLine, err := t.uint32s("cat_threshold", bounds[numCat], fmt.Sprintf("cat_boundaries[%d]", numCat))
		if err != nil {
			return err
		}
		if len(p.f.CatSets)+len(words) > math.MaxInt32 {
			return t.errf(cLine, "the model has more than %d category-set words", math.MaxInt32)
		}
		if len(p.f.CatBounds) == 0 {
			p.f.CatBounds = append(p.f.CatBounds, 0)
		}
		setBase = len(p.f.CatBounds) - 1
		for k := 0; k < numCat; k++ {
			p.f.CatSets = append(p.f.CatSets, words[bounds[k]:bounds[k+1]]...)
			p.f.CatBounds = append(p.f.CatBounds, int32(len(p.f.CatSets)))
		}
	}

	if cap(p.nodes) < n+nl {
		p.nodes = make([]model.SourceNode, n+nl)
	}
	nodes := p.nodes[:n+nl]
	// child maps LightGBM's child encoding (c >= 0: internal node c; c < 0:
	// leaf ~c) to an index into nodes, where leaves follow the n splits.
	child := func(key string, line, i, c int) (int, error) {
		if c >= 0 {
			if c >= n {
				return 0, t.errf(line, "%s[%d] = %d refers to internal node %d, but the tree has %d (num_leaves-1)", key, i, c, c, n)
			}
			return c, nil
		}
		if leaf := ^c; leaf < nl {
			return n + leaf, nil
		}
		return 0, t.errf(line, "%s[%d] = %d refers to leaf %d, but the tree has %d (num_leaves)", key, i, c, ^c, nl)
	}
	// Each node but the root must be the child of exactly one split, as in
	// a tree LightGBM wrote; a second reference would make AppendTree see a
	// shared subtree or a cycle, named here in LightGBM's own terms.
	parent := make([]int32, n+nl) // 1 + slot of the first reference, 0 for none
	parent[0] = -1                // the root
	ref := func(key string, line, i, c, idx, slot int) error {
		switch prev := parent[idx]; {
		case prev < 0:
			return t.errf(line, "%s[%d] = %d refers to node 0, the root", key, i, c)
		case prev > 0:
			what := fmt.Sprintf("node %d", c)
			if c < 0 {
				what = fmt.Sprintf("leaf %d", ^c)
			}
			pk := "left_child"
			if (prev-1)%2 == 1 {
				pk = "right_child"
			}
			return t.errf(line, "%s[%d] = %d refers to %s, already the child of node %d (%s[%d])", key, i, c, what, (prev-1)/2, pk, (prev-1)/2)
		}
		parent[idx] = int32(slot + 1)
		return nil
	}
	for i := 0; i < n; i++ {
		f := feat[i]
		if f < 0 {
			return t.errf(featLine, "split_feature[%d] = %d is negative", i, f)
		}
		if f > p.hdr.maxFeature {
			return t.errf(featLine, "split_feature[%d] = %d is past max_feature_idx = %d", i, f, p.hdr.maxFeature)
		}
		d := dt[i]
		if d < 0 || d > 15 {
			return t.errf(dtLine, "decision_type[%d] = %d sets bits LightGBM does not define (want 0..15)", i, d)
		}
		nd := model.SourceNode{Feature: f, Value: thr[i]}
		if d&1 != 0 {
			// Categorical: the threshold is the index of the split's
			// set among this tree's cat_boundaries.
			k := thr[i]
			if !(k >= 0 && k < float64(numCat) && k == math.Trunc(k)) {
				return t.errf(thrLine, "threshold[%d] = %v is not a category set index in [0, num_cat = %d)", i, k, numCat)
			}
			nd.Flags = kernels.FlagCategorical
			nd.Value = float64(setBase + int(k))
			p.catFeat[f] = true
		} else {
			if math.IsNaN(thr[i]) {
				return t.errf(thrLine, "threshold[%d] is NaN", i)
			}
			switch (d >> 2) & 3 {
			case 0: // MissingType::None: NaN counts as 0, no default direction
				nd.Flags = kernels.FlagNaNIsZero
			case 1: // MissingType::Zero
				nd.Flags = kernels.FlagMissingZero
			case 2: // MissingType::NaN: only NaN takes the default direction
			default:
				return t.errf(dtLine, "decision_type[%d] = %d has missing type 3, which LightGBM does not define", i, d)
			}
			if d&2 != 0 && nd.Flags != kernels.FlagNaNIsZero {
				nd.Flags |= kernels.FlagDefaultLeft
			}
		}
		if nd.Left, err = child("left_child", leftLine, i, left[i]); err != nil {
			return err
		}
		if err := ref("left_child", leftLine, i, left[i], nd.Left, 2*i); err != nil {
			return err
		}
		if nd.Right, err = child("right_child", rightLine, i, right[i]); err != nil {
			return err
		}
		if err := ref("right_child", rightLine, i, right[i], nd.Right, 2*i+1); err != nil {
			return err
		}
		nodes[i] = nd
	}
	for j, v := range leaves {
		nodes[n+j] = model.SourceNode{Leaf: true, Value: v}
	}
	if linear == 1 {
		if err := t.linear(nodes[n:]); err != nil {
			return err
		}
	}
	if err := model.AppendTree(&p.f, nodes, 0, group); err != nil {
		return t.errf(leftLine, "left_child/right_child: %v", err)
	}
	return nil
}

// linear reads the linear models of a tree with is_linear=1 into its leaves,
// leaves[j] being the file's leaf j, as Tree::Tree reads them: leaf_const
// and num_features have a value per leaf; leaf_features and leaf_coeff hold
// the leaves' terms back to back, leaf j taking the next num_features[j].
// (Tree::ToString ends each leaf's terms with two spaces, one for a leaf
// without terms; like Tree::Tree, this ignores how the spaces group them.)
// All four fields are required: LightGBM writes them for every linear tree.
func (t *treeBlock) linear(leaves []model.SourceNode) error {
	nl := len(leaves)
	consts, constLine, err := t.floats("leaf_const", nl, "num_leaves")
	if err != nil {
		return err
	}
	for j, v := range consts {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return t.errf(constLine, "leaf_const[%d] = %v is not a finite number", j, v)
		}
	}
	counts, countLine, err := t.ints("num_features", nl, "num_leaves")
	if err != nil {
		return err
	}
	total := 0
	for j, c := range counts {
		if c < 0 {
			return t.errf(countLine, "num_features[%d] = %d is negative", j, c)
		}
		total += c // checked as it grows: no overflow
		if len(t.p.f.LinFeatures)+total > math.MaxInt32 {
			return t.errf(countLine, "the model has more than %d linear terms", math.MaxInt32)
		}
	}
	sum := fmt.Sprintf("the sum of num_features (line %d)", countLine)
	feats, featLine, err := t.ints("leaf_features", total, sum)
	if err != nil {
		return err
	}
	for i, f := range feats {
		if f < 0 || f > t.p.hdr.maxFeature {
			return t.errf(featLine, "leaf_features[%d] = %d is not a feature in [0, max_feature_idx = %d]", i, f, t.p.hdr.maxFeature)
		}
	}
	coeffs, coeffLine, err := t.floats("leaf_coeff", total, sum)
	if err != nil {
		return err
	}
	for i, v := range coeffs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return t.errf(coeffLine, "leaf_coeff[%d] = %v is not a finite number", i, v)
		}
	}
	off := 0
	for j := range leaves {
		end := off + counts[j]
		l := &leaves[j]
		l.Linear = true
		l.LinConst = consts[j]
		l.LinFeatures = feats[off:end:end]
		l.LinCoeffs = coeffs[off:end:end]
		off = end
	}
	return nil
}

func (t *treeBlock) uint32s(key string, want int, wantExpr string) ([]uint32, int, error) {
	toks, f, err := t.list(key, want, wantExpr)
	if err != nil {
		return nil, f.line, err
	}
	out := make([]uint32, len(toks))
	for i, s := range toks {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return nil, f.line, t.errf(f.line, "%s[%d]: %s is not a 32-bit unsigned integer", key, i, model.Quote(s))
		}
		out[i] = uint32(n)
	}
	return out, f.line, nil
}

// trailer reads what follows "end of trees" for the boosting type. It never
// fails: the trailer is informational and its layout varies by version.
func (p *parser) trailer() (boosting, sampling string) {
	in := false
	for {
		line, ok := p.sc.next()
		if !ok {
			return
		}
		t := strings.TrimSpace(line)
		switch {
		case t == "parameters:":
			in = true
		case t == "end of parameters":
			return
		case in && strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]"):
			k, v, _ := strings.Cut(t[1:len(t)-1], ":")
			switch strings.TrimSpace(k) {
			case "boosting":
				boosting = strings.TrimSpace(v)
			case "data_sample_strategy":
				sampling = strings.TrimSpace(v)
			}
		}
	}
}

// booster names the ensemble method from the [boosting: ...] parameter, or
// from average_output when the parameters are absent.
func booster(boosting, sampling string, average bool) string {
	b := "gbdt"
	if average {
		b = "rf"
	}
	switch boosting {
	case "":
	case "gbdt", "gbrt":
		b = "gbdt"
	case "rf", "random_forest":
		b = "rf"
	default: // dart, goss, or a name a later LightGBM adds
		b = "other"
		if len(boosting) <= 32 && strings.Trim(boosting, "abcdefghijklmnopqrstuvwxyz0123456789_") == "" {
			b = boosting
		}
	}
	// LightGBM 4 moved GOSS from boosting=goss to data_sample_strategy.
	if b == "gbdt" && sampling == "goss" {
		b = "goss"
	}
	return b
}

func atoi(f field, key string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(f.val)
	if err != nil {
		return 0, fmt.Errorf("line %d: %s: %s is not an integer", f.line, key, model.Quote(f.val))
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("line %d: %s = %d is out of range [%d, %d]", f.line, key, n, lo, hi)
	}
	return n, nil
}

// splitSpaces appends the space-separated tokens of s to dst, skipping empty
// ones, as LightGBM's Common::Split(str, ' ') does.
func splitSpaces(s string, dst []string) []string {
	for s != "" {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			return append(dst, s)
		}
		if i > 0 {
			dst = append(dst, s[:i])
		}
		s = s[i+1:]
	}
	return dst
}

// scanner splits data into lines, numbering them from 1 and dropping the
// line ending ("\n" or "\r\n").
type scanner struct {
	data     []byte
	pos      int
	line     int
	prevPos  int
	prevLine int
}

func (s *scanner) next() (string, bool) {
	if s.pos >= len(s.data) {
		return "", false
	}
	s.prevPos, s.prevLine = s.pos, s.line
	rest := s.data[s.pos:]
	i := bytes.IndexByte(rest, '\n')
	if i < 0 {
		i = len(rest)
		s.pos = len(s.data)
	} else {
		s.pos += i + 1
	}
	s.line++
	return string(bytes.TrimSuffix(rest[:i], []byte{'\r'})), true
}

// unread steps back over the line next last returned.
func (s *scanner) unread() {
	s.pos, s.line = s.prevPos, s.prevLine
}
