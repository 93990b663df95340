package loadtest

import "testing"

func TestURLProtocol(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"http://127.0.0.1:8080/v1/models/wine:predict", ProtocolTFServing},
		{"https://h/v1/models/wine/versions/3:classify?x=1", ProtocolTFServing},
		{"unix:/tmp/p.sock:/v1/models/m:regress", ProtocolTFServing},
		{"http://h/v2/models/wine/infer", ProtocolOIP},
		{"http://h/v2/models/wine/versions/2/infer", ProtocolOIP},
		{"unix:/tmp/p.sock:/v2/models/m/infer", ProtocolOIP},
		{"http://h/v1/models/wine/metadata", ""},
		{"http://h/v2/models/wine", ""},
		{"http://h/", ""},
		{"ftp://h/v2/models/m/infer", ""},
	} {
		if got := URLProtocol(c.url); got != c.want {
			t.Errorf("URLProtocol(%q) = %q, want %q", c.url, got, c.want)
		}
	}
}

func TestBodyProtocol(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"instances":[[1,2]]}`, ProtocolTFServing},
		{`{"signature_name":"x","instances":[{"a":1}]}`, ProtocolTFServing},
		{`{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP32","data":[1,2]}]}`, ProtocolOIP},
		{`{"inputs":{"a":[1,2]}}`, ""}, // TF Serving's columnar form: not judged
		{`{"inputs":[[1,2]]}`, ""},
		{`{"x":1}`, ""},
		{`[1,2]`, ""},
		{`not json`, ""},
	} {
		if got := BodyProtocol([]byte(c.body)); got != c.want {
			t.Errorf("BodyProtocol(%s) = %q, want %q", c.body, got, c.want)
		}
	}
}
