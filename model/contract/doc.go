// Package contract is predictd's data contract: what a table of rows
// (a training file, a scoring file, a model's requests) is expected to hold,
// column by column, written as YAML that a person edits and keeps in git.
//
// A Contract lists columns with a type (bool, int, float, string, time),
// whether the column must be present, the highest rate of missing values
// allowed, a range for numbers, the allowed categories of a categorical
// column, and a distribution profile (bin edges and proportions for
// numbers, value proportions for categories) with a skew threshold. Parse
// reads one strictly: an unknown key, a wrong type or an inconsistent field
// is an error naming the file, line and field. Write writes one in a stable
// order with comments, so that inferring again gives a reviewable diff.
//
// The anomaly kinds (Kind) follow TensorFlow Data Validation's anomaly
// types (anomalies.proto), named after them in each Kind's comment.
// tools/contract infers contracts from files and validates files against
// them; Checker is the per-value part the daemon enforces on a model's
// requests, without allocating.
//
// A Contract is not modified after Parse or a tool builds it; Contracts
// and Checkers are safe for concurrent use.
package contract
