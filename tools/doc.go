// Package tools groups predictd's offline jobs, one subpackage each:
// score (batch scoring of CSV/Parquet files), compare (parity of two
// prediction files) and bench (latency and throughput of one model on this
// machine, the input of capacity planning). Training, evaluation and data
// validation join here and share model/ and kernels/ with serving.
package tools
