package main

import (
	"context"
	"io"
)

// cmdDataset is being built (issue 16); it refuses to run until then.
func cmdDataset(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return usageErr("dataset: not built yet")
}
