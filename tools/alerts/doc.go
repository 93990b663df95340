// Package alerts writes the Prometheus rules for predictd's service level
// objectives and drift (`predictd alerts`): for each model with an "slo"
// in the serve config file, recording rules that compute its SLIs, burn
// rates and error budget from the counters predictd already exports
// (predictd_requests_total, predictd_request_duration_seconds); the SRE
// workbook's multiwindow, multi-burn-rate alerts over them (the windows
// and factors are monitor/slo's Alerts); and alerts on the drift status
// gauge predictd_drift_status; and, for each model given a Quality, alerts
// on its live quality (predictd_model_quality, its slices and its CBPE
// estimate) falling worse than its offline evaluation
// (predictd_model_quality_baseline) by more than a tolerance.
// docs/slo.md explains the rules and the metric names they rely on.
//
// Invariants: the output is a pure function of the models (sorted by
// name; maps written with sorted keys), so a rule file in version control
// changes only when the config does; every rule passes `promtool check
// rules`, and testdata/*_test.yml are `promtool test rules` unit tests of
// each alert firing on a series that breaks its objective and staying
// silent on one that does not (TestPromtool runs both).
//
// The functions are pure and safe for concurrent use.
package alerts
