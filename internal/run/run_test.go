package run

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestGroupOrder(t *testing.T) {
	var log []string
	comp := func(name string, startErr, stopErr error) Component {
		return Component{
			Name:  name,
			Start: func(context.Context) error { log = append(log, "start "+name); return startErr },
			Stop:  func(context.Context) error { log = append(log, "stop "+name); return stopErr },
		}
	}
	f := func(comps []Component, wantStartErr, wantStopErr string, want ...string) {
		t.Helper()
		log = nil
		var g Group
		var startErr error
		for _, c := range comps {
			if startErr = g.Start(context.Background(), c); startErr != nil {
				break
			}
		}
		stopErr := g.Stop(context.Background())
		if errString(startErr) != wantStartErr || errString(stopErr) != wantStopErr {
			t.Errorf("errors %q, %q, want %q, %q", errString(startErr), errString(stopErr), wantStartErr, wantStopErr)
		}
		if strings.Join(log, ", ") != strings.Join(want, ", ") {
			t.Errorf("calls %v, want %v", log, want)
		}
		if err := g.Stop(context.Background()); err != nil || len(g.started) != 0 {
			t.Errorf("a second Stop: %v, %d components left", err, len(g.started))
		}
	}
	boom := errors.New("boom")
	f([]Component{comp("a", nil, nil), comp("b", nil, nil), comp("c", nil, nil)}, "", "",
		"start a", "start b", "start c", "stop c", "stop b", "stop a")
	// A failed start is not stopped; what started before it is.
	f([]Component{comp("a", nil, nil), comp("b", boom, nil), comp("c", nil, nil)}, "b: boom", "",
		"start a", "start b", "stop a")
	// A failed stop does not keep the others from stopping.
	f([]Component{comp("a", nil, boom), comp("b", nil, boom), comp("c", nil, nil)}, "", "stop b: boom\nstop a: boom",
		"start a", "start b", "start c", "stop c", "stop b", "stop a")
	// Nil Start and Stop are skipped.
	f([]Component{{Name: "x"}, comp("a", nil, nil)}, "", "", "start a", "stop a")
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
