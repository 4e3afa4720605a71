#!/usr/bin/env bash
# Renders an experiment report (ExperimentReport.html) in headless Chromium and checks that a
# screenshot came out: scripts/check-report.sh REPORT.html [OUT.png]  (default OUT: REPORT.png).
set -euo pipefail

report=${1:?usage: scripts/check-report.sh REPORT.html [OUT.png]}
out=${2:-${report%.html}.png}
[[ -f $report ]] || { echo "check-report: no such file: $report" >&2; exit 1; }

# Find Chromium; install the Debian package when missing (as root, or with sudo).
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z $browser ]]; then
    echo "check-report: chromium not found, installing the Debian package 'chromium'" >&2
    if [[ $(id -u) -eq 0 ]]; then apt-get install -y chromium >&2 || true
    elif command -v sudo >/dev/null; then sudo apt-get install -y chromium >&2 || true; fi
    browser=$(command -v chromium || true)
    [[ -n $browser ]] || { echo "check-report: cannot install chromium (try: sudo apt-get install -y chromium)" >&2; exit 2; }
fi

# Absolute paths: Chromium resolves file:// URLs and the screenshot path from its own directory.
abs_report=$(cd "$(dirname "$report")" && pwd)/$(basename "$report")
abs_out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
rm -f "$abs_out"
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,4000 \
    --screenshot="$abs_out" "file://$abs_report" >/dev/null 2>&1 || true

# A blank or failed render leaves no file or a tiny one.
[[ -f $abs_out ]] || { echo "check-report: no screenshot written to $abs_out" >&2; exit 1; }
size=$(wc -c <"$abs_out")
(( size > 8192 )) || { echo "check-report: screenshot $abs_out is only $size bytes" >&2; exit 1; }
echo "$abs_out ($size bytes)"
