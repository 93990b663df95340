package featcache

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const goodDefs = `entities:
  - name: user
    join_key: user_id
    key_type: string
  - name: item
    join_key: item_id
    key_type: int
feature_views:
  - name: user_stats
    entity: user
    ttl: 24h
    source: warehouse.user_stats
    features:
      - name: clicks_7d
        type: float
        default: 0
      - name: country
        type: categorical
      - name: age
        type: int
        default: -1.5
  - name: item_stats
    entity: item
    ttl: 90m
    features:
      - name: price
        type: float
`

func TestParseDefs(t *testing.T) {
	d, err := ParseDefs([]byte(goodDefs), "defs.yaml")
	if err != nil {
		t.Fatalf("ParseDefs: %v", err)
	}
	if len(d.Entities) != 2 || len(d.Views) != 2 {
		t.Fatalf("ParseDefs: %d entities, %d views, want 2, 2", len(d.Entities), len(d.Views))
	}
	v, ok := d.View("user_stats")
	if !ok {
		t.Fatal(`View("user_stats") not found`)
	}
	if v.Entity.Name != "user" || v.Entity.JoinKey != "user_id" || v.Entity.KeyType != KeyString {
		t.Errorf("user_stats entity = %+v, want user/user_id/string", *v.Entity)
	}
	if v.TTL != 24*time.Hour || v.Source != "warehouse.user_stats" {
		t.Errorf("user_stats TTL, source = %v, %q, want 24h, warehouse.user_stats", v.TTL, v.Source)
	}
	want := []Feature{{"clicks_7d", Float, 0}, {"country", Categorical, math.NaN()}, {"age", Int, -1.5}}
	if len(v.Features) != len(want) {
		t.Fatalf("user_stats features = %+v, want %+v", v.Features, want)
	}
	for i, f := range want {
		g := v.Features[i]
		if g.Name != f.Name || g.Type != f.Type || math.Float64bits(g.Default) != math.Float64bits(f.Default) {
			t.Errorf("user_stats feature %d = %+v, want %+v", i, g, f)
		}
		if got := v.Index(f.Name); got != i {
			t.Errorf("Index(%q) = %d, want %d", f.Name, got, i)
		}
	}
	if got := v.Index("nope"); got != -1 {
		t.Errorf(`Index("nope") = %d, want -1`, got)
	}
	if _, ok := d.View("nope"); ok {
		t.Error(`View("nope") found`)
	}
	iv, _ := d.View("item_stats")
	if iv.TTL != 90*time.Minute || iv.Entity.KeyType != KeyInt {
		t.Errorf("item_stats = %+v, want TTL 90m, int key", *iv)
	}
	if e, ok := d.Entity("item"); !ok || e != iv.Entity {
		t.Errorf(`Entity("item") = %v, %v, want item_stats' entity`, e, ok)
	}
}

func TestParseDefsErrors(t *testing.T) {
	// f replaces old with new in goodDefs (old must occur) and wants an
	// error containing want.
	f := func(old, new, want string) {
		t.Helper()
		if !strings.Contains(goodDefs, old) {
			t.Fatalf("goodDefs has no %q", old)
		}
		src := strings.Replace(goodDefs, old, new, 1)
		_, err := ParseDefs([]byte(src), "defs.yaml")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDefs(goodDefs with %q -> %q) error = %v, want one containing %q", old, new, err, want)
		}
	}
	f("entities:", "entitys:", "defs.yaml:1: entitys: unknown key")
	f("    key_type: string\n", "    key_type: string\n    color: red\n", "defs.yaml:5: entities[0].color: unknown key")
	f("    key_type: string", "    key_type: uuid", `defs.yaml:4: entities[0].key_type: bad key type "uuid"`)
	f("  - name: item\n", "  - name: user\n", `defs.yaml:5: entities[1].name: duplicate entity "user"`)
	f("    join_key: item_id\n", "", "defs.yaml:5: entities[1]: missing join_key")
	f("    entity: user", "    entity: account", `defs.yaml:10: feature_views[0].entity: unknown entity "account"`)
	f("    ttl: 24h", "    ttl: 1 day", `defs.yaml:11: feature_views[0].ttl: bad TTL "1 day"`)
	f("    ttl: 24h", "    ttl: -1h", `defs.yaml:11: feature_views[0].ttl: TTL -1h is not positive`)
	f("    ttl: 24h", "    ttl: 0s", `TTL 0s is not positive`)
	f("        type: categorical", "        type: string", `defs.yaml:18: feature_views[0].features[1].type: bad type "string"`)
	f("        default: 0", "        default: zero", `defs.yaml:16: feature_views[0].features[0].default: default "zero" is not a number`)
	f("        default: 0", `        default: "0"`, `default "0" is not a number`)
	f("      - name: age", "      - name: country", `defs.yaml:19: feature_views[0].features[2].name: duplicate feature "country"`)
	f("  - name: item_stats", "  - name: user_stats", `defs.yaml:22: feature_views[1].name: duplicate feature view "user_stats"`)
	f("    features:\n      - name: price\n        type: float\n", "    features: []\n", "defs.yaml:25: feature_views[1].features: no features")
	f("    ttl: 90m\n", "", "defs.yaml:22: feature_views[1]: missing ttl")
	f("    ttl: 90m\n", "    ttl: 90m\n    ttl: 1h\n", "defs.yaml:25: feature_views[1].ttl: duplicate key")
	f("  - name: user\n", "  - name: us er\n", `bad name "us er"`)
	f("    source: warehouse.user_stats", "    source: [a, b]", "feature_views[0].source: want a scalar, got a list")
	f(goodDefs, "\n\nentities: 3\n", "defs.yaml:3: entities: want a list")
	f(goodDefs, "", "defs.yaml: empty definitions file")
	f(goodDefs, "- a", "defs.yaml:1: definitions: want a mapping, got a list")
	f(goodDefs, "a: [", "defs.yaml: yaml:")
	f(goodDefs, "entities: []\n---\nentities: []\n", "more than one YAML document")
}

func TestLoadDefs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "features.yaml")
	if err := os.WriteFile(path, []byte("entities:\n  - name: u\n    join_key: uid\n    key_type: oops\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadDefs(path)
	if want := path + ":4: entities[0].key_type"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("LoadDefs(%s) error = %v, want one containing %q", path, err, want)
	}
	if _, err := LoadDefs(path + ".missing"); err == nil {
		t.Errorf("LoadDefs of a missing file: no error")
	}
}

func FuzzParseDefs(f *testing.F) {
	f.Add([]byte(goodDefs))
	f.Add([]byte("entities: []\n"))
	f.Add([]byte("feature_views: [{name: v, entity: e, ttl: 1h, features: [{name: a, type: int, default: .nan}]}]"))
	f.Add([]byte("a: &x [*x]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDefs(data, "fuzz.yaml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("ParseDefs(%q) error %q does not name the file", data, err)
			}
			return
		}
		for _, v := range d.Views {
			if v.Entity == nil || v.TTL <= 0 || len(v.Features) == 0 {
				t.Fatalf("ParseDefs(%q) accepted view %+v", data, *v)
			}
			for i, ft := range v.Features {
				if v.Index(ft.Name) != i {
					t.Fatalf("ParseDefs(%q): view %s Index(%q) = %d, want %d", data, v.Name, ft.Name, v.Index(ft.Name), i)
				}
			}
		}
	})
}

func TestCanonicalKey(t *testing.T) {
	ik := &Entity{Name: "item", JoinKey: "item_id", KeyType: KeyInt}
	sk := &Entity{Name: "user", JoinKey: "user_id", KeyType: KeyString}
	f := func(e *Entity, in, want string, wantErr bool) {
		t.Helper()
		got, err := e.CanonicalKey(in)
		if got != want || (err != nil) != wantErr {
			t.Errorf("%s.CanonicalKey(%q) = %q, %v, want %q (error %v)", e.Name, in, got, err, want, wantErr)
		}
	}
	f(ik, "42", "42", false)
	f(ik, "+007", "7", false)
	f(ik, "-0", "0", false)
	f(ik, "-12", "-12", false)
	f(ik, "1.5", "", true)
	f(ik, "99999999999999999999", "", true)
	f(ik, "", "", true)
	f(sk, "+007", "+007", false)
	f(sk, "", "", true)
	f(sk, "a\x00b", "", true)
	f(sk, "a\nb", "", true)
	f(sk, "a\x7fb", "", true)
	f(sk, "\xff", "", true)
	f(sk, "a/b ü", "a/b ü", false)
	f(sk, strings.Repeat("k", MaxKeyBytes), strings.Repeat("k", MaxKeyBytes), false)
	f(sk, strings.Repeat("k", MaxKeyBytes+1), "", true)
	f(ik, strings.Repeat("1", 1<<20), "", true)
}
