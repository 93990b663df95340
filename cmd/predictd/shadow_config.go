package main

import (
	"fmt"

	"github.com/predictd/predictd/server"
)

// shadowConfig is a model's "shadow" block in the config file
// (docs/shadow.md): either "version" (another version of the same model)
// or "model" with an optional "model_version" (another model with the
// same model columns; its latest version when left out).
type shadowConfig struct {
	Version      int      `json:"version"`
	Model        string   `json:"model"`
	ModelVersion int      `json:"model_version"`
	SampleRate   *float64 `json:"sample_rate"`
	Tolerance    float64  `json:"tolerance"`
	Threshold    float64  `json:"threshold"`
	QueueRows    int      `json:"queue_rows"`
	Workers      int      `json:"workers"`
}

// options returns the block as server.ShadowOptions; nil for none. A
// sample_rate left out is 1 (every request).
func (c *shadowConfig) options() *server.ShadowOptions {
	if c == nil {
		return nil
	}
	o := &server.ShadowOptions{
		Model:      c.Model,
		Version:    c.Version,
		SampleRate: 1,
		Tolerance:  c.Tolerance,
		Threshold:  c.Threshold,
		QueueRows:  c.QueueRows,
		Workers:    c.Workers,
	}
	if c.Model != "" {
		o.Version = c.ModelVersion
	}
	if c.SampleRate != nil {
		o.SampleRate = *c.SampleRate
	}
	return o
}

// checkShadow validates the model's shadow block, if any; the error names
// the config file and the model.
func (mc modelConfig) checkShadow(path string) error {
	c := mc.Shadow
	if c == nil {
		return nil
	}
	switch {
	case c.Model != "" && c.Version != 0:
		return fmt.Errorf("config file %s: model %q: shadow sets both version %d and model %q: give version for another version of this model, or model (and model_version) for another model", path, mc.Name, c.Version, c.Model)
	case c.Model == "" && c.ModelVersion != 0:
		return fmt.Errorf("config file %s: model %q: shadow.model_version %d without shadow.model: for another version of this model use shadow.version", path, mc.Name, c.ModelVersion)
	case c.Model == "" && c.Version == 0:
		return fmt.Errorf("config file %s: model %q: shadow names no shadow: give version (another version of this model) or model", path, mc.Name)
	case c.Model == mc.Name:
		return fmt.Errorf("config file %s: model %q: shadow.model is the model itself: use shadow.version for another version of it", path, mc.Name)
	}
	if err := c.options().Validate(mc.Name); err != nil {
		return fmt.Errorf("config file %s: model %q: %v", path, mc.Name, err)
	}
	return nil
}
