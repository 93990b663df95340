//go:build !unix

package loadtest

import "time"

func nanosleep(d time.Duration) { time.Sleep(d) }
