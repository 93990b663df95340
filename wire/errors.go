package wire

import (
	"errors"
	"fmt"
)

// The decoders' errors are a client's to fix. Each is an *Error whose
// message says what is wrong and where (the instance, field, input or
// byte); errors.Is tells which kind it is.
var (
	// ErrInvalid: the body is not valid JSON, or not a request the schema
	// takes. HTTP answers it 400.
	ErrInvalid = errors.New("invalid request")
	// ErrTooLarge: the request holds more instances than Limits allow.
	// HTTP answers it 413.
	ErrTooLarge = errors.New("request too large")
)

// Error is a request the decoders refuse. Its Error is Msg alone, for the
// client; it unwraps to ErrInvalid or ErrTooLarge.
type Error struct {
	Msg  string
	kind error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the error's kind, ErrInvalid or ErrTooLarge.
func (e *Error) Unwrap() error { return e.kind }

// invalidf formats an ErrInvalid. It allocates: use it on failure paths
// only.
func invalidf(format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...), kind: ErrInvalid}
}

// tooLargef formats an ErrTooLarge.
func tooLargef(format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...), kind: ErrTooLarge}
}
