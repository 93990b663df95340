// Package config fills a command's flags from environment variables and a
// JSON config file, so every setting has three spellings with one meaning:
// the flag --max-body-bytes, the variable PREDICTD_MAX_BODY_BYTES and the
// config key "max_body_bytes". A flag given on the command line wins over
// the environment, which wins over the file, which wins over the default.
//
// The functions are called once at start-up from one goroutine.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// EnvName is the environment variable for flag name: PREDICTD_ and the
// name upper-cased with dashes as underscores.
func EnvName(name string) string {
	return "PREDICTD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// KeyName is the config-file key for flag name: dashes as underscores.
func KeyName(name string) string { return strings.ReplaceAll(name, "-", "_") }

// Explicit returns the names of the flags given on the command line.
func Explicit(fs *flag.FlagSet) map[string]bool {
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// ApplyEnv sets each flag not in set from its environment variable, if
// that is set, and adds it to set. lookup is os.LookupEnv in production.
func ApplyEnv(fs *flag.FlagSet, set map[string]bool, lookup func(string) (string, bool)) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || set[f.Name] {
			return
		}
		v, ok := lookup(EnvName(f.Name))
		if !ok {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("environment variable %s=%q: %v", EnvName(f.Name), v, e)
			return
		}
		set[f.Name] = true
	})
	return err
}

// ApplyFile reads the JSON object in path and sets each flag not in set
// from its key. Scalar keys are the flags' names (see KeyName), written as
// JSON strings, numbers or booleans; a duration is a string such as "5s".
// The keys named in sections (such as "models") are not flags: their raw
// JSON is returned for the caller to decode. Any other key is an error
// naming the key, the file and its line, so a typo never passes silently.
func ApplyFile(fs *flag.FlagSet, set map[string]bool, path string, sections ...string) (map[string]json.RawMessage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("config file %s: %s", path, describeJSONError(data, err))
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]json.RawMessage)
	for _, k := range keys {
		v := raw[k]
		if contains(sections, k) {
			out[k] = v
			continue
		}
		name := strings.ReplaceAll(k, "_", "-")
		f := fs.Lookup(name)
		if f == nil || name == "config" {
			return nil, fmt.Errorf("config file %s line %d: unknown key %q (keys: %s)", path, lineOfKey(data, k), k, strings.Join(knownKeys(fs, sections), ", "))
		}
		if set[name] {
			continue
		}
		var s string
		switch {
		case len(v) > 0 && v[0] == '"':
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, fmt.Errorf("config file %s line %d: key %q: %v", path, lineOfKey(data, k), k, err)
			}
		case bytes.Equal(v, []byte("null")) || (len(v) > 0 && (v[0] == '{' || v[0] == '[')):
			return nil, fmt.Errorf("config file %s line %d: key %q: want a string, number or boolean, got %s", path, lineOfKey(data, k), k, v)
		default:
			s = string(v)
		}
		if err := fs.Set(name, s); err != nil {
			return nil, fmt.Errorf("config file %s line %d: key %q: %v", path, lineOfKey(data, k), k, err)
		}
		set[name] = true
	}
	return out, nil
}

// DecodeStrict decodes a section of a config file into v, refusing unknown
// fields, and names the file and line of what is wrong.
func DecodeStrict(path, key string, file []byte, raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		line := lineOfKey(file, key)
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return fmt.Errorf("config file %s, %q (from line %d): field %s: want %s, got a JSON %s", path, key, line, te.Field, te.Type, te.Value)
		case errors.As(err, &se):
			return fmt.Errorf("config file %s, %q (from line %d): %v", path, key, line, err)
		}
		return fmt.Errorf("config file %s, %q (from line %d): %v", path, key, line, err)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func knownKeys(fs *flag.FlagSet, sections []string) []string {
	var ks []string
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "config" {
			ks = append(ks, KeyName(f.Name))
		}
	})
	ks = append(ks, sections...)
	sort.Strings(ks)
	return ks
}

// lineOfKey is the 1-based line where "key": first appears in data, or 0.
func lineOfKey(data []byte, key string) int {
	q, _ := json.Marshal(key)
	i := bytes.Index(data, q)
	if i < 0 {
		return 0
	}
	return bytes.Count(data[:i], []byte("\n")) + 1
}

// describeJSONError turns encoding/json's byte offset into a line and
// column.
func describeJSONError(data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset > 0 && int(se.Offset) <= len(data) {
		before := data[:se.Offset]
		line := bytes.Count(before, []byte("\n")) + 1
		col := int(se.Offset) - bytes.LastIndexByte(before, '\n') - 1
		return fmt.Sprintf("line %d column %d: %v", line, col, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("want a JSON object of settings, got a JSON %s", te.Value)
	}
	return err.Error()
}

// Duration is a time.Duration written in a config file as a Go duration
// string ("250ms", "2s").
type Duration time.Duration

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"250ms\", got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration string such as \"250ms\", got %q", s)
	}
	*d = Duration(v)
	return nil
}
