// Command edge loads ONNX CNNs, runs them with edge's kernels, probes the
// device and compresses networks for it. Run `edge help` for the commands.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
