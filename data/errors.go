package data

import "errors"

// Sentinel errors; test with errors.Is.
var (
	// ErrNotFound: a dataset directory, IDX file or image file is missing.
	ErrNotFound = errors.New("data: not found")
	// ErrFormat: an IDX file is malformed or uses an unsupported element
	// type, or the images and labels do not match.
	ErrFormat = errors.New("data: bad dataset format")
	// ErrDecode: an image file could not be read or decoded.
	ErrDecode = errors.New("data: cannot decode image")
	// ErrParam: a preprocessing parameter (from metadata or flags) is
	// invalid.
	ErrParam = errors.New("data: invalid preprocessing parameter")
)
