#!/bin/sh
# Where the resident memory that API churn adds goes (loopback only; see
# bench/README.md):
#
#   bench/churn_mem.sh [N] [SECONDS] [OUT]    N=10000, SECONDS=100
#
# Starts epdns (target/release/epdns, or EPDNS_BIN) on the N x 3 data set of
# gen.py with [api], sends create/delete pairs at 100/s for SECONDS
# (api_latency.py --rate 100, the official SDK), and prints VmRSS after
# start, after the churn, and after asking glibc to hand back its free pages
# (malloc_trim(0) called in the process with gdb, when gdb is installed):
# memory that the trim gives back was free in the allocator (fragmentation),
# what stays is held. MALLOC_ARENA_MAX and other environment variables are
# passed to epdns.
set -eu
N=${1:-10000}
SECS=${2:-100}
OUT=${3:-$(mktemp -d /tmp/epdns-churn.XXXXXX)}
PY=${PY:-/work/venv/bin/python3}
REPO=$(cd "$(dirname "$0")/.." && pwd)
DNS_PORT=15330 API_PORT=18091
EPDNS=""
cleanup() { [ -z "$EPDNS" ] || kill "$EPDNS" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

rss() { awk -v l="$2" '/^VmRSS/ {printf "%-40s VmRSS %7.1f MB\n", l, $2/1024}' "/proc/$1/status"; }

python3 "$REPO/bench/gen.py" -n "$N" --out "$OUT" --epdns-port $DNS_PORT >/dev/null
cat >>"$OUT/epdns.toml" <<TOML

[api]
listen = "127.0.0.1:$API_PORT"
lifecycle_ms = 0

[[access_key]]
id = "lab-key"
secret = "lab-secret"
TOML
"${EPDNS_BIN:-$REPO/target/release/epdns}" serve --config "$OUT/epdns.toml" --state "$OUT/state" >"$OUT/epdns.log" 2>&1 &
EPDNS=$!
i=0
until dig +time=1 +tries=1 @127.0.0.1 -p $DNS_PORT privatelink.aliyuncs.com SOA 2>/dev/null | grep -q 'status: NOERROR'; do
  i=$((i + 1)); [ $i -lt 600 ] || { echo "no answer" >&2; exit 1; }; sleep 1
done
sleep 2
echo "# $N endpoints x 3 zones, $SECS s of create/delete at 100/s, MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-unset}"
rss $EPDNS "after start"
"$PY" "$REPO/bench/api_latency.py" --api 127.0.0.1:$API_PORT --dns 127.0.0.1:$DNS_PORT \
  --rate 100 --duration "$SECS" | grep writes
sleep 2
rss $EPDNS "after the churn"
if command -v gdb >/dev/null; then
  gdb -p $EPDNS -batch -ex 'call (int) malloc_trim(0)' >"$OUT/gdb.log" 2>&1 || true
  rss $EPDNS "after malloc_trim(0)"
fi
