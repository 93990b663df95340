package loadtest

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
)

// Prediction protocols, as URLProtocol and BodyProtocol name them.
const (
	ProtocolTFServing = "tfserving" // TF Serving REST: /v1/models/NAME[...]:predict, {"instances": [...]}
	ProtocolOIP       = "oip"       // Open Inference Protocol v2: /v2/models/NAME[/versions/V]/infer, {"inputs": [{"name", "datatype", ...}]}
)

// ProtocolName is a protocol's name for people.
func ProtocolName(p string) string {
	switch p {
	case ProtocolTFServing:
		return "TF Serving (v1 :predict)"
	case ProtocolOIP:
		return "Open Inference Protocol (v2 infer)"
	}
	return "unknown"
}

// URLProtocol names the prediction protocol an Options.URL's path speaks:
// ProtocolTFServing for /v1/models/NAME[/versions/V]:predict (or
// :classify, :regress), ProtocolOIP for /v2/models/NAME[/versions/V]/infer,
// "" for anything else (a path loadtest cannot judge).
func URLProtocol(rawURL string) string {
	t, err := parseTarget(rawURL)
	if err != nil {
		return ""
	}
	path := t.reqURI
	if u, err := url.ParseRequestURI(t.reqURI); err == nil {
		path = u.Path
	}
	switch {
	case strings.HasPrefix(path, "/v1/models/"):
		if i := strings.LastIndexByte(path, ':'); i > 0 {
			switch path[i+1:] {
			case "predict", "classify", "regress":
				return ProtocolTFServing
			}
		}
	case strings.HasPrefix(path, "/v2/models/") && strings.HasSuffix(path, "/infer"):
		return ProtocolOIP
	}
	return ""
}

// BodyProtocol names the protocol a request body is written for, from its
// top-level keys: ProtocolTFServing for an object with "instances",
// ProtocolOIP for one whose "inputs" is an array of objects with a
// "datatype" (TF Serving's columnar "inputs" has none), "" when it cannot
// tell.
func BodyProtocol(body []byte) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return ""
	}
	if _, ok := top["instances"]; ok {
		return ProtocolTFServing
	}
	if in := bytes.TrimSpace(top["inputs"]); len(in) > 0 && in[0] == '[' {
		var tensors []map[string]json.RawMessage
		if json.Unmarshal(in, &tensors) == nil && len(tensors) > 0 {
			if _, ok := tensors[0]["datatype"]; ok {
				return ProtocolOIP
			}
		}
	}
	return ""
}
