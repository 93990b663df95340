package manager

import (
	"fmt"
	"slices"

	"github.com/predictd/predictd/model"
)

// Policy says which of a model's versions on disk are wanted. At most one
// field may be set; with none set the policy is Latest 1.
type Policy struct {
	// Latest keeps the highest N versions on disk (default 1 when no other
	// field is set).
	Latest int `json:"latest,omitempty"`
	// Versions keeps exactly these versions (those of them on disk).
	Versions []int `json:"versions,omitempty"`
	// All keeps every version.
	All bool `json:"all,omitempty"`
}

// ModelConfig configures one served model.
type ModelConfig struct {
	// Name is the model's folder in the repository.
	Name   string `json:"name"`
	Policy Policy `json:"policy"`
	// Labels maps a label to a version, e.g. "stable": 3: the initial
	// labels, replaced by the persisted ones when Options.Labels has any
	// for the model. A labelled version is wanted beside the policy's
	// pick; a label pointing at a version that is not AVAILABLE makes
	// Acquire by that label fail.
	Labels map[string]int `json:"labels,omitempty"`
}

// check reports the first problem in p; where names the policy for the
// message, e.g. `Models[2] "fraud" Policy`.
func (p Policy) check(where string) error {
	set := 0
	var fields []string
	if p.Latest != 0 {
		set++
		fields = append(fields, "Latest")
	}
	if len(p.Versions) > 0 {
		set++
		fields = append(fields, "Versions")
	}
	if p.All {
		set++
		fields = append(fields, "All")
	}
	if set > 1 {
		return fmt.Errorf("%s sets %v: set at most one of Latest, Versions, All", where, fields)
	}
	if p.Latest < 0 {
		return fmt.Errorf("%s.Latest %d: want a positive count", where, p.Latest)
	}
	seen := make(map[int]bool, len(p.Versions))
	for i, v := range p.Versions {
		if v <= 0 {
			return fmt.Errorf("%s.Versions[%d] = %d: want a positive version", where, i, v)
		}
		if seen[v] {
			return fmt.Errorf("%s.Versions lists version %d twice", where, v)
		}
		seen[v] = true
	}
	return nil
}

// apply returns the versions of disk (ascending) that p wants, ascending.
func (p Policy) apply(disk []int) []int {
	switch {
	case p.All:
		return slices.Clone(disk)
	case len(p.Versions) > 0:
		var out []int
		for _, v := range disk {
			if slices.Contains(p.Versions, v) {
				out = append(out, v)
			}
		}
		return out
	}
	n := max(p.Latest, 1)
	if n > len(disk) {
		n = len(disk)
	}
	return slices.Clone(disk[len(disk)-n:])
}

// check reports the first problem in c, the i'th configured model.
func (c ModelConfig) check(i int) error {
	where := fmt.Sprintf("Models[%d]", i)
	if !model.ValidName(c.Name) {
		return fmt.Errorf("%s.Name %q: use 1-128 letters, digits, '-', '_' or '.', not starting with '.'", where, c.Name)
	}
	where = fmt.Sprintf("Models[%d] %q", i, c.Name)
	if err := c.Policy.check(where + " Policy"); err != nil {
		return err
	}
	for label, v := range c.Labels {
		if err := checkLabel(label); err != nil {
			return fmt.Errorf("%s.Labels: %w", where, err)
		}
		if v <= 0 {
			return fmt.Errorf("%s.Labels[%q] = %d: want a positive version", where, label, v)
		}
	}
	return nil
}

// checkLabel reports whether label is 1-64 of [A-Za-z0-9_-].
func checkLabel(label string) error {
	ok := label != "" && len(label) <= 64
	for i := 0; ok && i < len(label); i++ {
		c := label[i]
		ok = c == '-' || c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
	}
	if !ok {
		return fmt.Errorf("label %q: use 1-64 letters, digits, '-' or '_': %w", label, ErrInvalid)
	}
	return nil
}
