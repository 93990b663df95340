package manager

import (
	"maps"
	"slices"
)

// The plan: a pure function from what the source wants of one model and
// what the version table holds to the actions that bring the one towards
// the other. No I/O, no clock, no lock: the manager calls it under stateMu
// and applies the decision at once; testdata/plan drives it by script.
//
// A pass plans again after every load finishes, so a decision covers only
// what can be done now: start the loads that are due, retire what the
// loaded versions make unnecessary, wait for the rest.
//
// A Reload ("force") or a LoadVersion of a failed version does not reach
// the plan as a flag: it marks the failure records it means (Retry), and
// the plan retries marked failures. A flag would either be lost at the
// plan after the first load finishes (so a fallback would not be retried)
// or be seen again by it (so a version failing again would be retried for
// ever); a mark is consumed by the retry, whose own failure is a new,
// unmarked record.

// planInput is one model's state for one plan.
type planInput struct {
	// Disk lists the versions on disk, ascending. Gone says the model's
	// folder itself is gone (Disk is then empty): every version retires,
	// even the last one, since the operator removed the model.
	Disk []int
	Gone bool
	// Wanted is the source's wanted set, ascending: the policy's pick of
	// Disk, plus pins, minus exclusions.
	Wanted []int
	// Excluded are the versions an admin unloaded: never a fallback.
	Excluded map[int]bool
	// Versions is the version table, ascending by Num.
	Versions []versionView
	// Labels maps labels to versions, to report those that point at no
	// version that serves or is on its way.
	Labels map[string]int
}

// versionView is one version of the table as the plan sees it.
type versionView struct {
	Num   int
	State State
	// Failed: State is END because the version's last load failed.
	Failed bool
	// Retry: Failed, and worth another attempt: its folder changed since
	// that load began (folderSig), or Reload or LoadVersion marked it. An
	// unmarked, unchanged failure is never retried, so that polls do not
	// spin on a corrupt version.
	Retry bool
}

// decision is what plan decides for one model.
type decision struct {
	// Load lists the versions to load now, newest first: the likely
	// default version serves soonest.
	Load []int
	// Fallback: Load is one unwanted version, the newest that may load,
	// because no wanted version is available or on its way (a restart
	// with a corrupt newest version serves the one before it).
	Fallback bool
	// Wait lists the versions whose load is in flight (START or
	// LOADING), ascending. Their completion plans again.
	Wait []int
	// Retire lists AVAILABLE versions to retire now, ascending. An
	// unwanted version retires only once no wanted load is due or in
	// flight, so the new version is published before the old one goes.
	Retire []int
	// Keep is an unwanted AVAILABLE version kept serving because no
	// wanted version is available or on its way (0: none): the model's
	// last available version is never retired while its folder exists.
	Keep int
	// Forget lists the END records of versions no longer on disk,
	// ascending.
	Forget []int
	// Dangling lists, sorted, the labels that point at a version that
	// is not available after this decision and not on its way: Acquire
	// by them fails.
	Dangling []string
}

// plan decides the next actions for one model. See the file comment and
// decision's fields for the rules.
func plan(in planInput) decision {
	var d decision
	byNum := make(map[int]versionView, len(in.Versions))
	var avail []int
	for _, v := range in.Versions {
		byNum[v.Num] = v
		switch v.State {
		case StateAvailable:
			avail = append(avail, v.Num)
		case StateStart, StateLoading:
			d.Wait = append(d.Wait, v.Num)
		case StateEnd:
			if !slices.Contains(in.Disk, v.Num) {
				d.Forget = append(d.Forget, v.Num)
			}
		}
	}
	wanted := make(map[int]bool, len(in.Wanted))
	for _, num := range in.Wanted {
		wanted[num] = true
	}

	// Wanted versions, newest first. pending: a wanted version is due or
	// in flight, so the unwanted ones still serve.
	pending := false
	for _, num := range slices.Backward(in.Wanted) {
		v, ok := byNum[num]
		switch {
		case !ok, loadable(v):
			d.Load = append(d.Load, num)
			pending = true
		case v.State == StateUnloading:
			// Wanted again while it drains: loaded afresh, not revived,
			// since its count may be reaching 0 (see tryRef).
			d.Load = append(d.Load, num)
			pending = true
		case v.State == StateStart, v.State == StateLoading:
			pending = true
		}
	}

	// Fallback: nothing serves and nothing wanted is coming. One version
	// at a time, newest first; its completion plans the next if it fails.
	if !in.Gone && len(in.Wanted) > 0 && len(avail) == 0 && !pending && len(d.Wait) == 0 {
		for _, num := range slices.Backward(in.Disk) {
			if wanted[num] || in.Excluded[num] {
				continue
			}
			if v, ok := byNum[num]; ok && !loadable(v) {
				continue // loading, draining, or an unchanged failure
			}
			d.Load, d.Fallback = []int{num}, true
			break
		}
	}

	switch {
	case in.Gone:
		d.Retire = avail
	case !pending:
		var unwanted []int
		for _, num := range avail {
			if !wanted[num] {
				unwanted = append(unwanted, num)
			}
		}
		if len(unwanted) > 0 && len(unwanted) == len(avail) {
			d.Keep = unwanted[len(unwanted)-1]
			unwanted = unwanted[:len(unwanted)-1]
		}
		d.Retire = unwanted
	}

	live := make(map[int]bool, len(avail)+len(d.Wait)+len(d.Load))
	for _, nums := range [][]int{avail, d.Wait, d.Load} {
		for _, num := range nums {
			live[num] = true
		}
	}
	for _, num := range d.Retire {
		delete(live, num)
	}
	for _, label := range slices.Sorted(maps.Keys(in.Labels)) {
		if !live[in.Labels[label]] {
			d.Dangling = append(d.Dangling, label)
		}
	}
	return d
}

// loadable reports whether an END record may be loaded again: it was
// retired and drained, or its failure is worth a retry.
func loadable(v versionView) bool {
	return v.State == StateEnd && (!v.Failed || v.Retry)
}
