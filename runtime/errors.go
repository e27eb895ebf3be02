package runtime

import (
	"errors"
	"fmt"

	"github.com/edgeml/edge/runtime/ops"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrUnsupported: the model uses an operator, operator version,
	// attribute or element type edge does not implement. It wraps
	// ops.ErrUnsupported.
	ErrUnsupported = fmt.Errorf("runtime: %w", ops.ErrUnsupported)
	// ErrInvalidModel: the file is not a valid ONNX model or the graph is
	// inconsistent (dangling names, cycles, shapes that do not fit).
	ErrInvalidModel = errors.New("runtime: invalid model")
	// ErrInput: Run was given a missing, unknown or mis-shaped input, or
	// asked for a value the graph does not have.
	ErrInput = errors.New("runtime: invalid input")
	// ErrClosed: the Session was closed.
	ErrClosed = errors.New("runtime: session is closed")
)

// multiErr is an error with its own message that matches several
// sentinels (errors.Is walks Unwrap() []error).
type multiErr struct {
	msg  string
	errs []error
}

func (e *multiErr) Error() string   { return e.msg }
func (e *multiErr) Unwrap() []error { return e.errs }

// tagged returns an error with message msg matching every non-nil err.
func tagged(msg string, errs ...error) error {
	var keep []error
	for _, e := range errs {
		if e != nil {
			keep = append(keep, e)
		}
	}
	return &multiErr{msg: msg, errs: keep}
}

// classify adds ErrUnsupported or def to a cause from an operator or the
// importer, keeping the cause in the chain.
func classify(msg string, cause, def error) error {
	if errors.Is(cause, ops.ErrUnsupported) {
		return tagged(msg, ErrUnsupported, cause)
	}
	return tagged(msg, def, cause)
}
