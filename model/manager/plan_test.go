package manager

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// planSim is one model for TestPlan: the source's inputs (policy, the
// folders on disk with a signature each, pins, exclusions, labels) and a
// version table that plan's decisions and the script's load outcomes
// change, as the manager's passes and loader pool would.
type planSim struct {
	policy   Policy
	disk     map[int]int // version → folder signature (touch changes it)
	gone     bool
	pinned   map[int]bool
	excluded map[int]bool
	labels   map[string]int
	versions map[int]*simVersion
}

type simVersion struct {
	state  State
	failed bool
	sig    int  // the folder's signature when the load began
	retry  bool // marked by plan force or plan retry=N
}

func newPlanSim(p Policy) *planSim {
	return &planSim{
		policy:   p,
		disk:     map[int]int{},
		pinned:   map[int]bool{},
		excluded: map[int]bool{},
		labels:   map[string]int{},
		versions: map[int]*simVersion{},
	}
}

func (s *planSim) diskList() []int { return slices.Sorted(maps.Keys(s.disk)) }

// input builds plan's input as Manager.passLocked does.
func (s *planSim) input() planInput {
	disk := s.diskList()
	in := planInput{
		Disk:     disk,
		Gone:     s.gone,
		Wanted:   wantedVersions(s.policy, disk, s.pinned, s.excluded),
		Excluded: s.excluded,
		Labels:   s.labels,
	}
	for _, num := range slices.Sorted(maps.Keys(s.versions)) {
		v := s.versions[num]
		sig, onDisk := s.disk[num]
		in.Versions = append(in.Versions, versionView{
			Num:    num,
			State:  v.state,
			Failed: v.failed,
			Retry:  v.failed && (v.retry || onDisk && sig != v.sig),
		})
	}
	return in
}

// apply changes the table as Manager.passLocked does: a load starts
// (LOADING, the folder's signature recorded), a retired version drains
// (UNLOADING), a forgotten record goes.
func (s *planSim) apply(d decision) {
	for _, num := range d.Load {
		s.versions[num] = &simVersion{state: StateLoading, sig: s.disk[num]}
	}
	for _, num := range d.Retire {
		s.versions[num].state = StateUnloading
	}
	for _, num := range d.Forget {
		delete(s.versions, num)
	}
}

// table renders the version table newest first, as Status does:
// "3:LOADING 2:AVAILABLE 1:END(failed)".
func (s *planSim) table() string {
	nums := slices.Sorted(maps.Keys(s.versions))
	if len(nums) == 0 {
		return "(no versions)"
	}
	parts := make([]string, 0, len(nums))
	for _, num := range slices.Backward(nums) {
		v := s.versions[num]
		p := fmt.Sprintf("%d:%s", num, v.state)
		switch {
		case v.failed && v.retry:
			p += "(failed, retry)"
		case v.failed:
			p += "(failed)"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

func fmtDecision(in planInput, d decision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "want %s\n", intList(in.Wanted))
	for _, num := range d.Load {
		if d.Fallback {
			fmt.Fprintf(&b, "load %d (fallback: no wanted version available or loading)\n", num)
		} else {
			fmt.Fprintf(&b, "load %d\n", num)
		}
	}
	for _, num := range d.Wait {
		fmt.Fprintf(&b, "wait %d\n", num)
	}
	for _, num := range d.Retire {
		fmt.Fprintf(&b, "retire %d\n", num)
	}
	if d.Keep != 0 {
		fmt.Fprintf(&b, "keep %d (unwanted, but no wanted version is available)\n", d.Keep)
	}
	for _, num := range d.Forget {
		fmt.Fprintf(&b, "forget %d\n", num)
	}
	for _, label := range d.Dangling {
		fmt.Fprintf(&b, "label %s -> %d: not available\n", label, in.Labels[label])
	}
	return b.String()
}

// versionArgs reads the bare version numbers of a command ("disk 1 2 3"),
// skipping key=value arguments and the flags named by words.
func versionArgs(t *testing.T, td *datadriven.TestData, words ...string) []int {
	t.Helper()
	var nums []int
	for _, arg := range td.CmdArgs {
		if len(arg.Vals) > 0 || slices.Contains(words, arg.Key) {
			continue
		}
		n, err := strconv.Atoi(arg.Key)
		if err != nil || n <= 0 {
			td.Fatalf(t, "%s: %q is not a version", td.Cmd, arg.Key)
		}
		nums = append(nums, n)
	}
	return nums
}

func oneVersion(t *testing.T, td *datadriven.TestData) int {
	t.Helper()
	nums := versionArgs(t, td)
	if len(nums) != 1 {
		td.Fatalf(t, "%s: want one version, got %v", td.Cmd, nums)
	}
	return nums[0]
}

// TestPlan runs the scripts in testdata/plan (go test -run TestPlan
// -rewrite rewrites their expected output after a deliberate change):
//
//	model [latest=N | versions=(1,3) | all]   a fresh model with that policy
//	disk 1 2 3 | disk | disk gone             the version folders (none; the model folder gone)
//	touch 2                                   version 2's folder changes (its folderSig)
//	pin 2 / exclude 3                         LoadVersion's / UnloadVersion's effect on the source
//	label stable=2                            a label points at version 2
//	plan [force] [retry=2]                    force (Reload) marks every failure for retry,
//	                                          retry=N (LoadVersion) that version's; then the
//	                                          source's wanted set, the decision, and the table after it
//	loaded 3 [fail]                           the load of 3 finished (AVAILABLE, or END failed)
//	drained 1                                 the last handle of retired version 1 was released
//	table                                     the version table, newest first
func TestPlan(t *testing.T) {
	datadriven.Walk(t, "testdata/plan", func(t *testing.T, path string) {
		var s *planSim
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			if s == nil && td.Cmd != "model" {
				td.Fatalf(t, "start the script with model")
			}
			switch td.Cmd {
			case "model":
				var p Policy
				td.MaybeScanArgs(t, "latest", &p.Latest)
				if td.HasArg("versions") {
					td.ScanArgs(t, "versions", &p.Versions)
				}
				p.All = td.HasArg("all")
				if err := p.check("model"); err != nil {
					td.Fatalf(t, "%v", err)
				}
				s = newPlanSim(p)
				return ""
			case "disk":
				s.gone = td.HasArg("gone")
				nums := versionArgs(t, td, "gone")
				if s.gone && len(nums) > 0 {
					td.Fatalf(t, "disk gone lists versions")
				}
				old := s.disk
				s.disk = map[int]int{}
				for _, num := range nums {
					s.disk[num] = old[num] // a folder left in place keeps its signature
				}
				return ""
			case "touch":
				num := oneVersion(t, td)
				if _, ok := s.disk[num]; !ok {
					td.Fatalf(t, "touch %d: not on disk", num)
				}
				s.disk[num]++
				return ""
			case "pin":
				num := oneVersion(t, td)
				s.pinned[num] = true
				delete(s.excluded, num)
				return ""
			case "exclude":
				num := oneVersion(t, td)
				s.excluded[num] = true
				delete(s.pinned, num)
				return ""
			case "label":
				for _, arg := range td.CmdArgs {
					n, err := strconv.Atoi(arg.SingleVal(t))
					if err != nil {
						td.Fatalf(t, "label %s: %v", arg.Key, err)
					}
					s.labels[arg.Key] = n
				}
				return ""
			case "plan":
				retry := 0
				td.MaybeScanArgs(t, "retry", &retry)
				for num, v := range s.versions {
					if v.failed && (td.HasArg("force") || num == retry) {
						v.retry = true
					}
				}
				in := s.input()
				d := plan(in)
				checkDecision(t, td, in, d)
				s.apply(d)
				return fmtDecision(in, d) + "= " + s.table()
			case "loaded":
				for _, num := range versionArgs(t, td, "fail") {
					v := s.versions[num]
					if v == nil || v.state != StateLoading {
						td.Fatalf(t, "loaded %d: it is not loading (%s)", num, s.table())
					}
					if td.HasArg("fail") {
						v.state, v.failed = StateEnd, true
					} else {
						v.state = StateAvailable
					}
				}
				return "= " + s.table()
			case "drained":
				num := oneVersion(t, td)
				if v := s.versions[num]; v == nil || v.state != StateUnloading {
					td.Fatalf(t, "drained %d: it is not unloading (%s)", num, s.table())
				}
				s.versions[num].state = StateEnd
				return "= " + s.table()
			case "table":
				return s.table()
			}
			td.Fatalf(t, "unknown command %q", td.Cmd)
			return ""
		})
	})
}

// checkDecision holds every decision to the rules the scripts illustrate:
// a model whose folder exists never loses its last available version, a
// version is loaded only if it is not already serving or on its way, and
// a failure is retried only if marked or changed.
func checkDecision(t *testing.T, td *datadriven.TestData, in planInput, d decision) {
	t.Helper()
	avail := 0
	byNum := map[int]versionView{}
	for _, v := range in.Versions {
		byNum[v.Num] = v
		if v.State == StateAvailable {
			avail++
		}
	}
	if !in.Gone && avail > 0 && len(d.Retire) >= avail {
		t.Errorf("%s: retires all %d available versions (%v) while the model folder exists", td.Pos, avail, d.Retire)
	}
	for _, num := range d.Load {
		if v, ok := byNum[num]; ok {
			if v.State == StateAvailable || v.State == StateStart || v.State == StateLoading {
				t.Errorf("%s: loads version %d, which is %s", td.Pos, num, v.State)
			}
			if v.Failed && !v.Retry {
				t.Errorf("%s: retries version %d, whose failure is neither marked nor changed", td.Pos, num)
			}
		}
		if !slices.Contains(in.Disk, num) {
			t.Errorf("%s: loads version %d, which is not on disk %v", td.Pos, num, in.Disk)
		}
	}
}
