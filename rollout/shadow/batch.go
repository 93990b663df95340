package shadow

import "time"

// Batch is a batch of rows the shadow predicted, as Options.Predicted
// sees it: row i (0 ≤ i < Len) with the shadow's and the live outputs and
// where it came from (its offer's id and time, its place in the offer).
// A Batch and the slices its methods return are valid only during the
// Predicted call; the methods allocate nothing.
type Batch struct {
	s      *Shadow
	slot   int // the ring slot of row 0 (a batch never wraps)
	k      int
	shadow []float64
}

// Len is the number of rows.
func (b *Batch) Len() int { return b.k }

// ID is row i's offer id (OfferID), nil when none was kept: Offer, an id
// longer than Options.IDBytes, or IDBytes 0.
func (b *Batch) ID(i int) []byte {
	j, w := b.slot+i, b.s.opts.IDBytes
	n := int(b.s.idLen[j])
	if n == 0 {
		return nil
	}
	return b.s.ids[j*w : j*w+n]
}

// Part says that row i is row index (from 0) of its offer's rows.
func (b *Batch) Part(i int) (index, rows int) {
	j := b.slot + i
	return int(b.s.part[j]), int(b.s.parts[j])
}

// Time is row i's offer time (OfferID); zero when none was given.
func (b *Batch) Time(i int) time.Time {
	ns := b.s.at[b.slot+i]
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// Shadow is the shadow's outputs for row i (Options.Outputs values).
func (b *Batch) Shadow(i int) []float64 {
	out := b.s.opts.Outputs
	return b.shadow[i*out : (i+1)*out]
}

// Live is the live model's outputs for row i, as offered.
func (b *Batch) Live(i int) []float64 {
	out := b.s.opts.Outputs
	j := b.slot + i
	return b.s.live[j*out : (j+1)*out]
}

// predicted calls Options.Predicted with b, logging a panic.
func (s *Shadow) predicted(b *Batch) {
	defer func() {
		if p := recover(); p != nil {
			s.logf("shadow: Predicted panicked on a batch of %d rows: %v", b.k, p)
		}
	}()
	s.opts.Predicted(b)
}
