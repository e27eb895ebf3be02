//go:build !linux

package main

import (
	"io"
	"os"
)

// isTerminal reports whether w is a character device (an approximation
// of a terminal outside Linux).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}
