package slo

import (
	"github.com/prometheus/client_golang/prometheus"
)

// The Tracker's metrics. Their names and labels are a contract (see
// docs/slo.md): slo is Availability or Latency, window a FormatWindow
// spelling ("5m" ... "3d" for burn rates, the SLO window for the SLI).
var (
	objectiveDesc = prometheus.NewDesc("predictd_slo_objective_ratio",
		"The model's objective: the fraction of requests that are to be good over the SLO window.",
		[]string{"model", "slo"}, nil)
	sliDesc = prometheus.NewDesc("predictd_slo_sli_ratio",
		"Fraction of the model's requests that were good (availability: not 5xx; latency: within the threshold) over the SLO window, as this process counted them.",
		[]string{"model", "slo", "window"}, nil)
	budgetDesc = prometheus.NewDesc("predictd_slo_error_budget_remaining_ratio",
		"Fraction of the SLO window's error budget left: 1 - (1 - SLI) / (1 - objective); below 0 when overspent.",
		[]string{"model", "slo"}, nil)
	burnDesc = prometheus.NewDesc("predictd_slo_burn_rate",
		"How fast the error budget burned over the window: its bad fraction of requests divided by 1 - objective (1: the budget lasts exactly the SLO window).",
		[]string{"model", "slo", "window"}, nil)
)

var _ prometheus.Collector = (*Tracker)(nil)

// Describe sends the descriptors of the metrics Collect sends.
func (t *Tracker) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{objectiveDesc, sliDesc, budgetDesc, burnDesc} {
		ch <- d
	}
}

// Collect sends each model's objectives, SLIs, budgets and burn rates
// now: a bounded set of series, 2 + 1 + 1 + len(Windows) for each model's
// objective.
func (t *Tracker) Collect(ch chan<- prometheus.Metric) {
	now := t.now()
	for _, name := range t.names {
		s := t.models[name].snapshot(name, now)
		for _, o := range s.Objectives {
			ch <- prometheus.MustNewConstMetric(objectiveDesc, prometheus.GaugeValue, o.Objective, name, o.SLO)
			ch <- prometheus.MustNewConstMetric(sliDesc, prometheus.GaugeValue, o.SLI, name, o.SLO, o.Window.String())
			ch <- prometheus.MustNewConstMetric(budgetDesc, prometheus.GaugeValue, o.ErrorBudgetRemaining, name, o.SLO)
			for _, b := range o.BurnRates {
				ch <- prometheus.MustNewConstMetric(burnDesc, prometheus.GaugeValue, b.Rate, name, o.SLO, b.Window.String())
			}
		}
	}
}
