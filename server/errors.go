package server

import "fmt"

// StatusError is the one error type that carries an HTTP status. Decoders
// return it for everything a client can fix; the handler maps it to the
// response in one place (status and {"error": Msg}).
type StatusError struct {
	Status int    // HTTP status code, e.g. 400 or 413
	Msg    string // what is wrong and where, for the client
}

// Error returns Msg.
func (e *StatusError) Error() string { return e.Msg }

// Errorf formats a StatusError. It allocates: use it on failure paths only.
func Errorf(status int, format string, args ...any) *StatusError {
	return &StatusError{Status: status, Msg: fmt.Sprintf(format, args...)}
}
