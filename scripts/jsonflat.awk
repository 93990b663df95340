# jsonflat.awk < JSON: one line per scalar, "path<TAB>value", the path of
# object keys and array indexes (from 0) joined by dots
# (versions.0.windows.2.drift.status), with awk alone (no jq on a fresh
# machine). A string is printed without its quotes, an escape as its bare
# character (\" as ", \n as n; \u003c, \u003e, \u0026 as <, >, &: Go
# escapes those), null as null; objects and arrays are not values. Used by
# scripts/demo-monitor.sh and bench/serve-lib.sh (json_fields).
    { doc = doc $0 "\n" }
    END {
      n = length(doc); d = 0; i = 1; want_key = 0
      while (i <= n) {
        c = substr(doc, i, 1)
        if (c == "{") { kind[++d] = "o"; key[d] = ""; want_key = 1; i++; continue }
        if (c == "[") { kind[++d] = "a"; key[d] = 0; i++; continue }
        if (c == "}" || c == "]") { d--; i++; continue }
        if (c == ",") { if (kind[d] == "a") key[d]++; else want_key = 1; i++; continue }
        if (c == ":") { want_key = 0; i++; continue }
        if (index(" \t\r\n", c)) { i++; continue }
        if (c == "\"") {
          tok = ""
          for (i++; i <= n; i++) {
            c = substr(doc, i, 1)
            if (c == "\"") break
            if (c == "\\") {
              c = substr(doc, ++i, 1)
              if (c == "u") { # Go escapes <, > and & in JSON strings
                h = tolower(substr(doc, i + 1, 4)); i += 4
                c = (h == "003c") ? "<" : (h == "003e") ? ">" : (h == "0026") ? "&" : "?"
              }
            }
            tok = tok c
          }
          i++
        } else {
          for (j = i; j <= n && index(",}] \t\r\n", substr(doc, j, 1)) == 0; j++) ;
          tok = substr(doc, i, j - i); i = j
        }
        if (kind[d] == "o" && want_key) { key[d] = tok; continue }
        p = key[1]; for (k = 2; k <= d; k++) p = p "." key[k]
        print p "\t" tok
      }
    }
