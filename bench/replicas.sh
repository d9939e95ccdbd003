#!/usr/bin/env bash
# bench/replicas.sh -- write-to-answer on every replica: N endpoints x 3 zones
# (bench/gen.py), a 3-member etcd cluster and 3 epdns replicas sharing their
# control API state in it, then bench/replica_latency.py (official SDK).
#
# usage: bench/replicas.sh [ENDPOINTS=10000] [WRITES=50] [PYTHON=python3 with the SDK]
#   EPDNS_BIN=target/release/epdns (built by: cargo build --release)
#
# Network safety: etcd, epdns and every query use 127.0.0.1 only; everything
# started here is killed on exit.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
N=${1:-10000}
WRITES=${2:-50}
PY=${3:-python3}
EPDNS_BIN=${EPDNS_BIN:-$REPO/target/release/epdns}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 "$BENCH_DIR/gen.py" --endpoints "$N" --zones 3 --queries 10 --out "$WORK/gen" >/dev/null

# etcd: three members on 127.0.0.1:2379x (clients) / 2380x (peers).
cluster=""
for i in 0 1 2; do cluster+="m$i=http://127.0.0.1:2381$i,"; done
cluster=${cluster%,}
for i in 0 1 2; do
  etcd --name "m$i" --data-dir "$WORK/etcd$i" \
    --listen-client-urls "http://127.0.0.1:2379$i" --advertise-client-urls "http://127.0.0.1:2379$i" \
    --listen-peer-urls "http://127.0.0.1:2381$i" --initial-advertise-peer-urls "http://127.0.0.1:2381$i" \
    --initial-cluster "$cluster" --initial-cluster-state new >"$WORK/etcd$i.log" 2>&1 &
  PIDS+=($!)
done
eps="http://127.0.0.1:23790,http://127.0.0.1:23791,http://127.0.0.1:23792"
for _ in $(seq 600); do
  ETCDCTL_API=3 etcdctl --endpoints "$eps" --command-timeout=1s put /bench-ready 1 >/dev/null 2>&1 && break
  sleep 0.1
done

# Three replicas: the same config, each with its own DNS and API port.
apis="" dns=""
for i in 0 1 2; do
  cfg="$WORK/replica$i.toml"
  cp "$WORK/gen/epdns.toml" "$cfg"
  cat >>"$cfg" <<TOML

[api]
listen = "127.0.0.1:1808$i"
lifecycle_ms = 0

[[access_key]]
id = "lab-key"
secret = "lab-secret"

[state]
etcd = "etcd://127.0.0.1:23790,127.0.0.1:23791,127.0.0.1:23792/epdns-bench"
TOML
  "$EPDNS_BIN" serve --config "$cfg" --listen "127.0.0.1:1531$i" --ready-file "$WORK/ready$i" \
    >"$WORK/replica$i.log" 2>&1 &
  PIDS+=($!)
  apis+="127.0.0.1:1808$i," dns+="127.0.0.1:1531$i,"
done
for i in 0 1 2; do
  for _ in $(seq 1200); do [ -s "$WORK/ready$i" ] && break; sleep 0.1; done
  [ -s "$WORK/ready$i" ] || { echo "replica $i did not start:"; tail "$WORK/replica$i.log"; exit 1; }
done
echo "$N endpoints x 3 zones, 3 replicas, 3 etcd members; $WRITES creates through replica 0"
"$PY" "$BENCH_DIR/replica_latency.py" --api 127.0.0.1:18080 --dns "${dns%,}" --writes "$WRITES"
