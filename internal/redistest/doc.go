// Package redistest starts a real redis-server for tests and benchmarks
// (featcache/redisstore, featcache/redisstream). It is test support only:
// production code must not import it.
//
// Start looks redis-server up on PATH and fails the test when it is
// missing (.ci/run installs it; a skip would hide what the test checks). Each Server is a
// separate process on a free local port with no persistence, owned by
// the test that started it and killed when that test ends. A Server's
// methods may be called from the test's goroutine; Addr is immutable.
package redistest
