package main

import (
	"context"
	"io"
)

// cmdEval is being built (issue 16); it refuses to run until then.
func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return usageErr("eval: not built yet")
}
