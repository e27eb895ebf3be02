// Package data reads labeled image datasets and turns images into the
// float32 tensors a model expects.
//
// # Datasets
//
// A Dataset is a random-access list of images with integer labels in
// class order. Three sources are supported:
//
//   - IDX files (the MNIST / Fashion-MNIST format, gzip-compressed or
//     plain): a directory holding {train,t10k}-images-idx3-ubyte[.gz] and
//     the matching -labels-idx1-ubyte[.gz]. The name "fashion-mnist" means
//     FashionMNISTDir (Debian's dataset-fashion-mnist package). Only the
//     unsigned-byte element type (0x08) is read; images are gray, H×W.
//   - ImageFolder trees: DIR/<class>/*.png|jpg|jpeg; classes are the
//     subdirectory names sorted bytewise and numbered from 0.
//   - A flat directory or a list of image files: unlabeled (label -1),
//     for calibration data collected in the field and for `edge run`.
//
// Open parses the dataset specification accepted by the command line
// ("fashion-mnist", "fashion-mnist:train:1024", a directory).
//
// # Preprocessing
//
// Preprocess maps one decoded image to C×H×W float32 values:
//
//	v = (pixel·Scale − Mean[c]) / Std[c]
//
// where pixel is the 8-bit channel value 0..255 (16-bit images are
// reduced to 8 bits first), C is 1 for gray (ITU-R 601 luma, as
// image/color.GrayModel) or 3 for RGB (alpha dropped, not composited),
// and images whose size differs from H×W are resized with bilinear
// interpolation (golang.org/x/image/draw) to exactly H×W (no crop, no
// aspect preservation). The parameters come from the model's
// metadata_props (FromModel; keys preprocess.scale, preprocess.mean,
// preprocess.std, preprocess.layout, preprocess.color, labels) and may be
// overridden by the user (Override). Layout NCHW writes channel planes;
// NHWC interleaves channels.
//
// Fill writes a batch of consecutive dataset images into a row-major
// N×C×H×W (or N×H×W×C) buffer, decoding on several goroutines.
//
// # Errors
//
// Errors carry the "data:" prefix, the file concerned and what to do.
// Unreadable or undecodable images wrap ErrDecode, malformed IDX files
// ErrFormat, and missing files or directories ErrNotFound.
//
// # Concurrency
//
// Datasets are read-only after opening; Image and Label may be called
// from several goroutines at once.
package data
