#!/usr/bin/env bash
# soak.sh: the soak benchmark to run before a release (`make soak`):
# bench/soak runs `predictd serve` (PREDICTD, default bin/predictd) over a
# private redis-server for SOAK_DURATION (default 10m) under mixed traffic,
# reloads, store outages and bad inputs, prints RSS, threads, fds,
# goroutines and requests by status over time, writes them to SOAK_OUT
# (default .soak/soak.json) and ends PASS (exit 0) or FAIL (exit 1); see
# bench/soak/main.go for what is sent and what is expected.
#
#   make soak
#   SOAK_DURATION=90s make soak
#   bash bench/soak.sh --duration 2m --rate 400 --keep    # flags go to bench/soak
#
# Environment: SOAK_DURATION, SOAK_OUT, SOAK_RATE (good requests/s, 200),
# SOAK_BAD_RATE (bad inputs/s, 20), SOAK_WARMUP, SOAK_RELOAD_EVERY,
# SOAK_OUTAGE_EVERY, SOAK_OUTAGE_FOR, PREDICTD, REDIS_SERVER.
# Everything runs on 127.0.0.1 of this machine; Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
PREDICTD=${PREDICTD:-bin/predictd}
REDIS_SERVER=${REDIS_SERVER:-redis-server}

die() { echo "soak.sh: $*" >&2; exit 2; }
[ -x "$PREDICTD" ] || die "no $PREDICTD: run make build (or set PREDICTD)"
command -v "$REDIS_SERVER" >/dev/null || die "no $REDIS_SERVER on PATH (set REDIS_SERVER)"
[ -r /proc/self/status ] || die "needs Linux's /proc"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/soak" ./bench/soak
PREDICTD=$PREDICTD REDIS_SERVER=$REDIS_SERVER "$work/soak" "$@"
