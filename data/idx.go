package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// IDX is an IDX array of unsigned bytes (element type 0x08), the format
// of the MNIST and Fashion-MNIST files: Dims[0] items of Dims[1:] bytes.
type IDX struct {
	Dims []int
	Data []byte // row-major, len = product of Dims
}

// maxIDXBytes bounds what ReadIDX allocates (1 GiB): a corrupt header
// must not make the reader allocate the product of garbage dimensions.
const maxIDXBytes = 1 << 30

// ReadIDX reads an IDX array from r. A gzip stream is detected by its
// magic bytes and decompressed.
func ReadIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip header: %v", ErrFormat, err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: IDX header truncated: %v", ErrFormat, err)
	}
	if hdr[0] != 0 || hdr[1] != 0 {
		return nil, fmt.Errorf("%w: not an IDX file (magic % x)", ErrFormat, hdr)
	}
	if hdr[2] != 0x08 {
		return nil, fmt.Errorf("%w: IDX element type 0x%02x is not supported (only unsigned bytes, 0x08)", ErrFormat, hdr[2])
	}
	nd := int(hdr[3])
	if nd < 1 || nd > 4 {
		return nil, fmt.Errorf("%w: IDX rank %d is not supported (1 to 4)", ErrFormat, nd)
	}
	dims := make([]int, nd)
	total := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(br, binary.BigEndian, &d); err != nil {
			return nil, fmt.Errorf("%w: IDX dimensions truncated: %v", ErrFormat, err)
		}
		dims[i] = int(d)
		if d == 0 {
			total = 0
		} else if total > maxIDXBytes/int(d) {
			return nil, fmt.Errorf("%w: IDX dimensions %v exceed %d bytes", ErrFormat, dims[:i+1], maxIDXBytes)
		} else {
			total *= int(d)
		}
	}
	buf := make([]byte, total)
	if _, err := io.ReadFull(br, buf); err != nil {
		return nil, fmt.Errorf("%w: IDX data truncated (want %d bytes): %v", ErrFormat, total, err)
	}
	return &IDX{Dims: dims, Data: buf}, nil
}

// ReadIDXFile reads an IDX file, gzip-compressed or plain.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, path)
		}
		return nil, fmt.Errorf("data: %v", err)
	}
	defer f.Close()
	x, err := ReadIDX(f)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return x, nil
}

// WriteIDX writes x as a plain (uncompressed) IDX array.
func WriteIDX(w io.Writer, x *IDX) error {
	if len(x.Dims) < 1 || len(x.Dims) > 4 {
		return fmt.Errorf("%w: IDX rank %d is not supported (1 to 4)", ErrFormat, len(x.Dims))
	}
	n := 1
	for _, d := range x.Dims {
		if d < 0 || d > 1<<31-1 {
			return fmt.Errorf("%w: IDX dimension %d out of range", ErrFormat, d)
		}
		n *= d
	}
	if n != len(x.Data) {
		return fmt.Errorf("%w: IDX dimensions %v hold %d bytes, data has %d", ErrFormat, x.Dims, n, len(x.Data))
	}
	var hdr bytes.Buffer
	hdr.Write([]byte{0, 0, 0x08, byte(len(x.Dims))})
	for _, d := range x.Dims {
		binary.Write(&hdr, binary.BigEndian, uint32(d))
	}
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return err
	}
	_, err := w.Write(x.Data)
	return err
}
