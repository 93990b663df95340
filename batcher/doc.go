// Package batcher groups concurrent requests for one model version into
// kernel calls, with a bounded queue, deadlines, and a wait decided by a pure
// function of queue state and an injected clock. Not built yet: the
// adaptive-batching issue adds it.
package batcher
