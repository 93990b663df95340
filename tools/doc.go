// Package tools groups predictd's offline jobs, one subpackage each:
// score (batch scoring of CSV/Parquet files) and compare (parity of two
// prediction files). Training, evaluation and data validation join here and
// share model/ and kernels/ with serving.
package tools
