package main

import (
	"context"
	"io"
)

// cmdCapacity is `predictd capacity` (being built).
func cmdCapacity(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return usageErr("capacity: not built yet")
}
