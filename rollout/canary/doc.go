// Package canary is the pure core of a canary rollout: the Plan (steps,
// durations, checks), the sticky traffic split (Assign), a per-step
// Recorder of what each side did, and the decision (Decide) that holds,
// advances, promotes or rolls back, applied to a State by Apply. It does
// not start goroutines, read the clock or import server/: the server
// feeds it requests and a time, and acts on what it returns.
//
// # How the server drives it
//
//	plan, err := canary.ParsePlan(body)      // or the config's "rollout" block, then Validate
//	st := canary.Start(now)                   // generation 1, step 0
//	rec, _ := canary.NewRecorder(canary.DefaultRecorderOptions())
//
//	// per request (live path: no allocation, no blocking beyond a short lock)
//	side := canary.Assign(keyBytes, seq, plan.Share(st))
//	... predict with plan.Candidate or plan.Stable ...
//	rec.Observe(side, latency, failed, prediction[plan.Checks.PredictionOutput])
//
//	// every few seconds, off the request path
//	d := canary.Decide(plan, st, rec.Snapshot(), quality, now)
//	if next := canary.Apply(st, d, now); next.Generation != st.Generation {
//		// store next (shared state), log d.Reason, new Recorder for the new step
//	}
//
// # Invariants
//
//   - Assign is a fixed function of the key bytes (FNV-1a 64, fmix64):
//     every replica and every restart splits one key the same way, and a
//     key on the candidate at p% is on it at every q > p.
//   - Decide and Apply are pure: the same arguments give the same result.
//     Apply returns a new State and never changes its argument's history.
//   - Only Apply moves a State, and each move adds one to its Generation;
//     Apply ignores a decision made for another generation, so two
//     replicas deciding on one stored state cannot move it twice.
//   - A finished rollout (promoted, rolled back, aborted) never moves.
//
// # Concurrency
//
// Recorder.Observe and Recorder.Snapshot are safe for concurrent use.
// Plan, State, Observation and Decision are values: Decide, Apply,
// Assign and Bucket only read their arguments and may run anywhere.
package canary
