// Command edge is the command-line interface of the edge runtime.
//
// Subcommands: probe, budget, run, eval, bench, compress, conformance,
// demo, version (`edge help COMMAND` shows each one's flags and
// examples).
//
// Conventions shared by every subcommand:
//
//   - Flags have one meaning everywhere: --model (ONNX file), --threads
//     (goroutines per inference, 0 = all CPUs), --data (dataset:
//     fashion-mnist[:split[:N]] or a directory), --json, --quiet,
//     --disable-isa (instruction sets the kernels must not use).
//   - --json writes exactly one JSON object to stdout; human-readable
//     logs and progress bars go to stderr. Progress bars appear only when
//     stderr is a terminal and --quiet is not given.
//   - Exit codes (exitcode.go): 0 success, 1 failure (bad input file,
//     impossible budget, failing conformance cases), 2 usage error.
//   - Flags and positional arguments may be interleaved; "--" ends flags.
//
// main is one line; run (cli.go) takes the arguments and the two output
// streams so tests can run commands in-process, and the tests also run
// the built binary (cli_test.go).
package main
