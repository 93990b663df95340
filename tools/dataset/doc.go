// Package dataset builds point-in-time training sets (predictd dataset):
// for each row of an entity file (join keys, a timestamp, a label and any
// other columns), the values each feature view had at that row's
// timestamp, as the serving join would have filled them then, so that a
// model is trained on what it will be served and never on the future.
//
// # The rule
//
// For each entity row and each selected view, the view's row is the latest
// row of its source with the same join key (canonical, as
// featcache.Entity.CanonicalKey writes it) and an event time at or before
// the entity row's timestamp; of several source rows with that key and
// time, the first in file order (as materialize and the online store keep
// it). The row's values are used when it is still fresh at the timestamp
// by the serving rule, featcache.Fresh: its age is below the view's TTL. A
// row exactly TTL old is expired here and when served; Feast's
// get_historical_features takes it (its tolerance includes the TTL), which
// is the one place the two differ. Otherwise (no row at or before the
// timestamp, or only expired ones) each feature gets its default from the
// definitions, or is missing when it has none: what featcache.Join.Fill
// serves for a missing or expired row. A present row's missing value (an
// empty cell, NaN, null) stays missing, not replaced by the default: the
// training set is for any model, and the serving join replaces it only for
// a model that takes no missing values.
//
// Source rows timed after the entity row are never used, however close;
// entity rows need no order, and neither do source rows.
//
// # Inputs and output
//
// A view's source is its definition's source: a CSV or Parquet file (path
// relative to the definitions file's folder), or Options.Sources' path.
// It holds the entity's join key, an event_time column and the view's
// features, many rows per entity: the view's history. Values are checked
// as materialize checks them (featcache.Feature.CheckValue; ±Inf and text
// refused); keys and times as the daemon reads them. Files are read with
// internal/table.
//
// The output is Parquet: the entity file's columns first, in its order and
// with their values unchanged (Parquet columns keep their type, INT64,
// DOUBLE, BOOLEAN, STRING, TIMESTAMP; a CSV column is INT64 when every
// value is an integer, else DOUBLE when every value is a number, else
// STRING; the timestamp column is TIMESTAMP(NANOS, UTC)), then each
// selected view's features in definition order as nullable DOUBLE, named
// as the feature, or view__feature with Options.FullFeatureNames. A
// feature name that clashes with another view's feature or an entity
// column is an error that suggests the flag. Rows are in the entity file's
// order; a missing value is a null. The file is written to a temporary
// file beside Out and renamed into place only when complete.
//
// # Memory
//
// The join runs in memory bounded by Options.MemoryBytes (M), whatever
// the number of rows, by external sorting:
//
//  1. The entity file is read once; each row's request (key, timestamp,
//     row number) for each view goes to that view's sorter. The sorters
//     share M/2 (at least 128 KiB each), each as two buffers and a write
//     buffer: while one fills, a goroutine sorts the other and appends it
//     as a run to a scratch file.
//  2. For each view in turn: its source rows are sorted the same way in M/2;
//     the request runs and the source runs are merged (k-way, a 64 KiB read
//     buffer per run, at most M/4 of them for each side: more runs are first
//     merged in passes) and walked together in one pass (a merge join);
//     each entity row's values are appended to the scratch file of its
//     bucket of rows, through write buffers of M/4 in all.
//  3. The entity file is read again and written out with its values, one
//     bucket (M/2 of values, 8 bytes per feature per row) at a time.
//
// M bounds those buffers, which never take more than M at once. On top of
// it come the Go runtime, the file readers' chunks (Options.ChunkRows rows
// of every column), parquet-go's pages of the Parquet file being read, and
// the output writer's open row group (65,536 rows of every column): each
// independent of the number of rows. The bucket write buffers need at least
// 4 KiB each, so a memory too small for the number of rows (under about
// sqrt(rows x features x 256 KiB): 5 MiB for 10M rows of 7 features) is
// refused up front with the size that would do. bench/dataset.sh measures
// the whole process: at 10M entity rows against three views (7M source
// rows), predictd dataset, which also sets the Go memory limit to M + 64
// MiB, peaked at 320-337 MiB RSS with M = 256 MiB (154 MiB with 64 MiB,
// 835 MiB with 1 GiB), where pandas merge_asof on the same rows took 4.6
// GiB.
// Scratch files live in a folder made in Options.TempDir (default: the
// output's folder) and are removed when Build returns, on success or error.
//
// Build is called from one goroutine; separate Builds are independent.
package dataset
