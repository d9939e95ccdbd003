#!/bin/sh
# The control API's speed and epdns's memory at N endpoints x 3 zones, against
# Knot serving the same names (loopback only; see bench/README.md).
#
#   bench/api_bench.sh [N] [OUT]         N defaults to 10000
#   PROBES=1 bench/api_bench.sh 10000    the same with a TCP probe on every ENI
#   WRITES=0 bench/api_bench.sh 100000   memory only (no API, no dnsperf)
#
# Prints: resident memory (VmRSS, and VmHWM: the peak) after start, after the
# writes and during a SIGHUP reload; API write -> DNS answer latency
# (api_latency.py); dnsperf qps alone and while 100 writes/s arrive, in one
# run; Knot's resident memory for the same zone. EPDNS_BIN=PATH runs another
# build (e.g. a copy of the previous commit's, to compare in one session);
# PERF=1 records a CPU profile of epdns during the writes (perf, in OUT).
# Needs: target/release/epdns,
# dnsperf, knotd, dig, and PY (default /work/venv/bin/python3) with the
# Alibaba Cloud PrivateLink SDK.
set -eu
N=${1:-10000}
OUT=${2:-$(mktemp -d /tmp/epdns-apibench.XXXXXX)}
PY=${PY:-/work/venv/bin/python3}
REPO=$(cd "$(dirname "$0")/.." && pwd)
DNS_PORT=15320 API_PORT=18090 KNOT_PORT=15321
WRITES=${WRITES:-1}
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

mem() { # $1 pid, $2 label
  awk -v l="$2" '/^VmRSS|^VmHWM/ {v[$1]=$2} END {printf "%-34s VmRSS %7.1f MB  VmHWM %7.1f MB\n", l, v["VmRSS:"]/1024, v["VmHWM:"]/1024}' "/proc/$1/status"
}
wait_dns() { # $1 port: until the server answers SOA (600 s at most)
  i=0
  until dig +time=1 +tries=1 @127.0.0.1 -p "$1" privatelink.aliyuncs.com SOA 2>/dev/null | grep -q 'status: NOERROR'; do
    i=$((i + 1)); [ $i -lt 600 ] || { echo "no answer on port $1" >&2; exit 1; }; sleep 1
  done
}
qps() { dnsperf -s 127.0.0.1 -p "$DNS_PORT" -d "$OUT/q-mixed.txt" -l 10 -c 8 -q 100 2>&1 | awk '/Queries per second/ {print $4}'; }

python3 "$REPO/bench/gen.py" -n "$N" --out "$OUT" --epdns-port $DNS_PORT --knot-port $KNOT_PORT >/dev/null
CFG=$OUT/epdns.toml
if [ "${PROBES:-0}" = 1 ]; then
  # Every ENI is a 127.k.x.y address: the probes stay on this host (refused
  # connections: every ENI goes down, which is load, not a wrong answer here).
  sed -i 's/^# ---- PROBE PLACEHOLDER.*/[probe]\nkind = "tcp"\nport = 9\ninterval_ms = 10000\ntimeout_ms = 1000\nfall = 2\nrise = 2\n/' "$CFG"
fi
if [ "$WRITES" = 1 ]; then
  cat >>"$CFG" <<TOML

[api]
listen = "127.0.0.1:$API_PORT"
lifecycle_ms = 0

[[access_key]]
id = "lab-key"
secret = "lab-secret"
TOML
fi
echo "# $N endpoints x 3 zones, probes ${PROBES:-0}, epdns ${EPDNS_BIN:-$(git -C "$REPO" rev-parse --short HEAD)}, out $OUT"
"${EPDNS_BIN:-$REPO/target/release/epdns}" serve --config "$CFG" --state "$OUT/state" >"$OUT/epdns.log" 2>&1 &
EPDNS=$!; PIDS="$PIDS $EPDNS"
wait_dns $DNS_PORT
sleep 2
mem $EPDNS "epdns steady after start"

if [ "$WRITES" = 1 ]; then
  "$PY" "$REPO/bench/api_latency.py" --api 127.0.0.1:$API_PORT --dns 127.0.0.1:$DNS_PORT --writes 100
  echo "dnsperf alone:                 $(qps) qps"
  "$PY" "$REPO/bench/api_latency.py" --api 127.0.0.1:$API_PORT --dns 127.0.0.1:$DNS_PORT \
    --rate 100 --duration 11 >"$OUT/load.txt" 2>&1 &
  LOAD=$!
  sleep 0.5
  if [ "${PERF:-0}" = 1 ]; then
    perf record -g -p $EPDNS -o "$OUT/perf.data" -- sleep 8 >/dev/null 2>&1 &
  fi
  echo "dnsperf with 100 writes/s:     $(qps) qps"
  wait $LOAD || true
  cat "$OUT/load.txt"
  echo "dnsperf alone again:           $(qps) qps"
  mem $EPDNS "epdns after the writes"
fi

# A reload's peak: VmHWM reset (clear_refs 5), SIGHUP, wait for "reloaded".
echo 5 >"/proc/$EPDNS/clear_refs"
before=$(grep -c 'reloaded' "$OUT/epdns.log" || true)
kill -HUP $EPDNS
i=0
until [ "$(grep -c 'reloaded' "$OUT/epdns.log" || true)" -gt "$before" ]; do
  i=$((i + 1)); [ $i -lt 6000 ] || { echo "no reload" >&2; exit 1; }; sleep 0.1
done
mem $EPDNS "epdns during reload (HWM=peak)"
sleep 2
mem $EPDNS "epdns after reload"
grep 'reloaded' "$OUT/epdns.log" | tail -1 | sed 's/.*took_ms=/reload took_ms=/'

mkdir -p "$OUT/knot-run" "$OUT/knot-db"
knotd -c "$OUT/knot.conf" >"$OUT/knot.log" 2>&1 &
KNOT=$!; PIDS="$PIDS $KNOT"
wait_dns $KNOT_PORT
sleep 2
mem $KNOT "knotd, the same names"
