package main

import (
	"context"
	"io"
)

// cmdCandidates is being built (issue 16); it refuses to run until then.
func cmdCandidates(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return usageErr("candidates: not built yet")
}
