//go:build invariants

package manager

import "fmt"

// invariants turns on the extra checks of -tags invariants.
const invariants = true

// recycleHandles is off so that every double Release is caught: a released
// Handle is never handed out again.
const recycleHandles = false

// checkSnapshot panics if s breaks the snapshot invariants: per model,
// versions AVAILABLE, ascending, each holding its published reference.
func checkSnapshot(s *snapshot) {
	for name, ms := range s.models {
		if ms.name != name {
			panic(fmt.Sprintf("BUG: manager: snapshot entry %q holds model %q", name, ms.name))
		}
		for i, v := range ms.avail {
			if st := v.State(); st != StateAvailable {
				panic(fmt.Sprintf("BUG: manager: snapshot publishes model %q version %d in state %s", name, v.num, st))
			}
			if v.refs.Load() < 1 {
				panic(fmt.Sprintf("BUG: manager: snapshot publishes model %q version %d with %d references", name, v.num, v.refs.Load()))
			}
			if i > 0 && ms.avail[i-1].num >= v.num {
				panic(fmt.Sprintf("BUG: manager: snapshot versions of model %q out of order: %d then %d", name, ms.avail[i-1].num, v.num))
			}
		}
	}
}
