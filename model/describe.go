package model

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Describe writes a readable summary of a loaded version: identity,
// provenance, inputs, outputs (with the class labels, index and quoted
// name, when the version has them) and the payload's shape.
func Describe(w io.Writer, l *Loaded) error {
	m := l.Manifest
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	task := string(m.Task)
	if m.Task == TaskMulticlass {
		task = fmt.Sprintf("%s, %d classes", m.Task, m.Classes)
	}
	fmt.Fprintf(tw, "model\t%s version %d\n", m.Name, m.Version)
	fmt.Fprintf(tw, "folder\t%s\n", l.Dir)
	fmt.Fprintf(tw, "kind\t%s (%s)\n", m.Kind, task)
	fmt.Fprintf(tw, "created\t%s\n", m.Created.Format("2006-01-02 15:04:05 MST"))
	src := m.Source
	lib := src.Library
	if src.LibraryVersion != "" {
		lib += " " + src.LibraryVersion
	}
	fmt.Fprintf(tw, "source\t%s %s (%s)\n", src.Format, src.File, lib)
	switch {
	case src.Booster != "":
		fmt.Fprintf(tw, "\tobjective %s, booster %s\n", src.Objective, src.Booster)
	case src.Objective != "":
		fmt.Fprintf(tw, "\tobjective %s\n", src.Objective)
	}
	fmt.Fprintf(tw, "\tsha256 %s\n", src.SHA256)
	decoded := ""
	if m.Payload.DecodedBytes > 0 {
		decoded = fmt.Sprintf(" (%d decoded)", m.Payload.DecodedBytes)
	}
	fmt.Fprintf(tw, "payload\t%s, %d bytes%s, sha256 %s\n", m.Payload.File, m.Payload.Bytes, decoded, m.Payload.SHA256)
	switch p := l.Model.(type) {
	case *Trees:
		depth := p.Forest.MaxDepth()
		fmt.Fprintf(tw, "trees\t%d trees, %d nodes, max depth %d, link %s\n", len(p.Forest.Roots), len(p.Forest.Nodes), depth, p.Link)
	case *Dense:
		var shape []string
		for _, ly := range p.Layers {
			shape = append(shape, fmt.Sprint(ly.Out))
		}
		fmt.Fprintf(tw, "layers\t%d inputs -> %s, link %s\n", p.NumFeatures(), strings.Join(shape, " -> "), p.Link)
		switch m.DensePrecision() {
		case PrecisionFloat32:
			fmt.Fprintf(tw, "precision\tfloat32 (SIMD kernels: each prediction within %g of its row's largest magnitude of the float64 result, asserted on every fixture)\n", Float32Bound)
		default:
			fmt.Fprintf(tw, "precision\tfloat64 (the source library's arithmetic)\n")
		}
	}
	names := func(os []Output) string {
		var s []string
		for _, o := range os {
			s = append(s, o.Name)
		}
		return strings.Join(s, ", ")
	}
	fmt.Fprintf(tw, "outputs\t%s\n", names(m.Outputs))
	fmt.Fprintf(tw, "raw outputs\t%s\n", names(m.RawOutputs))
	if len(m.ClassLabels) > 0 {
		var s []string
		for k, c := range m.ClassLabels {
			s = append(s, fmt.Sprintf("%d %s", k, Quote(c)))
		}
		fmt.Fprintf(tw, "class labels\t%s\n", strings.Join(s, ", "))
	}
	describeReference(tw, l)
	describeContract(tw, l)
	describeEvaluation(tw, l)
	describeTraining(tw, l)
	what := "features"
	if m.Transform != nil {
		what = "raw inputs"
	}
	fmt.Fprintf(tw, "%s\t%d\n", what, len(m.Features))
	for i, f := range m.Features {
		fmt.Fprintf(tw, "\t%3d  %s (%s)\n", i, f.Name, f.Type)
	}
	if l.Transform != nil {
		describeTransform(tw, l)
	}
	return tw.Flush()
}

// describeTraining writes how a trained version was made (its
// TrainingLineage), or nothing for an imported one.
func describeTraining(w io.Writer, l *Loaded) {
	t, ok, err := ReadTrainingLineage(l.Manifest)
	switch {
	case err != nil:
		fmt.Fprintf(w, "lineage	unreadable: %v\n", err)
		return
	case !ok:
		return
	}
	fmt.Fprintf(w, "lineage	trained by %s %s, %s\n", t.Tool, t.PredictdVersion, t.Created.Format("2006-01-02 15:04:05 MST"))
	if t.Parent != nil {
		fmt.Fprintf(w, "\tretrained from %s\n", t.Parent)
	}
	fmt.Fprintf(w, "\tspec %s, sha256 %s\n", t.Spec, t.SpecSHA256)
	for _, d := range t.Data {
		fmt.Fprintf(w, "\tdata %s: %d rows, %d bytes, sha256 %s\n", d.File, d.Rows, d.Bytes, d.SHA256)
	}
	fmt.Fprintf(w, "\t%d training rows, %d validation rows (fraction %g), seed %d\n", t.TrainRows, t.ValidRows, t.ValidationFraction, t.Seed)
}

// describeTransform lists a trained version's transforms: each feature's
// input columns, steps or encoding, and output columns.
func describeTransform(w io.Writer, l *Loaded) {
	tf := l.Manifest.Transform
	fmt.Fprintf(w, "transform\t%d features -> %d model columns; %s, %d bytes, sha256 %s\n", len(l.Transform.Features()), l.Transform.Width(), tf.File, tf.Bytes, tf.SHA256)
	for _, f := range l.Transform.Features() {
		var ops []string
		for _, st := range f.Steps {
			ops = append(ops, st.Op)
		}
		if f.Encode != nil {
			op := f.Encode.Op
			switch {
			case len(f.Encode.Categories) > 0:
				op += fmt.Sprintf(" (%d categories)", len(f.Encode.Categories))
			case f.Encode.Buckets > 0:
				op += fmt.Sprintf(" (%d buckets)", f.Encode.Buckets)
			}
			ops = append(ops, op)
		}
		if len(ops) == 0 {
			ops = []string{"as is"}
		}
		fmt.Fprintf(w, "\t%s <- %s: %s\n", f.Name, strings.Join(f.Columns, " x "), strings.Join(ops, ", "))
	}
}

// describeReference writes the reference line: what was profiled, or "no
// reference", or why the stored one cannot be read.
func describeReference(w io.Writer, l *Loaded) {
	rf := l.Manifest.Reference
	if rf == nil {
		fmt.Fprintf(w, "reference\tno reference (predictd profile adds one; drift needs it)\n")
		return
	}
	r, err := ReadReference(l.Dir, l.Manifest)
	if err != nil {
		fmt.Fprintf(w, "reference\tunreadable: %v\n", err)
		return
	}
	src := ""
	if r.Source != "" {
		src = " of " + r.Source
	}
	fmt.Fprintf(w, "reference\t%d rows%s, %d features, %d outputs, profiled %s\n", r.Rows, src, len(r.Features), len(r.Outputs), r.Created.Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(w, "\t%s, %d bytes, sha256 %s\n", rf.File, rf.Bytes, rf.SHA256)
}

// describeContract writes the contract line: its columns, or "no
// contract", or why the stored one cannot be read.
func describeContract(w io.Writer, l *Loaded) {
	cf := l.Manifest.Contract
	if cf == nil {
		fmt.Fprintf(w, "contract\tno contract (import --contract adds one; serve enforces or counts it)\n")
		return
	}
	c, err := ReadContract(l.Dir, l.Manifest)
	if err != nil {
		fmt.Fprintf(w, "contract\tunreadable: %v\n", err)
		return
	}
	src := ""
	if cf.Source != "" {
		src = " from " + cf.Source
	}
	cols := "columns"
	if len(c.Columns) == 1 {
		cols = "column"
	}
	fmt.Fprintf(w, "contract\t%d %s%s\n", len(c.Columns), cols, src)
	fmt.Fprintf(w, "\t%s, %d bytes, sha256 %s\n", cf.File, cf.Bytes, cf.SHA256)
}

// describeEvaluation writes the latest recorded evaluation's lineage (what
// it was judged on, when), or nothing when none was recorded.
func describeEvaluation(w io.Writer, l *Loaded) {
	var lin struct {
		Evals []EvaluationLineage `json:"evaluations"`
	}
	if len(l.Manifest.Lineage) == 0 || json.Unmarshal(l.Manifest.Lineage, &lin) != nil || len(lin.Evals) == 0 {
		return
	}
	e := lin.Evals[len(lin.Evals)-1]
	fmt.Fprintf(w, "evaluation\t%d rows of %s (label %s), %s; %d recorded (inspect --json: metrics.evaluation)\n",
		e.Rows, e.Input, e.Label, e.Created.Format("2006-01-02 15:04:05 MST"), len(lin.Evals))
}
