// Package model owns model artifacts: the manifest, the compact binary
// payload (codec.go), the on-disk repository of versions
// (<repo>/<name>/<version>/{manifest.json,model.bin.zst}), and the loaded
// model kinds (Trees, Dense) behind the Predictor interface. Importers for
// other libraries' formats live in subpackages (xgboost, lightgbm, native);
// importer dispatches on a format name. Quote (quote.go) is how the package
// and the importers show a value from a file or a request in an error: cut
// to 64 bytes and escaped. synthetic.go draws rows that
// exercise a model (warm-up, calibration, benchmarks); the serving
// lifecycle of versions is model/manager.
//
// Invariants: a version folder appears atomically (written to a hidden
// temporary folder, synced, renamed); only regular files inside a version
// folder are read (symlinks out of it are refused); a payload is read only
// after its file size matches the manifest, decoded only after its sha256
// matches, and decompressed as a stream that stops at the manifest's
// decoded_bytes (or MaxPayloadBytes), so no file can make a load allocate
// much more than the model it declares; every decoded model passes
// Validate before it is returned, so nothing loaded from disk can panic in
// Predict. Loaded models are immutable and safe for concurrent Predict.
//
// A version may carry a reference profile of its training rows
// (reference.go: reference-<sha>.json.zst, recorded in the manifest like
// the payload), for drift statistics. Open never reads it, so a version
// with none, or with a broken reference file, serves normally;
// ReadReference reads and checks it; AttachReference adds or replaces it in
// an existing version, atomically for readers.
//
// A version may also carry its data contract (contractfile.go:
// contract-<sha>.yaml, copied verbatim at import and recorded in the
// manifest like the payload; model/contract parses it), which serve
// enforces or counts on requests per model; ReadContract reads and checks
// it. Unlike the reference, a contract that cannot be read fails the
// version's load unless the model's contract mode is off.
//
// An evaluation (evaluation.go, `predictd eval --record`) is written into
// the manifest's Metrics and Lineage, atomically for readers.
// AttachReference and RecordEvaluation are the only changes ever made to a
// version folder after it is written; the payload never changes.
package model
