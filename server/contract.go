package server

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/contract"
)

// ContractMode says what the server does with a model version's data
// contract (model.ReadContract) on its requests.
type ContractMode uint8

const (
	// ContractDefault is the zero value: ContractCount when the version
	// carries a contract (counting costs a few comparisons per value and
	// changes no answer, so a contract is visible in /metrics as soon as
	// it ships with a version).
	ContractDefault ContractMode = iota
	// ContractOff: the contract is not read or checked.
	ContractOff
	// ContractCount: every value that breaks the contract is counted in
	// predictd_contract_violations_total, and the request is served.
	ContractCount
	// ContractEnforce: a request with such a value is refused with 400
	// naming the instance, the field and what the contract wants; the
	// violations of the instances checked up to the refused one (that one
	// included) are counted.
	ContractEnforce
)

// ParseContractMode reads a mode as the config file spells it: enforce,
// count, off, or "" (ContractDefault).
func ParseContractMode(s string) (ContractMode, error) {
	switch s {
	case "":
		return ContractDefault, nil
	case "off":
		return ContractOff, nil
	case "count":
		return ContractCount, nil
	case "enforce":
		return ContractEnforce, nil
	}
	return 0, fmt.Errorf("contract %q: want enforce, count or off", s)
}

func (m ContractMode) String() string {
	switch m {
	case ContractOff:
		return "off"
	case ContractCount:
		return "count"
	case ContractEnforce:
		return "enforce"
	}
	return "default"
}

// contractState is a version's compiled contract and its violation
// counters, one per feature and kind, updated with atomics.
type contractState struct {
	enforce bool
	checker *contract.Checker
	counts  []atomic.Uint64 // [feature*contract.NumKinds + kind]
}

// prepareContract reads the version's contract unless mode is off. A
// version without one is served unchecked; one whose contract cannot be
// read is not served (an error), since serving it unchecked would silently
// drop what the operator asked for.
func (s *Server) prepareContract(l *model.Loaded, mode ContractMode) (*contractState, error) {
	m := l.Manifest
	if mode == ContractOff {
		return nil, nil
	}
	if m.Contract == nil {
		if mode == ContractEnforce {
			s.opts.Logf("model %s version %d: contract enforce is set, but the version carries no contract (predictd import --contract): served unchecked", m.Name, m.Version)
		}
		return nil, nil
	}
	c, err := model.ReadContract(l.Dir, m)
	if err != nil {
		return nil, fmt.Errorf("model %s version %d: contract: %w", m.Name, m.Version, err)
	}
	// model.CheckContract (in ReadContract) has refused a column naming a
	// string input: the checker reads numbers, and a string input's value
	// in a request's rows is an index into its string arena.
	k, err := contract.NewChecker(c, model.FeatureNames(m))
	if err != nil {
		return nil, fmt.Errorf("model %s version %d: contract: %w", m.Name, m.Version, err)
	}
	return &contractState{
		enforce: mode == ContractEnforce,
		checker: k,
		counts:  make([]atomic.Uint64, k.Features()*contract.NumKinds),
	}, nil
}

// checkContract checks the rows the model is about to get (after the
// feature join: the values it actually predicts from) and counts their
// violations; in enforce mode it stops at the first instance with one and
// returns a 400 naming it. It does not allocate unless it refuses.
func (s *Server) checkContract(vs *versionState, c *exchange) error {
	cs := vs.contract
	k := cs.checker
	nf := k.Features()
	if cap(c.viol) < nf {
		c.viol = make([]contract.Violation, 0, nf)
	}
	r := &c.Request
	for i := range r.N {
		c.viol = k.Check(c.viol[:0], r.Rows[i*nf:(i+1)*nf])
		for _, v := range c.viol {
			cs.counts[v.Feature*contract.NumKinds+int(v.Kind)].Add(1)
		}
		if cs.enforce && len(c.viol) > 0 {
			msgs := make([]string, len(c.viol))
			for j, v := range c.viol {
				msgs[j] = k.Describe(v)
			}
			return Errorf(400, "instance %d: %s (the data contract of model %s version %d)", i, strings.Join(msgs, "; "), vs.name, vs.version)
		}
	}
	return nil
}

var contractDesc = prometheus.NewDesc("predictd_contract_violations_total",
	"Input values of a model version's requests that broke its data contract, by feature (column) and anomaly kind (missing_rate: a missing value where none is allowed; unexpected_type, out_of_range, new_category). With contract enforce the request was refused (400), with count it was served. A series appears at its first violation and goes when the version is unloaded.",
	[]string{"model", "version", "column", "kind"}, nil)

// contractCollector reports the live versions' violation counters.
type contractCollector struct{ s *Server }

func (c contractCollector) Describe(ch chan<- *prometheus.Desc) { ch <- contractDesc }

func (c contractCollector) Collect(ch chan<- prometheus.Metric) {
	type key struct {
		name    string
		version int
		feature int
		kind    int
	}
	// A version loaded again while requests hold its old state has two
	// states at once: their counts are summed into one series.
	sums := map[key]uint64{}
	names := map[key]string{}
	c.s.versions.Range(func(k, _ any) bool {
		vs := k.(*versionState)
		cs := vs.contract
		if cs == nil {
			return true
		}
		for i := range cs.counts {
			n := cs.counts[i].Load()
			if n == 0 {
				continue
			}
			kk := key{vs.name, vs.version, i / contract.NumKinds, i % contract.NumKinds}
			sums[kk] += n
			names[kk] = cs.checker.Name(kk.feature)
		}
		return true
	})
	for kk, n := range sums {
		m, err := prometheus.NewConstMetric(contractDesc, prometheus.CounterValue, float64(n), kk.name, strconv.Itoa(kk.version), names[kk], contract.Kind(kk.kind).String())
		if err != nil {
			m = prometheus.NewInvalidMetric(contractDesc, err) // fails the scrape, saying why
		}
		ch <- m
	}
}
