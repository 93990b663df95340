package slo

import "time"

// Windows are the windows burn rates are reported over: the SRE
// workbook's multiwindow pairs (chapter "Alerting on SLOs": 1h with 5m,
// 6h with 30m, 1d with 2h, 3d with 6h), shortest first.
var Windows = [...]time.Duration{
	5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 24 * time.Hour, 72 * time.Hour,
}

// BurnAlert is one multiwindow burn-rate alert condition: it holds while
// the burn rate over both Long and Short exceeds Factor. Long says the
// budget has been burning for a while; Short says it still is, so the
// alert stops soon after the burning does.
type BurnAlert struct {
	Severity    string // "page" or "ticket"
	Long, Short time.Duration
	Factor      float64 // the burn rate both windows must exceed
}

// Alerts are the SRE workbook's recommended multiwindow, multi-burn-rate
// alerts for a 30-day window, as its chapter "Alerting on SLOs" gives
// them: page when 2% of the budget goes in an hour (14.4x over 1h and 5m)
// or 5% in six hours (6x over 6h and 30m); ticket when 10% goes in a day
// (3x over 1d and 2h) or in three days (1x over 3d and 6h). The factors
// are kept for other windows (predictd's default is 28 days, where 14.4x
// spends 2.1% of the budget in an hour): they say how fast the budget
// burns, which is what an on-call engineer acts on.
var Alerts = [...]BurnAlert{
	{"page", time.Hour, 5 * time.Minute, 14.4},
	{"page", 6 * time.Hour, 30 * time.Minute, 6},
	{"ticket", 24 * time.Hour, 2 * time.Hour, 3},
	{"ticket", 72 * time.Hour, 6 * time.Hour, 1},
}

// Objective kinds: the "slo" label of the metrics and rules.
const (
	Availability = "availability"
	Latency      = "latency"
)
