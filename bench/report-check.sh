#!/usr/bin/env bash
# report-check.sh: render an edge report in headless Chromium (Debian's
# chromium package, installed when missing), take a screenshot and check
# that the page loaded with its charts. Default report: edge-demo/report.html
# (made by `./edge demo` when missing).
#
#   bench/report-check.sh [report.html] [screenshot.png]
set -euo pipefail
cd "$(dirname "$0")/.."
page=${1:-edge-demo/report.html}
shot=${2:-${page%.html}.png}
if ! command -v chromium >/dev/null; then
	SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi
if [ ! -f "$page" ]; then
	[ -x ./edge ] || go build -o edge ./cmd/edge
	./edge demo --quiet >/dev/null
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
	--disable-sync --no-first-run --user-data-dir="$profile" --hide-scrollbars)
url="file://$(realpath "$page")"
timeout 120 chromium "${flags[@]}" --window-size=1000,2600 --screenshot="$shot" "$url" 2>"$profile/log" || {
	cat "$profile/log" >&2
	exit 1
}
dom=$(timeout 120 chromium "${flags[@]}" --dump-dom "$url" 2>>"$profile/log")
charts=$(grep -o '<svg ' <<<"$dom" | wc -l)
size=$(stat -c %s "$shot")
if grep -q 'CONSOLE' "$profile/log"; then
	echo "report-check: console messages while rendering $page:" >&2
	grep CONSOLE "$profile/log" >&2
	exit 1
fi
if [ "$charts" -lt 2 ] || [ "$size" -lt 20000 ] || ! grep -q 'Dense vs compressed' <<<"$dom"; then
	echo "report-check: $page rendered badly: $charts charts in the DOM, screenshot $size bytes" >&2
	exit 1
fi
echo "report-check: $page renders in $(chromium --version 2>/dev/null): $charts SVG charts, screenshot $shot ($size bytes)"
