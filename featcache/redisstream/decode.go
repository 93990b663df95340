package redisstream

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/redis/rueidis"

	"github.com/predictd/predictd/featcache"
)

// The fields every message has besides one per feature.
const (
	fieldView      = "view"
	fieldEntity    = "entity"
	fieldEventTime = "event_time"
)

// Decode reads one stream entry's fields (see the package doc for the
// format) as a row of a view of defs. The row is checked as
// featcache.Service.Write checks it, and more: its entity is canonical and
// passes featcache.CheckKey, its event time is read by
// featcache.ParseEventTime (push's and materialize's parser). How far in
// the future the time may be is Service.Write's check (it has the clock),
// so a refused entry is dead-lettered like any other. An error
// names the field and what to send instead. Decode is a pure function, safe
// for concurrent use.
func Decode(defs *featcache.Defs, fields []rueidis.XRangeFieldValue) (view string, row featcache.Row, err error) {
	var (
		v                 *featcache.View
		entity, eventTime string
		haveEnt, haveTime bool
		seen              = make(map[string]bool, len(fields))
	)
	for _, f := range fields {
		if seen[f.Field] {
			return "", featcache.Row{}, fmt.Errorf("field %q given twice", f.Field)
		}
		seen[f.Field] = true
		switch f.Field {
		case fieldView:
			vw, ok := defs.View(f.Value)
			if !ok {
				return "", featcache.Row{}, fmt.Errorf("field %q: no feature view %q (views: %s)", fieldView, f.Value, viewNames(defs))
			}
			v = vw
		case fieldEntity:
			entity, haveEnt = f.Value, true
		case fieldEventTime:
			eventTime, haveTime = f.Value, true
		}
	}
	if v == nil {
		return "", featcache.Row{}, fmt.Errorf("field %q missing (want the feature view's name)", fieldView)
	}
	if !haveEnt {
		return "", featcache.Row{}, fmt.Errorf("field %q missing (want the %s join key's value)", fieldEntity, v.Entity.JoinKey)
	}
	if entity == "" {
		return "", featcache.Row{}, fmt.Errorf("field %q: empty", fieldEntity)
	}
	key, err := v.Entity.CanonicalKey(entity)
	if err != nil {
		return "", featcache.Row{}, fmt.Errorf("field %q: %v", fieldEntity, err)
	}
	if !haveTime {
		return "", featcache.Row{}, fmt.Errorf("field %q missing (want a time such as 2026-11-25T12:00:00Z)", fieldEventTime)
	}
	at, err := featcache.ParseEventTime(eventTime)
	if err != nil {
		return "", featcache.Row{}, fmt.Errorf("field %q: %v", fieldEventTime, err)
	}
	for _, f := range fields {
		switch f.Field {
		case fieldView, fieldEntity, fieldEventTime:
			continue
		}
		if v.Index(f.Field) < 0 {
			return "", featcache.Row{}, fmt.Errorf("unknown field %q (want view, entity, event_time and the features of view %s)", f.Field, v.Name)
		}
	}
	vals := make([]float64, len(v.Features))
	for _, feat := range v.Features {
		if !seen[feat.Name] {
			return "", featcache.Row{}, fmt.Errorf("feature %q missing (send \"\", null or NaN for a missing value)", feat.Name)
		}
	}
	for _, f := range fields {
		j := v.Index(f.Field)
		if j < 0 {
			continue
		}
		x, err := parseValue(f.Value)
		if err == nil {
			err = v.Features[j].CheckValue(x)
		}
		if err != nil {
			return "", featcache.Row{}, fmt.Errorf("feature %q: %v", f.Field, err)
		}
		vals[j] = x
	}
	return v.Name, featcache.Row{Entity: key, EventTime: at, Values: vals}, nil
}

// parseValue reads a feature value: a finite decimal number, or "", "null"
// or "NaN" for a missing one.
func parseValue(s string) (float64, error) {
	switch s {
	case "", "null", "NaN":
		return math.NaN(), nil
	}
	x, err := strconv.ParseFloat(s, 64)
	// ParseFloat also takes hex floats, underscores after a base prefix,
	// "Inf" and other spellings of NaN; a feature pipeline sends none of those.
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) || strings.ContainsAny(s, "xX_") {
		return 0, fmt.Errorf("%q is not a finite decimal number (send \"\", null or NaN for a missing value)", s)
	}
	return x, nil
}

func viewNames(defs *featcache.Defs) string {
	var b strings.Builder
	for i, v := range defs.Views {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(v.Name)
	}
	return b.String()
}
