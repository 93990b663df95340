//go:build !invariants

package manager

// invariants turns on the extra checks of -tags invariants.
const invariants = false

// recycleHandles lets Acquire reuse released Handles, so it does not
// allocate.
const recycleHandles = true

func checkSnapshot(*snapshot) {}
