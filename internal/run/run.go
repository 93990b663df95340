// Package run starts a daemon's components in order and stops them in
// reverse, the shape of Prometheus' run.Group made sequential: each
// component is started only after the one before it started, and on the
// way down each is stopped only after every component started after it
// has stopped, so a component may use any component started before it for
// as long as it runs.
//
// A Group is used by one goroutine: Start calls, then one Stop.
package run

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Component is one part of a daemon.
type Component struct {
	// Name names the component in errors and logs ("feature store").
	Name string
	// Start brings the component up. ctx is the daemon's run context,
	// cancelled when the daemon is told to stop (SIGTERM): work Start
	// leaves running in the background (a model load, a stream read) must
	// end when it is cancelled. Start itself should return promptly. Nil
	// means nothing to start.
	Start func(ctx context.Context) error
	// Stop takes the component down; ctx carries the deadline of the whole
	// shutdown. It is called once, and only if Start returned nil. Nil
	// means nothing to stop.
	Stop func(ctx context.Context) error
}

// Group is the components started so far.
type Group struct {
	// Logf, if set, is told when each component is stopped and how long
	// it took.
	Logf    func(format string, args ...any)
	started []Component
}

// Start starts c. If it fails, the error names c and c is not stopped
// later; the caller then stops the Group, which stops what had started.
func (g *Group) Start(ctx context.Context, c Component) error {
	if c.Start != nil {
		if err := c.Start(ctx); err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	g.started = append(g.started, c)
	return nil
}

// Stop stops every started component, the last started first, each with
// ctx. A component whose Stop fails does not keep the others from
// stopping; the errors are joined, each naming its component.
func (g *Group) Stop(ctx context.Context) error {
	var errs []error
	for i := len(g.started) - 1; i >= 0; i-- {
		c := g.started[i]
		if c.Stop == nil {
			continue
		}
		t0 := time.Now()
		err := c.Stop(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", c.Name, err))
		}
		if g.Logf != nil {
			if err != nil {
				g.Logf("stopped %s in %s: %v", c.Name, time.Since(t0).Round(time.Millisecond), err)
			} else {
				g.Logf("stopped %s in %s", c.Name, time.Since(t0).Round(time.Millisecond))
			}
		}
	}
	g.started = nil
	return errors.Join(errs...)
}
