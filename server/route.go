package server

import (
	"bytes"
	"unsafe"
)

// API names the protocol a request came in on; its String is the "api"
// label of the request series.
type API uint8

const (
	APITFServing API = iota // TF Serving REST, /v1/models/...
	APIOIP                  // Open Inference Protocol v2, /v2/models/...
	APIGRPC                 // the KServe v2 gRPC API (grpc.go)
	numAPIs
)

func (a API) String() string {
	switch a {
	case APIOIP:
		return "v2"
	case APIGRPC:
		return "grpc"
	}
	return "v1"
}

// verb is what a request to a model path asks for.
type verb uint8

const (
	verbStatus   verb = iota // GET /v1/models/{m}[...]: version status
	verbMetadata             // GET .../metadata (v1) or GET /v2/models/{m}[...] (v2)
	verbPredict              // POST ...:predict (v1)
	verbInfer                // POST .../infer (v2)
	verbReady                // GET .../ready (v2)
	verbLoad                 // admin: POST /v1/admin/models/{m}/versions/{v}/load
	verbUnload               // admin: .../unload
	verbLabel                // admin: POST /v1/admin/models/{m}/labels/{l}
	verbMonitor              // GET /v1/models/{m}/monitor: drift, cost, SLOs
	verbFeedback             // POST /v1/models/{m}/feedback: labels
	verbRollback             // admin: POST /v1/admin/models/{m}/rollback
)

// target is a parsed model path. name and label alias the request's path
// buffer and are valid only while the request is.
type target struct {
	name    []byte
	version int // 0: not given
	label   []byte
	verb    verb
}

// parseModelPath parses the part of a path after ".../models/": NAME, then
// optionally versions/V or labels/L, then a verb, written ":predict" on
// the last segment (TF Serving) or as a final segment (metadata, infer,
// ready, load, unload). api picks which verbs are valid. It reports false
// for a path that is not of this shape; the caller answers 404.
func parseModelPath(p []byte, api API, admin bool) (t target, ok bool) {
	var buf [4][]byte
	segs := splitPath(p, &buf)
	if len(segs) == 0 {
		return t, false
	}
	last := segs[len(segs)-1]
	colonVerb := []byte(nil)
	if i := bytes.IndexByte(last, ':'); i >= 0 {
		colonVerb = last[i+1:]
		segs[len(segs)-1] = last[:i]
	}
	t.name = segs[0]
	rest := segs[1:]
	if len(rest) >= 2 {
		switch string(rest[0]) {
		case "versions":
			v, ok := parseVersion(rest[1])
			if !ok {
				return t, false
			}
			t.version = v
		case "labels":
			if len(rest[1]) == 0 {
				return t, false
			}
			t.label = rest[1]
		default:
			return t, false
		}
		rest = rest[2:]
	}
	if len(t.name) == 0 || len(rest) > 1 {
		return t, false
	}
	tail := ""
	if len(rest) == 1 {
		tail = string(rest[0])
	}
	switch {
	case admin:
		switch {
		case colonVerb != nil:
			return t, false
		case tail == "" && t.label != nil:
			t.verb = verbLabel
		case tail == "load" && t.version > 0:
			t.verb = verbLoad
		case tail == "unload" && t.version > 0:
			t.verb = verbUnload
		case tail == "rollback" && t.version == 0 && t.label == nil:
			t.verb = verbRollback
		default:
			return t, false
		}
	case api == APITFServing:
		switch {
		case colonVerb != nil && tail == "" && string(colonVerb) == "predict":
			t.verb = verbPredict
		case colonVerb == nil && tail == "":
			t.verb = verbStatus
		case colonVerb == nil && tail == "metadata":
			t.verb = verbMetadata
		case colonVerb == nil && tail == "monitor":
			t.verb = verbMonitor
		case colonVerb == nil && tail == "feedback":
			t.verb = verbFeedback
		default:
			return t, false
		}
	default:
		if colonVerb != nil || t.label != nil {
			return t, false
		}
		switch tail {
		case "":
			t.verb = verbMetadata
		case "infer":
			t.verb = verbInfer
		case "ready":
			t.verb = verbReady
		default:
			return t, false
		}
	}
	return t, true
}

// splitPath splits p on '/' into buf without allocating. More segments
// than buf holds, or an empty segment (a doubled or trailing slash), make
// the path invalid: it returns nil.
func splitPath(p []byte, buf *[4][]byte) [][]byte {
	segs := buf[:0]
	for len(p) > 0 {
		if len(segs) == len(buf) {
			return nil
		}
		i := bytes.IndexByte(p, '/')
		if i < 0 {
			segs = append(segs, p)
			break
		}
		if i == 0 {
			return nil
		}
		segs = append(segs, p[:i])
		p = p[i+1:]
		if len(p) == 0 {
			return nil
		}
	}
	return segs
}

// parseVersion parses a positive decimal version without leading zeros.
func parseVersion(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 || b[0] == '0' {
		return 0, false
	}
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// bstr views b as a string without copying. The string must not outlive b's
// contents: use it for map lookups and for messages formatted (copied) at
// once, never store it.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
