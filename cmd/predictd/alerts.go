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
// file (tools/alerts does the work): to --out, or stdout.
func cmdAlerts(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("alerts", stderr)
	cfgPath := fs.String("config", "", `serve's JSON config file: each entry of "models" with an "slo" gets recording and alerting rules (required)`)
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
		fmt.Fprintf(stderr, "predictd alerts: no model in %s has an \"slo\": writing the drift alerts only\n", *cfgPath)
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
// path, decoded and checked as serve does; other keys are serve's
// business. Every error is a usage error naming the file.
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
	if raw, ok := top["models"]; ok {
		if err := config.DecodeStrict(path, "models", file, raw, &models); err != nil {
			return nil, usageErr("alerts: %v", err)
		}
	}
	var out []alerts.Model
	for _, mc := range models {
		if err := mc.checkSLO(path); err != nil {
			return nil, usageErr("alerts: %v", err)
		}
		if mc.SLO != nil {
			out = append(out, alerts.Model{Name: mc.Name, SLO: *mc.SLO})
		}
	}
	return out, nil
}
