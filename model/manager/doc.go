// Package manager runs the lifecycle of model versions for the serving
// daemon: TF Serving's source / loader / manager split, made small.
//
//	source (source.go) → plan (plan.go) → loader pool (loader.go) → publish
//
// The source is the model repository (model.Versions), rescanned every
// PollInterval and on Reload: for each model it says the whole set of
// versions wanted each time, its Policy's pick of what is on disk, plus
// versions an admin pinned with LoadVersion, minus versions an admin
// excluded with UnloadVersion; a version left out is to be unloaded. The
// plan is a pure function of that set and the model's version table
// (states, failures and whether each is worth a retry) that decides the
// next actions: which versions to load, which to wait for, which to retire
// and which to keep serving. A pass (reconcile.go) runs source and plan
// for one model and applies the decision at once: it queues the loads on
// the loader pool, retires, and publishes. The pool loads at most
// LoadWorkers versions at once across all models, each with the Manager's
// context: it opens the version (model.OpenContext), warms it with
// WarmupRows synthetic rows (model.SyntheticRows) checking the output
// widths, and runs Options.Prepare. Each load's completion publishes the
// version (or records the failure) and runs another pass of its model,
// which retires what the new version replaces (availability first: the old
// version retires only once no wanted load is due or in flight) or falls
// back to an older version if the load failed. Requests take a refcounted
// Handle with Acquire and give it back with Release.
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
//   - Labels keep their versions loaded (changed with issue 20: before it,
//     labels never kept a version loaded). The versions a label points at
//     are wanted beside the policy's pick, and so is the version "stable"
//     left at its last change, for Options.RollbackHold after it. An admin
//     UnloadVersion still wins over a label. A label pointing at a version
//     that is not AVAILABLE or on its way (not on disk, failed, unloaded by
//     an admin) makes Acquire by it fail, and is logged once.
//   - The default route follows "stable": a request that names neither a
//     version nor a label gets the version "stable" points at when that
//     label is set and its version is AVAILABLE, else the highest AVAILABLE
//     version. Blue-green is then: load v2 beside v1 (policy or
//     LoadVersion), SetLabel("stable", 2), one snapshot swap; Rollback
//     swaps back in one step.
//   - Labels persist (Options.Labels): SetLabel and Rollback save the
//     model's labels and bounded history (MaxLabelHistory) before they
//     publish; a failed save changes nothing. The first scan of a model
//     loads what was saved, which replaces its configured Labels. Replicas
//     sharing the store catch up at each poll (and Reload): a stored label
//     whose version is AVAILABLE here moves at once; one whose version is
//     not makes it wanted and moves at the first poll after it loaded, so
//     a replica never switches to a version it has not loaded.
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
// any time, including during passes and after Close; Acquire does atomic
// loads and one compare-and-swap, takes no lock and allocates nothing on
// success. Ready and Names also only load the snapshot.
//
// Two mutexes, taken in this order (a third, prepareMu, only keeps
// Prepare calls apart):
//
//   - planMu serializes passes (the source's folder reads, the plan and
//     the decision) and admin calls (LoadVersion's pin, UnloadVersion,
//     SetLabel and Rollback, whose LabelStore calls run under it), and
//     guards pins and exclusions. It is held for folder reads and label
//     saves, never during a load, so a pass of one model never waits for
//     another model's load.
//   - stateMu guards the version table (states, failures, labels) and the
//     publication of the snapshot, which is single-writer: every store
//     happens under it, from a pass, a load's completion, SetLabel,
//     UnloadVersion or Close. It is held for no I/O, load or hook, so
//     Status and SetLabel answer while versions load.
//
// The poller runs a pass of every model and does not wait for the loads
// it queued: a slow load holds back no other model's new versions. Start,
// Reload and LoadVersion run their passes, then wait until their models
// have no load in flight (a slow model delays their return, not the other
// models' versions, which take traffic as each one loads). StopLoading and
// Close cancel the Manager's context: loads in progress stop within
// milliseconds (a Prepare call in progress runs to its end), and no new
// load starts, so those waits end at once; Close waits for the cancelled
// loads, then retires every version.
//
// Options.Prepare runs on a loader pool goroutine; its calls never overlap
// (loads do). Options.Retired runs in whichever goroutine drops the last
// reference: a pass or a load's completion (after releasing its locks),
// UnloadVersion or Close (likewise), or a request's Release; so it must be
// quick and safe for concurrent use, and must not call Close. Options.Logf
// must be safe for concurrent use. Options.Event (events.go) is told of a
// pass's retirements with planMu held (not stateMu), of loads and failed
// loads on the loader goroutines, each before the change takes effect; an
// error from it vetoes a load or a retirement.
package manager
