package xgboost

import (
	"testing"
)

var importSink any

// BenchmarkImport parses the 300-tree, depth-6 fixture from its JSON file
// and from the same model saved as UBJSON by XGBoost: the UBJSON import is
// ubjsonToJSON followed by the JSON path, so "step=decode" is the cost
// UBJSON adds over reading that JSON. SetBytes is the file's size.
func BenchmarkImport(b *testing.B) {
	const name = "gbtree_binary_logistic_300x6"
	js := readFixture(b, "xgboost", name+".json")
	ubj := readFixture(b, ubjDir, "from_json", name+".ubj")
	for _, bc := range []struct {
		name string
		data []byte
		run  func([]byte) (any, error)
	}{
		{"format=json/step=parse", js, func(d []byte) (any, error) { return Parse(d) }},
		{"format=ubjson/step=parse", ubj, func(d []byte) (any, error) { return Parse(d) }},
		{"format=ubjson/step=decode", ubj, func(d []byte) (any, error) { return ubjsonToJSON(d) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.data)))
			b.ReportAllocs()
			for b.Loop() {
				v, err := bc.run(bc.data)
				if err != nil {
					b.Fatal(err)
				}
				importSink = v
			}
			b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/import")
		})
	}
}
