// Command widen makes bench/monitor.sh's 40-feature model from the committed
// 20-feature benchmark model (testdata/xgboost/gbtree_binary_logistic_300x6),
// with no Python: issue 14's monitoring budget is stated for "the 300-tree
// model with 40 features", and the fixture has 20.
//
// The model keeps every tree, threshold and leaf; each split node of tree t
// at index i that read feature j now reads j + n·((t+i) mod k) (n the old
// feature count, k the factor), so every new feature is split on and the
// trees stay as deep as they were. Row r of the output is rows r, r+1, ...,
// r+k-1 (mod the row count) of the input side by side, so each new column
// has the marginal distribution of the column it copies, which is what the
// trees' thresholds were learned on.
//
//	go run ./bench/widen --model M.json --rows R.csv --factor 2 --out-model W.json --out-rows W.csv
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
)

func main() {
	modelIn := flag.String("model", "", "XGBoost JSON model (gbtree, numeric splits)")
	rowsIn := flag.String("rows", "", "its rows: CSV with a header, one column per feature")
	factor := flag.Int("factor", 2, "the new feature count over the old")
	modelOut := flag.String("out-model", "", "the widened model")
	rowsOut := flag.String("out-rows", "", "the widened rows")
	flag.Parse()
	if *modelIn == "" || *rowsIn == "" || *modelOut == "" || *rowsOut == "" || *factor < 1 {
		flag.Usage()
		os.Exit(2)
	}
	n, err := widenModel(*modelIn, *modelOut, *factor)
	if err != nil {
		log.Fatalf("widen: %v", err)
	}
	if err := widenRows(*rowsIn, *rowsOut, n, *factor); err != nil {
		log.Fatalf("widen: %v", err)
	}
}

// widenModel rewrites the model and returns its old feature count.
func widenModel(in, out string, k int) (int, error) {
	raw, err := os.ReadFile(in)
	if err != nil {
		return 0, err
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // thresholds and leaves written back digit for digit
	if err := dec.Decode(&doc); err != nil {
		return 0, fmt.Errorf("%s: %v", in, err)
	}
	learner, _ := doc["learner"].(map[string]any)
	param, _ := learner["learner_model_param"].(map[string]any)
	nf, _ := param["num_feature"].(string)
	n, err := strconv.Atoi(nf)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s: learner_model_param.num_feature %q", in, nf)
	}
	if names, _ := learner["feature_names"].([]any); len(names) > 0 {
		return 0, fmt.Errorf("%s: named features are not handled (the rows' header is f0, f1, ...)", in)
	}
	param["num_feature"] = strconv.Itoa(n * k)
	gb, _ := learner["gradient_booster"].(map[string]any)
	if name, _ := gb["name"].(string); name != "gbtree" {
		return 0, fmt.Errorf("%s: booster %q: want gbtree", in, name)
	}
	gm, _ := gb["model"].(map[string]any)
	trees, _ := gm["trees"].([]any)
	if len(trees) == 0 {
		return 0, fmt.Errorf("%s: no trees", in)
	}
	for t, tv := range trees {
		tree, _ := tv.(map[string]any)
		left, _ := tree["left_children"].([]any)
		split, _ := tree["split_indices"].([]any)
		if len(left) != len(split) {
			return 0, fmt.Errorf("%s: tree %d: %d children, %d split indices", in, t, len(left), len(split))
		}
		if st, _ := tree["split_type"].([]any); len(st) > 0 {
			for _, s := range st {
				if s.(json.Number).String() != "0" {
					return 0, fmt.Errorf("%s: tree %d: a categorical split", in, t)
				}
			}
		}
		for i := range split {
			if left[i].(json.Number).String() == "-1" {
				continue // a leaf: its index means nothing
			}
			j, err := split[i].(json.Number).Int64()
			if err != nil {
				return 0, fmt.Errorf("%s: tree %d node %d: %v", in, t, i, err)
			}
			split[i] = json.Number(strconv.FormatInt(j+int64(n*((t+i)%k)), 10))
		}
		if tp, ok := tree["tree_param"].(map[string]any); ok {
			tp["num_feature"] = strconv.Itoa(n * k)
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return 0, err
	}
	return n, os.WriteFile(out, b, 0o644)
}

// widenRows writes row r as rows r..r+k-1 side by side, header f0..f(n·k-1).
func widenRows(in, out string, n, k int) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) < 2 {
		return fmt.Errorf("%s: no rows", in)
	}
	rows := lines[1:]
	for i, r := range rows {
		if c := strings.Count(r, ",") + 1; c != n {
			return fmt.Errorf("%s: line %d: %d columns, the model has %d features", in, i+2, c, n)
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for j := range n * k {
		if j > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, "f%d", j)
	}
	w.WriteByte('\n')
	for r := range rows {
		for c := range k {
			if c > 0 {
				w.WriteByte(',')
			}
			w.WriteString(rows[(r+c)%len(rows)])
		}
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
