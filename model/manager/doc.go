// Package manager runs the lifecycle of model versions for the serving
// daemon: TF Serving's source / loader / manager split, made small. The
// source is the model repository (model.Versions), rescanned every
// PollInterval and on Reload; each model's Policy picks the versions it
// wants from what is on disk, plus versions an admin pinned with
// LoadVersion, minus versions an admin excluded with UnloadVersion. One
// reconcile at a time compares wanted with loaded: it loads each new version
// (model.Open), warms it with WarmupRows synthetic rows
// (model.SyntheticRows) and checks the output widths, runs Options.Prepare,
// publishes it, and only then retires the versions no longer wanted
// (availability first). Requests take a refcounted Handle with Acquire and
// give it back with Release.
//
// Version states follow TF Serving: START (wanted, queued for loading),
// LOADING, AVAILABLE (takes traffic), UNLOADING (retired, handles still
// out), END (retired and drained, or failed to load: then VersionStatus.Error
// says which file and why).
//
// # Invariants
//
//   - Availability first: a model never loses its last AVAILABLE version to
//     a failed load or a policy change. When no wanted version is
//     available, the highest available unwanted one keeps serving (and is
//     logged). A version folder deleted from disk is retired like any
//     unwanted version, so it is kept only while it is the last available
//     one. The exception is a model whose whole folder is gone: all its
//     versions are retired, since the operator removed the model; an
//     unconfigured (discovered) model then disappears from Names, a
//     configured one stays with no versions and Ready turns false.
//   - A version that fails to load never takes traffic. Its status is END
//     with the error; it is retried by Reload, by LoadVersion of that
//     version, or by a poll that finds its folder changed (names, sizes and
//     modification times of its files), never on every poll.
//   - Requests read one immutable snapshot (an atomic pointer): per model,
//     the AVAILABLE versions in ascending order and the labels. Publication
//     is one pointer swap, under stateMu, of a snapshot built from the
//     version table.
//   - Refcount: a version's count starts at 1 when it is published (the
//     snapshot's reference); each Handle adds 1. Retiring stores a snapshot
//     without the version first and drops the published reference after,
//     so the count reaches 0 exactly once, when the last Handle is
//     released; Options.Retired runs then, once, and the state becomes END.
//     Acquire increments with a compare-and-swap that fails on 0: a request
//     that read an older snapshot either pins the version (which then stays
//     alive until its Release) or sees 0 and retries, finding the newer
//     snapshot already stored. No Handle ever refers to a version whose
//     Retired hook ran.
//   - A count below 0, or reaching 0 while the version is still published,
//     is a double Release and panics with a BUG: message. Handles are
//     recycled through a sync.Pool, so a second Release of a Handle that
//     another Acquire already reused cannot be told apart from that
//     Acquire's own Release; building with -tags invariants stops the
//     recycling (every Acquire allocates) so that every double Release
//     panics, and checks each published snapshot.
//
// # Concurrency
//
// Acquire and Handle.Release may be called from any number of goroutines at
// any time, including during reconciles and after Close; Acquire does atomic
// loads and one compare-and-swap, takes no lock and allocates nothing on
// success. Ready and Names also only load the snapshot.
//
// Reconciles (the poller, Start, Reload, LoadVersion, UnloadVersion, Close)
// are serialized by reconcileMu, which is held while versions load: Reload,
// LoadVersion and UnloadVersion wait for a reconcile in progress. Status and
// SetLabel take only stateMu, which is never held during a load, so they
// answer while a slow version loads.
//
// Options.Prepare runs in the reconciling goroutine. Options.Retired runs in
// whichever goroutine drops the last reference: a reconcile (after it has
// released its locks) or a request's Release, so it must be quick and safe
// for concurrent use, and must not call Close. Options.Logf must be safe for
// concurrent use.
package manager
