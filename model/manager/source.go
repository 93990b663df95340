package manager

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/predictd/predictd/model"
)

// The source: what each model wants, read from the repository on every
// pass. It says the whole set each time; a version left out is to be
// unloaded (the plan decides when, availability first).

// aspired is what the source wants of one model for one pass.
type aspired struct {
	disk    []int  // versions on disk, ascending
	gone    bool   // the model's folder itself is gone (disk is empty)
	wanted  []int  // ascending; a subset of disk
	problem string // why the model has nothing to load, for Status; "" if nothing is wrong
}

// aspire reads model ms's versions on disk and returns what ms wants of
// them: its policy's pick, plus the versions an admin pinned, those a label
// points at and the one "stable" left within Options.RollbackHold, minus
// those an admin excluded. An error other than a missing folder means the folder
// could not be read (a mount hiccup): the caller then changes nothing. The
// caller holds planMu (pins and exclusions).
func (m *Manager) aspire(ms *modelState) (aspired, error) {
	dir := filepath.Join(m.opts.Repo, ms.name)
	disk, err := model.Versions(m.opts.Repo, ms.name)
	gone := errors.Is(err, model.ErrNotFound)
	if err != nil && !gone {
		return aspired{}, err
	}
	return aspired{
		disk:    disk,
		gone:    gone,
		wanted:  wantedVersions(ms.policy, disk, m.keptByLabels(ms), ms.excluded),
		problem: diskProblem(dir, gone, disk, ms.policy),
	}, nil
}

// keptByLabels returns ms's pins plus the versions its labels point at
// (here, or in another replica's stored labels not yet applied here) and
// the version "stable" left less than RollbackHold ago. The caller holds
// planMu (labels and history change only with it held too).
func (m *Manager) keptByLabels(ms *modelState) map[int]bool {
	if len(ms.labels) == 0 && len(ms.remote) == 0 {
		return ms.pinned
	}
	keep := maps.Clone(ms.pinned)
	for v := range ms.remote {
		keep[v] = true
	}
	for _, v := range ms.labels {
		keep[v] = true
	}
	if v := heldVersion(ms.history, m.opts.RollbackHold, m.opts.Now()); v != 0 {
		keep[v] = true
	}
	return keep
}

// wantedVersions returns the versions of disk (ascending) that p picks,
// plus those pinned that are on disk, minus those excluded; ascending.
func wantedVersions(p Policy, disk []int, pinned, excluded map[int]bool) []int {
	wanted := p.apply(disk)
	for _, v := range disk {
		if pinned[v] && !slices.Contains(wanted, v) {
			wanted = append(wanted, v)
		}
	}
	wanted = slices.DeleteFunc(wanted, func(v int) bool { return excluded[v] })
	slices.Sort(wanted)
	return wanted
}

// diskProblem says why a model whose folder is dir has nothing (or less
// than its policy names) to load, or "".
func diskProblem(dir string, gone bool, disk []int, p Policy) string {
	switch {
	case gone:
		return fmt.Sprintf("no model folder %s", dir)
	case len(disk) == 0:
		return fmt.Sprintf("no versions in %s", dir)
	}
	var missing []string
	for _, v := range p.Versions {
		if !slices.Contains(disk, v) {
			missing = append(missing, strconv.Itoa(v))
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("policy versions %s are not in %s", strings.Join(missing, ", "), dir)
	}
	return ""
}

func versionDir(modelDir string, v int) string { return filepath.Join(modelDir, strconv.Itoa(v)) }

// folderSig is the names, sizes, modes and modification times of dir's
// entries: a change means the version was rewritten and a failed load is
// worth retrying.
func folderSig(dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			fmt.Fprintf(&b, "%s ?;", e.Name())
			continue
		}
		fmt.Fprintf(&b, "%s %d %v %d;", e.Name(), info.Size(), info.Mode(), info.ModTime().UnixNano())
	}
	return b.String()
}
