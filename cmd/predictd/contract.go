package main

import (
	"context"
	"io"
)

// cmdContract is being built (issue 16); it refuses to run until then.
func cmdContract(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return usageErr("contract: not built yet")
}
