// Package report renders the compression report of `edge compress
// --report` and `edge demo`: one self-contained HTML page (inline CSS and
// inline SVG charts drawn with gonum.org/v1/plot; no scripts, fonts,
// images or other external assets) and the same numbers as JSON.
//
// The page holds, in order: the device and the budget (with the
// derivation in words), a dense-vs-compressed comparison table, a chart
// of kept vs full rank per decomposable layer, a chart of MACs before and
// after per layer, and — when a sweep was run — the accuracy-vs-MACs
// curve of every method on one chart. Each chart is followed by the table
// of the numbers it draws.
//
// Report is the one data structure; Write and WriteJSON serialize it.
// Rendering is deterministic for a given Report (no timestamps are added
// beyond Report.Generated).
package report
