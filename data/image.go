package data

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // register JPEG
	_ "image/png"  // register PNG
	"io/fs"
	"os"
)

// maxImagePixels bounds the size of a decoded image (64 Mpixel), checked
// from the header before decoding.
const maxImagePixels = 64 << 20

// DecodeFile reads and decodes a JPEG or PNG file.
func DecodeFile(path string) (image.Image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: image %s", ErrNotFound, path)
		}
		return nil, fmt.Errorf("%w %s: %v", ErrDecode, path, err)
	}
	img, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrDecode, path, err)
	}
	return img, nil
}

// DecodeBytes decodes a JPEG or PNG image held in memory.
func DecodeBytes(b []byte) (image.Image, error) {
	img, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecode, err)
	}
	return img, nil
}

// decode returns the cause of a failure without the package prefix.
func decode(b []byte) (image.Image, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%v (supported formats: JPEG, PNG)", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return nil, fmt.Errorf("%s image of %d×%d pixels is empty or too large", format, cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", format, err)
	}
	return img, nil
}
