#!/usr/bin/env bash
# check-report-render.sh HTMLFILE PNGOUT: render a report page (from
# `predictd capacity --html` or `predictd loadtest --html`) in headless
# Chromium, as a browser would show it, to PNGOUT, and check the picture is
# not blank and holds the plots (scripts/pngcheck). Installs Debian's
# chromium when it is missing and we are root; otherwise says so and fails.
# Run from the repository root (it runs `go run ./scripts/pngcheck`).
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 HTMLFILE PNGOUT" >&2
  exit 2
fi
html=$(realpath "$1")
png=$2
[ -f "$html" ] || { echo "$0: $1: no such file" >&2; exit 2; }

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing Debian's chromium" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "$0: chromium is not installed and we are not root: skipping the install; run 'apt-get install -y chromium' as root" >&2
    exit 1
  fi
fi

rm -f "$png"
# --virtual-time-budget lets the page finish layout before the shot; the
# page has no scripts, so it is only a safety margin. Chromium's own log
# goes to a file: it is noisy (dbus, GPU) even when all is well.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --virtual-time-budget=2000 --window-size=1200,2000 \
  --screenshot="$png" "file://$html" >"$log" 2>&1; then
  cat "$log" >&2
  echo "$0: chromium failed" >&2
  exit 1
fi
if [ ! -s "$png" ]; then
  cat "$log" >&2
  echo "$0: chromium wrote no screenshot to $png" >&2
  exit 1
fi
go run ./scripts/pngcheck "$png"
