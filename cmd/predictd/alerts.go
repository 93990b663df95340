package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/predictd/predictd/internal/config"
	"github.com/predictd/predictd/tools/alerts"
)

// cmdAlerts writes the Prometheus rules for the SLOs in serve's config
// file (tools/alerts does the work): to --out, or stdout. When the file
// has a "labels" block (serve records labels), every entry of "models"
// also gets the live quality alerts, with its "quality": {"alert": ...}
// or the defaults.
func cmdAlerts(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("alerts", stderr)
	cfgPath := fs.String("config", "", `serve's JSON config file: each entry of "models" with an "slo" gets recording and alerting rules, and with a "labels" block every entry gets quality alerts (required)`)
	out := fs.String("out", "", "file to write the rules to (YAML); default stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "config"); err != nil {
		return err
	}
	models, err := readSLOs(*cfgPath)
	if err != nil {
		return err
	}
	if len(models) == 0 {
		fmt.Fprintf(stderr, "predictd alerts: no model in %s has an \"slo\" or quality alerts: writing the drift alerts only\n", *cfgPath)
	}
	rules, err := alerts.Generate(models)
	if err != nil {
		return usageErr("alerts: config file %s: %v", *cfgPath, err)
	}
	if *out == "" {
		_, err = stdout.Write(rules)
		return err
	}
	if err := os.WriteFile(*out, rules, 0o644); err != nil {
		return fmt.Errorf("alerts: --out: %w", err)
	}
	return nil
}

// readSLOs returns the objectives of the models in serve's config file at
// path, decoded and checked as serve does, and, when the file has a
// "labels" block, each model's quality alert (its quality.alert, strictly
// decoded, or the defaults); other keys are serve's business. Every
// error is a usage error naming the file.
func readSLOs(path string) ([]alerts.Model, error) {
	file, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErr("alerts: config file: %v", err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(file, &top); err != nil {
		return nil, usageErr("alerts: config file %s: %v", path, err)
	}
	var models []modelConfig
	var quality []*alerts.QualityAlert // by index in models
	if raw, ok := top["models"]; ok {
		var err error
		if raw, quality, err = takeQualityAlerts(path, file, raw); err != nil {
			return nil, err
		}
		if err := config.DecodeStrict(path, "models", file, raw, &models); err != nil {
			return nil, usageErr("alerts: %v", err)
		}
	}
	_, labelsOn := top["labels"]
	var out []alerts.Model
	for i, mc := range models {
		if err := mc.checkSLO(path); err != nil {
			return nil, usageErr("alerts: %v", err)
		}
		m := alerts.Model{Name: mc.Name}
		if mc.SLO != nil {
			m.SLO = *mc.SLO
		}
		if labelsOn {
			m.Quality = &alerts.QualityAlert{}
			if i < len(quality) && quality[i] != nil {
				m.Quality = quality[i]
			}
		}
		if mc.SLO != nil || m.Quality != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// takeQualityAlerts decodes each model's "quality": {"alert": ...}
// (strictly) and returns the models without it, for serve's modelConfig,
// which does not know the key.
func takeQualityAlerts(path string, file []byte, raw json.RawMessage) (json.RawMessage, []*alerts.QualityAlert, error) {
	var ms []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ms); err != nil {
		return raw, nil, nil // DecodeStrict names the error
	}
	out := make([]*alerts.QualityAlert, len(ms))
	for i, m := range ms {
		var q map[string]json.RawMessage
		if json.Unmarshal(m["quality"], &q) != nil || q["alert"] == nil {
			continue
		}
		var a alerts.QualityAlert
		if err := config.DecodeStrict(path, "alert", file, q["alert"], &a); err != nil {
			var name string
			_ = json.Unmarshal(m["name"], &name)
			return nil, nil, usageErr("alerts: model %q (entry %d of \"models\"): quality.alert: %v", name, i, err)
		}
		out[i] = &a
		delete(q, "alert")
		m["quality"], _ = json.Marshal(q)
	}
	stripped, err := json.Marshal(ms)
	return stripped, out, err
}
