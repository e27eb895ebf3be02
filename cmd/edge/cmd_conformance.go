package main

import (
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/edgeml/edge/runtime/conformance"
)

var conformanceCommand = &command{
	name:    "conformance",
	summary: "run the ONNX backend test cases (Debian libonnx-testdata) against edge",
	usage: `Usage: edge conformance [--dir /usr/share/libonnx-testdata/data] [--filter S] [--json] [-v]

Runs every case of node/, pytorch-converted/, pytorch-operator/ and simple/
whose operators and element types edge supports, compares the outputs with
rtol 1e-3 and atol 1e-5, and prints the pass/fail/skip counts, each failing
case with the first mismatch, and (with -v, or always in JSON) each skipped
case with its reason. Exits 1 when a case fails.

Examples:
  edge conformance
  edge conformance --filter conv -v
  edge conformance --json | jq '.passed | length'`,
	newOpts: func() options { return &conformanceOpts{dir: "/usr/share/libonnx-testdata/data"} },
}

type conformanceOpts struct {
	dir     string
	filter  string
	threads int
	json    bool
	quiet   bool
	verbose bool
}

func (o *conformanceOpts) isQuiet() bool { return o.quiet }

func (o *conformanceOpts) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.dir, "dir", o.dir, "libonnx-testdata `DIR` holding node/, pytorch-converted/, ...")
	fs.StringVar(&o.filter, "filter", "", "run only cases whose suite/name contains `S`")
	flagThreads(fs, &o.threads)
	flagJSON(fs, &o.json)
	flagQuiet(fs, &o.quiet)
	fs.BoolVar(&o.verbose, "v", false, "list skipped cases with their reasons")
}

// ConformanceReport is the JSON of `edge conformance --json`: the counts
// by outcome, then every case by outcome with the failure or skip reason.
type ConformanceReport struct {
	Dir          string             `json:"dir"`
	Passed       int                `json:"passed"`
	Failed       int                `json:"failed"`
	Skipped      int                `json:"skipped"`
	PassedCases  []conformance.Case `json:"passed_cases"`
	FailedCases  []conformance.Case `json:"failed_cases"`
	SkippedCases []conformance.Case `json:"skipped_cases"`
}

func (o *conformanceOpts) run(e *env, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	var rep conformance.Report
	bar := e.newProgress("conformance", float64(len(conformance.Suites)))
	found := false
	for i, suite := range conformance.Suites {
		bar.Status(suite)
		r, err := conformance.Run(o.dir, conformance.Options{Threads: o.threads, Filter: o.filter, Suites: []string{suite}})
		bar.Set(float64(i + 1))
		if err != nil {
			// A single missing suite is fine; all missing is an error.
			continue
		}
		found = true
		rep.Passed = append(rep.Passed, r.Passed...)
		rep.Failed = append(rep.Failed, r.Failed...)
		rep.Skipped = append(rep.Skipped, r.Skipped...)
	}
	bar.Done()
	if !found {
		// Ask the package for its error message.
		_, err := conformance.Run(o.dir, conformance.Options{Threads: o.threads, Filter: o.filter})
		if err == nil {
			err = fmt.Errorf("no test suites under %s", o.dir)
		}
		return err
	}
	out := ConformanceReport{Dir: o.dir, Passed: len(rep.Passed), Failed: len(rep.Failed), Skipped: len(rep.Skipped),
		PassedCases: nonNil(rep.Passed), FailedCases: nonNil(rep.Failed), SkippedCases: nonNil(rep.Skipped)}
	if o.json {
		if err := e.printJSON(out); err != nil {
			return err
		}
	} else {
		w := e.stdout
		fmt.Fprintf(w, "conformance %s\n", o.dir)
		fmt.Fprintf(w, "passed  %d\nfailed  %d\nskipped %d\n", len(rep.Passed), len(rep.Failed), len(rep.Skipped))
		if len(rep.Failed) > 0 {
			fmt.Fprintln(w, "\nfailed:")
			for _, c := range rep.Failed {
				fmt.Fprintf(w, "  %s: %s\n", c.Name, c.Reason)
			}
		}
		if o.verbose && len(rep.Skipped) > 0 {
			fmt.Fprintln(w, "\nskipped:")
			for _, c := range rep.Skipped {
				fmt.Fprintf(w, "  %s: %s\n", c.Name, c.Reason)
			}
		} else if len(rep.Skipped) > 0 {
			fmt.Fprintf(w, "\nskipped by reason (-v lists the cases):\n")
			for _, r := range skipReasons(rep.Skipped) {
				fmt.Fprintf(w, "  %4d  %s\n", r.n, r.reason)
			}
		}
	}
	if len(rep.Failed) > 0 {
		return fmt.Errorf("%d of %d eligible cases failed", len(rep.Failed), len(rep.Failed)+len(rep.Passed))
	}
	return nil
}

func nonNil(c []conformance.Case) []conformance.Case {
	if c == nil {
		return []conformance.Case{}
	}
	return c
}

type reasonCount struct {
	reason string
	n      int
}

// skipReasons groups skip reasons into kinds: unsupported operators
// (with the most frequent ones named), operator versions before opset 7,
// element types, non-tensor values, and the rest verbatim.
func skipReasons(cs []conformance.Case) []reasonCount {
	counts := map[string]int{}
	opCount := map[string]int{}
	types := map[string]int{}
	for _, c := range cs {
		r := c.Reason
		switch {
		case strings.HasPrefix(r, "operators not supported: "):
			counts["unsupported operators"]++
			for _, op := range strings.Split(strings.TrimPrefix(r, "operators not supported: "), ", ") {
				opCount[op]++
			}
		case strings.Contains(r, " at opset "):
			counts["operator versions before opset 7 (rejected by ONNX Runtime too)"]++
		case strings.Contains(r, " has element type "):
			counts["element types edge does not run"]++
			types[r[strings.LastIndex(r, " ")+1:]]++
		case strings.Contains(r, "is not a tensor"):
			counts["sequence, map or optional values"]++
		default:
			counts[r]++
		}
	}
	if n := counts["unsupported operators"]; n > 0 {
		delete(counts, "unsupported operators")
		counts["unsupported operators: "+topNames(opCount, 8)] = n
	}
	if n := counts["element types edge does not run"]; n > 0 {
		delete(counts, "element types edge does not run")
		counts["element types edge does not run: "+topNames(types, 8)] = n
	}
	var out []reasonCount
	for r, n := range counts {
		out = append(out, reasonCount{r, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n > out[j].n
		}
		return out[i].reason < out[j].reason
	})
	return out
}

// topNames lists the k most frequent keys ("A 12, B 7, … (N more)").
func topNames(m map[string]int, k int) string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var parts []string
	for _, key := range keys[:min(k, len(keys))] {
		parts = append(parts, fmt.Sprintf("%s %d", key, m[key]))
	}
	s := strings.Join(parts, ", ")
	if len(keys) > k {
		s += fmt.Sprintf(", … (%d more)", len(keys)-k)
	}
	return s
}
