package eval

import (
	"context"
	"errors"
)

func run(ctx context.Context, opts Options) (*Report, error) {
	return nil, errors.New("eval: not built yet")
}
