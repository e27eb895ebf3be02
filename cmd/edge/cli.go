package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/runtime"
)

// command is one subcommand. newOpts returns a fresh options struct that
// registers its flags and runs.
type command struct {
	name    string
	summary string
	usage   string // synopsis, description and examples
	newOpts func() options
}

// options is the per-subcommand options struct.
type options interface {
	flags(fs *flag.FlagSet)
	run(e *env, args []string) error
}

// commands lists the subcommands in help order.
var commands = []*command{
	probeCommand,
	budgetCommand,
	runCommand,
	evalCommand,
	benchCommand,
	compressCommand,
	conformanceCommand,
	demoCommand,
	versionCommand,
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// env is what a running command may touch.
type env struct {
	stdout, stderr io.Writer
	tty            bool // stderr is a terminal: progress bars allowed
	quiet          bool // --quiet: no progress bars, no chatter on stderr
}

// logf writes a human-readable line to stderr (suppressed by --quiet).
func (e *env) logf(format string, args ...any) {
	if e.quiet {
		return
	}
	fmt.Fprintf(e.stderr, format+"\n", args...)
}

// printJSON writes v as the one JSON object of the command's stdout.
func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// usageError is a command-line mistake (exit 2).
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// silentError carries an exit status whose message was already printed.
type silentError struct{ code int }

func (s *silentError) Error() string { return fmt.Sprintf("exit status %d", s.code) }

const mainUsage = `edge — run, measure and compress ONNX CNNs on the device at hand.

Usage:
  edge COMMAND [flags] [args]
  edge help COMMAND

Commands:
%s
Shared flags: --model FILE, --threads N (0 = all CPUs), --data fashion-mnist|DIR,
--json (one object on stdout), --quiet (no progress on stderr), --disable-isa LIST.

Exit codes: 0 ok, 1 failure, 2 usage error.
Start with: edge demo
`

func printMainUsage(w io.Writer) {
	var b strings.Builder
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, mainUsage, b.String())
}

// run is the whole program: it parses args, runs one command and returns
// the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, tty: isTerminal(stderr)}
	if len(args) == 0 {
		printMainUsage(stderr)
		return ExitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			printMainUsage(stdout)
			return ExitOK
		}
		c := lookup(rest[0])
		if c == nil {
			fmt.Fprintf(stderr, "edge: unknown command %q\n\n", rest[0])
			printMainUsage(stderr)
			return ExitUsage
		}
		fs := c.flagSet(c.newOpts())
		fs.SetOutput(stdout)
		fs.Usage()
		return ExitOK
	case "-version", "--version":
		name = "version"
	}
	c := lookup(name)
	if c == nil {
		fmt.Fprintf(stderr, "edge: unknown command %q\n\n", name)
		printMainUsage(stderr)
		return ExitUsage
	}
	opts := c.newOpts()
	fs := c.flagSet(opts)
	fs.SetOutput(io.Discard) // errors are reported below, briefly
	pos, err := parseInterspersed(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return ExitOK
	}
	if err != nil {
		msg := err.Error()
		if i := strings.Index(msg, "defined: -"); i >= 0 && len(msg) > i+11 {
			msg = msg[:i+9] + "--" + msg[i+10:] // show long flags as --name
		}
		return e.exitCode(c, &usageError{msg: msg})
	}
	if q, ok := opts.(interface{ isQuiet() bool }); ok && q.isQuiet() {
		e.quiet = true
	}
	err = opts.run(e, pos)
	return e.exitCode(c, err)
}

// exitCode reports err (if any) and maps it to an exit code.
func (e *env) exitCode(c *command, err error) int {
	if err == nil {
		return ExitOK
	}
	var se *silentError
	if errors.As(err, &se) {
		return se.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.stderr, "edge %s: %s\nRun 'edge help %s' for usage.\n", c.name, ue.msg, c.name)
		return ExitUsage
	}
	fmt.Fprintf(e.stderr, "edge %s: %v\n", c.name, err)
	return ExitFailure
}

func (c *command) flagSet(opts options) *flag.FlagSet {
	fs := flag.NewFlagSet("edge "+c.name, flag.ContinueOnError)
	opts.flags(fs)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "%s\n\nFlags:\n", strings.TrimSpace(c.usage))
		printFlags(w, fs)
	}
	return fs
}

// printFlags lists flags with a double dash, sorted by name.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	for _, n := range names {
		f := fs.Lookup(n)
		arg, help := flag.UnquoteUsage(f)
		head := "--" + n
		if len(n) == 1 {
			head = "-" + n
		}
		if arg != "" {
			head += " " + arg
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  %-24s %s%s\n", head, help, def)
	}
}

// parseInterspersed parses flags that may follow positional arguments
// (`edge run IMAGE --top 3`). "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		// Split at "--" ourselves: flag.Parse would swallow it.
		end := len(args)
		for i, a := range args {
			if a == "--" {
				end = i
				break
			}
		}
		if err := fs.Parse(args[:end]); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			if end < len(args) {
				pos = append(pos, args[end+1:]...)
			}
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = append(append([]string(nil), rest[1:]...), args[end:]...)
	}
}

// Shared flags: registered by these helpers so they mean the same in
// every command.

func flagModel(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "model", "", "ONNX model `FILE`")
}

func flagThreads(fs *flag.FlagSet, p *int) {
	fs.IntVar(p, "threads", 0, "`N` goroutines per inference, 0 = all CPUs")
}

func flagData(fs *flag.FlagSet, p *string, def string) {
	*p = def
	fs.StringVar(p, "data", def, "`DATA`: fashion-mnist[:test|train[:N]], a directory of IDX files or DIR/<class>/*.png|jpg")
}

func flagJSON(fs *flag.FlagSet, p *bool) {
	fs.BoolVar(p, "json", false, "write one JSON object to stdout")
}

func flagQuiet(fs *flag.FlagSet, p *bool) {
	fs.BoolVar(p, "quiet", false, "no progress bars or logs on stderr")
}

func flagISA(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "disable-isa", "", "instruction sets kernels must not use: `LIST` of avx512, avx2, neon, all")
}

// common holds the flags most commands share.
type common struct {
	model      string
	threads    int
	json       bool
	quiet      bool
	disableISA string
}

func (c *common) isQuiet() bool { return c.quiet }

// register adds --model --threads --json --quiet --disable-isa.
func (c *common) register(fs *flag.FlagSet) {
	flagModel(fs, &c.model)
	flagThreads(fs, &c.threads)
	flagJSON(fs, &c.json)
	flagQuiet(fs, &c.quiet)
	flagISA(fs, &c.disableISA)
}

// sessionOptions turns --threads and --disable-isa into runtime options.
func (c *common) sessionOptions() (runtime.Options, error) {
	if c.threads < 0 {
		return runtime.Options{}, usagef("--threads %d: use 0 (all CPUs) or a positive count", c.threads)
	}
	isa, err := kernels.ParseISA(c.disableISA)
	if err != nil {
		return runtime.Options{}, usagef("--disable-isa: %v", err)
	}
	return runtime.Options{Threads: c.threads, Kernels: kernels.Config{Disabled: isa}}, nil
}

// loadModel loads --model (required).
func (c *common) loadModel() (*runtime.Model, error) {
	if c.model == "" {
		return nil, usagef("--model is required")
	}
	if st, err := os.Stat(c.model); err != nil {
		return nil, fmt.Errorf("cannot read model: %w", err)
	} else if st.IsDir() {
		return nil, fmt.Errorf("model %s is a directory; give an .onnx file", c.model)
	}
	return runtime.Load(c.model)
}
