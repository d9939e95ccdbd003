#!/usr/bin/env bash
# bench/run.sh -- benchmark epdns against Knot DNS and NSD on loopback.
#
# One command: builds epdns (release), generates configs/zones/query files with
# bench/gen.py, starts epdns, Knot and NSD on 127.0.0.1 high ports, runs dnsperf
# against each in turn, alternating servers (A B C A B C ...) for several rounds,
# and prints a table.  See bench/README.md.
#
# Network safety: every packet goes to 127.0.0.1 (SERVER_ADDR is checked below);
# every dnsperf run is bounded with -l seconds.
set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
REPORT="python3 $BENCH_DIR/report.py"

# ---- defaults --------------------------------------------------------------
SIZES="10 10000"          # endpoints per run (x ZONES ENIs each)
ZONES=3
WORKLOADS="mixed ecs"     # mixed: plain; ecs: 1/3 of the load carries EDNS Client Subnet
SERVERS="epdns knot nsd"
ROUNDS=3
DURATION=4                # s per throughput run (dnsperf -l)
LAT_DURATION=1            # s per fixed-rate latency run (dnsperf -l -Q -v)
LAT_RATE=20000            # qps for the latency run
CLIENTS=8                 # dnsperf -c (UDP sockets / source ports)
OUTSTANDING=100           # dnsperf -q (max queries in flight); rate unlimited
TIMEOUT=2                 # dnsperf -t (s); a query unanswered for this long is "lost"
PORT_BASE=15300           # epdns PORT_BASE, knot +1, nsd +2
SERVER_ADDR=127.0.0.1
SERVER_CPUS=0             # taskset for the servers
CLIENT_CPUS=1             # taskset for dnsperf
PIN=1
BUILD=1
FLAP=0
FLAP_ONLY=0
FLAP_INTERVAL_MS=100
FLAP_DURATION=10          # s per flap run (steady, then flapping)
FLAP_ROUNDS=2             # steady/flapping pairs
EPDNS_BIN=""
QUOTA=0                   # --server-quota: % of one CPU each server may use (0 = no cap)
OUT=""

usage() {
  cat <<EOF
usage: bench/run.sh [options]
  --sizes "10 10000"     endpoint counts (each x $ZONES zones)
  --workloads "mixed ecs"
  --servers "epdns knot nsd"
  --rounds N             rounds of alternating runs (default $ROUNDS)
  --duration S           seconds per throughput run (default $DURATION)
  --lat-duration S       seconds per fixed-rate latency run, 0 = skip (default $LAT_DURATION)
  --lat-rate QPS         offered load of the latency run (default $LAT_RATE)
  --clients N            dnsperf -c (default $CLIENTS)
  --outstanding N        dnsperf -q (default $OUTSTANDING)
  --port-base P          epdns P, knot P+1, nsd P+2 (default $PORT_BASE)
  --no-pin               do not pin servers/dnsperf to cores
  --no-build             do not run cargo build (use --epdns-bin or target/release/epdns)
  --epdns-bin PATH       epdns binary to run
  --flap                 after the main runs, run the flap workload against epdns
  --flap-only            only the flap workload (largest size)
  --flap-duration S      seconds of each flap run (default $FLAP_DURATION)
  --flap-rounds N        steady/flapping pairs (default $FLAP_ROUNDS)
  --quick                smoke test: --sizes 10 --rounds 1 --duration 2 --lat-duration 1
  --server-quota PCT     cap each server at PCT% of one CPU (cgroup cpu quota, root):
                         the server, not dnsperf, is then the limit, so qps compares servers
  --out DIR              keep generated files, logs and results here (default: mktemp)
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) SIZES=$2; shift ;;
    --workloads) WORKLOADS=$2; shift ;;
    --servers) SERVERS=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --lat-duration) LAT_DURATION=$2; shift ;;
    --lat-rate) LAT_RATE=$2; shift ;;
    --clients) CLIENTS=$2; shift ;;
    --outstanding) OUTSTANDING=$2; shift ;;
    --port-base) PORT_BASE=$2; shift ;;
    --no-pin) PIN=0 ;;
    --no-build) BUILD=0 ;;
    --epdns-bin) EPDNS_BIN=$2; BUILD=0; shift ;;
    --flap) FLAP=1 ;;
    --flap-only) FLAP=1; FLAP_ONLY=1 ;;
    --flap-duration) FLAP_DURATION=$2; shift ;;
    --flap-rounds) FLAP_ROUNDS=$2; shift ;;
    --server-quota) QUOTA=$2; shift ;;
    --quick) SIZES=10; ROUNDS=1; DURATION=2; LAT_DURATION=1 ;;
    --out) OUT=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

case "$SERVER_ADDR" in
  127.*|::1) ;;
  *) echo "run.sh: refusing to send load to $SERVER_ADDR (loopback only)" >&2; exit 2 ;;
esac
for v in ROUNDS DURATION LAT_DURATION LAT_RATE CLIENTS OUTSTANDING PORT_BASE FLAP_DURATION FLAP_ROUNDS QUOTA; do
  case "${!v}" in ''|*[!0-9]*) echo "run.sh: --${v,,} must be a non-negative integer" >&2; exit 2 ;; esac
done
[ "$DURATION" -ge 1 ] && [ "$DURATION" -le 300 ] || { echo "run.sh: --duration must be 1..300" >&2; exit 2; }
[ "$FLAP_DURATION" -ge 3 ] && [ "$FLAP_DURATION" -le 300 ] || { echo "run.sh: --flap-duration must be 3..300" >&2; exit 2; }
[ "$LAT_DURATION" -le 300 ] || { echo "run.sh: --lat-duration must be <= 300" >&2; exit 2; }

EPDNS_PORT=$PORT_BASE; KNOT_PORT=$((PORT_BASE + 1)); NSD_PORT=$((PORT_BASE + 2))
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/epdns-bench.XXXXXX)
mkdir -p "$OUT"
RESULTS=$OUT/results.tsv
FLAP_RESULTS=$OUT/flap.tsv
CLK_TCK=$(getconf CLK_TCK)

log() { printf '%s\n' "$*" >&2; }

NCPU=$(nproc)
if [ "$PIN" = 1 ] && [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null; then
  PIN_S="taskset -c $SERVER_CPUS"; PIN_C="taskset -c $CLIENT_CPUS"
else
  PIN=0; PIN_S=""; PIN_C=""
fi

# With --server-quota, every server runs in one cgroup whose CPU quota is
# QUOTA% of a CPU (per 10 ms period, so throttling is fine-grained): the
# servers are then the bottleneck, and qps measures their capacity.
CGROUP=""
if [ "$QUOTA" -gt 0 ]; then
  [ "$QUOTA" -le 100 ] || { echo "run.sh: --server-quota must be 1..100" >&2; exit 2; }
  if [ -d /sys/fs/cgroup/cpu ] && [ -w /sys/fs/cgroup/cpu ]; then
    CGROUP=/sys/fs/cgroup/cpu/epdns-bench-$$
    mkdir -p "$CGROUP"
    echo 10000 >"$CGROUP/cpu.cfs_period_us"
    echo $((QUOTA * 100)) >"$CGROUP/cpu.cfs_quota_us"
  elif [ -w /sys/fs/cgroup/cgroup.subtree_control ]; then
    CGROUP=/sys/fs/cgroup/epdns-bench-$$
    echo +cpu >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
    mkdir -p "$CGROUP"
    echo "$((QUOTA * 100)) 10000" >"$CGROUP/cpu.max"
  else
    echo "run.sh: --server-quota needs a writable cgroup cpu controller (root)" >&2; exit 2
  fi
  PIN_S="$(dirname "$0")/in-cgroup.sh $CGROUP $PIN_S"
fi

# ---- process bookkeeping: we only ever stop processes this script started ----
declare -A PID=()
stop_server() {
  local name=$1 pid=${PID[$1]:-}
  [ -n "$pid" ] || return 0
  local tree; tree=$($REPORT tree "$pid" 2>/dev/null | tr '\n' ' ')
  if ! alive "$pid"; then
    wait "$pid" 2>/dev/null
    local rc=$?
    log "NOTE: $name (pid $pid) had already exited with status $rc before the harness stopped it"
    echo "$name (pid $pid) exited early with status $rc" >>"$OUT/warnings"
    unset "PID[$name]"; return 0
  fi
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  for p in $tree; do kill -KILL "$p" 2>/dev/null; done
  wait "$pid" 2>/dev/null
  unset "PID[$name]"
}
cleanup() {
  local n
  [ -n "${FLAP_PID:-}" ] && kill "$FLAP_PID" 2>/dev/null
  for n in "${!PID[@]}"; do stop_server "$n"; done
  [ -n "$CGROUP" ] && rmdir "$CGROUP" 2>/dev/null
  true
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# a started server that exited is a zombie until reaped: kill -0 is not enough
alive() { local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null); [ -n "$st" ] && [ "$st" != Z ]; }
# dig +short at the loopback server, without dig's ";;" error lines
qdig() { dig +short +time=1 +tries=1 @"$SERVER_ADDR" "$@" 2>/dev/null | grep -v '^;' ; }

# % of all CPUs busy over 1 s while our servers are idle (other processes on the machine)
bg_busy() {
  local a b
  a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat); sleep 1
  b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
  echo "$a $b" | awk '{ t=$4-$2; if (t>0) printf "%.0f", 100*($3-$1)/t; else print 0 }'
}

port_busy() { ss -Hlun "sport = :$1" 2>/dev/null | grep -q . ; }

# wait until the server answers the apex SOA; $1 name, $2 port, $3 seconds
wait_dns() {
  local name=$1 port=$2 secs=$3 i
  for i in $(seq $((secs * 5))); do
    alive "${PID[$name]}" || return 1
    if [ -n "$(qdig -p "$port" "$GEN_SUFFIX" SOA)" ]; then
      return 0
    fi
    sleep 0.2
  done
  return 1
}

# compare the server's answers with check.txt; prints mismatches, returns 1 on any
check_answers() {
  local name=$1 port=$2 dir=$3 bad=0 qn qt want got
  while read -r qn qt want; do
    if [ "$want" = NXDOMAIN ]; then
      got=$(dig +time=1 +tries=1 -p "$port" @"$SERVER_ADDR" "$qn" "$qt" 2>/dev/null \
            | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')
    else
      got=$(qdig -p "$port" "$qn" "$qt" | sort | paste -sd, -)
    fi
    if [ "$got" != "$want" ]; then
      log "  $name: $qn $qt -> '${got}' (expected '$want')"; bad=1
    fi
  done < "$dir/check.txt"
  return $bad
}

start_server() {  # $1 name, $2 gen dir; sets PID[name]; returns 1 if it does not answer
  local name=$1 dir=$2 port
  case $name in
    epdns) port=$EPDNS_PORT ;;
    knot) port=$KNOT_PORT ;;
    nsd) port=$NSD_PORT ;;
  esac
  if port_busy "$port"; then
    log "SKIP $name: UDP port $port on loopback is already in use (another server? use --port-base)"
    return 1
  fi
  case $name in
    epdns)
      [ -x "$EPDNS_BIN" ] || { log "SKIP epdns: no binary at $EPDNS_BIN"; return 1; }
      local conf=$dir/epdns.toml
      # the flap workload wants the admin API: use the config with [admin] if this epdns takes it
      if [ -f "$dir/epdns-admin.toml" ]; then
        if ss -Hltn 'sport = :8053' 2>/dev/null | grep -q .; then
          log "NOTE: TCP 127.0.0.1:8053 is already in use by another process: no admin API for our epdns, flap will be skipped"
        elif "$EPDNS_BIN" check --config "$dir/epdns-admin.toml" >"$dir/epdns-check.log" 2>&1; then
          conf=$dir/epdns-admin.toml
        else
          log "NOTE: this epdns rejects [admin] (no admin API yet?): the flap workload will be skipped"
          sed 's/^/    /' "$dir/epdns-check.log" | head -3 >&2
        fi
      fi
      if ! "$EPDNS_BIN" check --config "$conf" >"$dir/epdns-check.log" 2>&1; then
        log "SKIP epdns: 'epdns check' rejected the generated config:"; sed 's/^/    /' "$dir/epdns-check.log" | head -20 >&2
        return 1
      fi
      # the generated config already listens on $EPDNS_PORT (EPDNS_ARGS may add e.g. --listen)
      EPDNS_LOG=${EPDNS_LOG:-info} setsid $PIN_S "$EPDNS_BIN" serve --config "$conf" ${EPDNS_ARGS:-} \
        >"$dir/epdns.log" 2>&1 &
      ;;
    knot)
      setsid $PIN_S knotd -c "$dir/knot.conf" >"$dir/knot.log" 2>&1 & ;;
    nsd)
      setsid $PIN_S nsd -d -c "$dir/nsd.conf" >"$dir/nsd.log" 2>&1 & ;;
  esac
  PID[$name]=$!
  if ! wait_dns "$name" "$port" 30; then
    if [ "$name" = epdns ]; then
      log "SKIP epdns: epdns did not answer dig (SOA $GEN_SUFFIX @$SERVER_ADDR -p $port); log: $dir/epdns.log"
    else
      log "SKIP $name: did not answer dig on port $port; log: $dir/$name.log"
    fi
    tail -5 "$dir/$name.log" 2>/dev/null | sed 's/^/    /' >&2
    stop_server "$name"
    return 1
  fi
  if ! check_answers "$name" "$port" "$dir"; then
    log "WARNING: $name answers differ from the generated records (see above); benchmarking anyway"
    echo "$name size=$GEN_ENDPOINTS answers differ" >>"$OUT/warnings"
  fi
  return 0
}

server_port() { case $1 in epdns) echo "$EPDNS_PORT" ;; knot) echo "$KNOT_PORT" ;; nsd) echo "$NSD_PORT" ;; esac; }

# one throughput run + one latency run, appends a row to $RESULTS
bench_one() {  # $1 server $2 dir $3 workload $4 round
  local srv=$1 dir=$2 wl=$3 r=$4 port pid tag t0 t1 s lat cpu
  port=$(server_port "$srv"); pid=${PID[$srv]}
  tag="$dir/run-$wl-r$r-$srv"
  local base=(-s "$SERVER_ADDR" -p "$port" -d "$dir/q-mixed.txt" -c "$CLIENTS" -t "$TIMEOUT")
  local q_plain=$OUTSTANDING q_ecs=0 rate_plain=$LAT_RATE rate_ecs=0
  if [ "$wl" = ecs ]; then
    q_ecs=$(( (OUTSTANDING + 2) / 3 )); q_plain=$((OUTSTANDING - q_ecs))
    rate_ecs=$(( (LAT_RATE + 2) / 3 )); rate_plain=$((LAT_RATE - rate_ecs))
  fi
  # -- throughput: unlimited rate, $OUTSTANDING in flight
  t0=$($REPORT cpu "$pid")
  $PIN_C dnsperf "${base[@]}" -l "$DURATION" -q "$q_plain" >"$tag.tp" 2>&1 &
  local p1=$! p2=""
  if [ "$q_ecs" -gt 0 ]; then
    $PIN_C dnsperf "${base[@]}" -l "$DURATION" -q "$q_ecs" -E "$ECS_OPT" >"$tag.tp-ecs" 2>&1 &
    p2=$!
  fi
  wait $p1 $p2
  t1=$($REPORT cpu "$pid")
  if [ -n "$p2" ]; then s=$($REPORT dnsperf "$tag.tp" "$tag.tp-ecs"); else s=$($REPORT dnsperf "$tag.tp"); fi
  # s = sent completed lost qps avg_ms sd_ms
  set -- $s
  local sent=$1 comp=$2 lost=$3 qps=$4 avg=$5 sd=$6
  cpu=$(awk -v d=$((t1 - t0)) -v c="$comp" -v hz="$CLK_TCK" 'BEGIN{ if (c>0) printf "%.2f", d*1e6/hz/c; else print "nan" }')
  # server CPU use during the run, % of one core: near 100 = the server was the bottleneck
  local busy; busy=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v l="$DURATION" 'BEGIN{ printf "%.0f", 100*d/hz/l }')
  # -- latency: fixed offered rate, per-query latencies from -v
  local n=0 p50=nan p99=nan p999=nan lto=0
  if [ "$LAT_DURATION" -gt 0 ]; then
    $PIN_C dnsperf "${base[@]}" -l "$LAT_DURATION" -Q "$rate_plain" -v >"$tag.lat" 2>&1 &
    p1=$! p2=""
    if [ "$rate_ecs" -gt 0 ]; then
      $PIN_C dnsperf "${base[@]}" -l "$LAT_DURATION" -Q "$rate_ecs" -E "$ECS_OPT" -v >"$tag.lat-ecs" 2>&1 &
      p2=$!
    fi
    wait $p1 $p2
    if [ -n "$p2" ]; then lat=$($REPORT pct "$tag.lat" "$tag.lat-ecs"); else lat=$($REPORT pct "$tag.lat"); fi
    set -- $lat
    n=$1 p50=$2 p99=$3 p999=$4 lto=$5
    rm -f "$tag.lat" "$tag.lat-ecs"   # large; the percentiles are in results.tsv
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$GEN_ENDPOINTS" "$wl" "$r" "$srv" "$sent" "$comp" "$lost" "$qps" "$avg" "$sd" "$cpu" \
    "$p50" "$p99" "$p999" "$n" "$lto" "$busy" >>"$RESULTS"
  # a run where the server answered nothing (or lost queries): say what state it is in
  if [ "$comp" = 0 ] || [ "$lost" != 0 ]; then
    local st; st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)
    local ans; ans=$(qdig -p "$port" "$GEN_SUFFIX" SOA | head -1)
    local msg="$srv size=$GEN_ENDPOINTS $wl round $r: completed $comp, lost $lost; process state '${st:-gone}' (wchan $(cat /proc/$pid/wchan 2>/dev/null || echo -)), threads $(ls /proc/$pid/task 2>/dev/null | wc -l), dig SOA now: '${ans:-no answer}'"
    log "WARNING: $msg"; echo "$msg" >>"$OUT/warnings"
    if [ -n "$st" ]; then
      for t in /proc/$pid/task/*; do echo "  task $(basename "$t") $(awk '{print $2, $3}' "$t/stat") wchan=$(cat "$t/wchan" 2>/dev/null)"; done >>"$OUT/warnings"
    fi
    tail -5 "$dir/$srv.log" 2>/dev/null | sed 's/^/  log: /' >>"$OUT/warnings"
  fi
  local extra=""
  if [ "$wl" = ecs ]; then
    extra=$(awk '/Queries completed:/{print $3}' "$tag.tp-ecs" 2>/dev/null | awk -v c="$comp" '{ if (c>0) printf ", ECS share %.0f%%", 100*$1/c }')
  fi
  log "$(printf '  r%s %-5s %-5s %8s qps  lost %-5s cpu %6s us/q (server busy %s%%)  avg %s ms  p50 %s p99 %s ms%s' \
      "$r" "$wl" "$srv" "$qps" "$lost" "$cpu" "$busy" "$avg" "$p50" "$p99" "$extra")"
}

# ---- flap workload: epdns qps while ENI overrides toggle every $FLAP_INTERVAL_MS ----
flap_phase() {  # $1 gen dir
  local dir=$1 zone api code first_zone before after
  [ -n "${PID[epdns]:-}" ] || { log "SKIP flap: epdns is not running"; return 0; }
  first_zone=${FLAP_ZONES%% *}
  # only ever toggle OUR epdns: the admin port must belong to the epdns this script started
  if ! ss -Hltnp 'sport = :8053' 2>/dev/null | grep -q "pid=${PID[epdns]},"; then
    log "SKIP flap: the epdns admin API did not answer (nothing of our epdns, pid ${PID[epdns]}, listens on 127.0.0.1:8053)"
    return 0
  fi
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 -X PUT -H 'Content-Type: application/json' \
         -d '{"state":"down"}' "http://127.0.0.1:8053/v1/endpoints/$FLAP_ENDPOINT/zones/$first_zone/override" 2>/dev/null)
  case "$code" in
    2??) ;;
    *) log "SKIP flap: the epdns admin API did not answer (PUT http://127.0.0.1:8053/v1/endpoints/$FLAP_ENDPOINT/zones/$first_zone/override -> '${code:-no answer}')"
       return 0 ;;
  esac
  sleep 0.2
  after=$(qdig -p "$EPDNS_PORT" "$ECS_CHECK_NAME" A | wc -l)
  curl -s -o /dev/null --max-time 1 -X PUT -H 'Content-Type: application/json' -d '{"state":"up"}' \
    "http://127.0.0.1:8053/v1/endpoints/$FLAP_ENDPOINT/zones/$first_zone/override"
  sleep 0.2
  before=$(qdig -p "$EPDNS_PORT" "$ECS_CHECK_NAME" A | wc -l)
  log "flap: override check: $ECS_CHECK_NAME has $after A records with $first_zone forced down, $before after forcing it up"
  local base=(-s "$SERVER_ADDR" -p "$EPDNS_PORT" -d "$dir/q-mixed.txt" -c "$CLIENTS" -q "$OUTSTANDING" -t "$TIMEOUT" -l "$FLAP_DURATION" -S 1)
  local tag r s0 s1 ps0 ps1 fl t0 t1 d0 d1 cpu0 cpu1 est
  printf '# size\tround\tphase\tsent completed lost qps avg_ms sd_ms\tper-second qps: min median max n\tcpu_us_per_q\ttoggles ok fail max_ms\test. extra CPU per toggle (ms)\n' >"$FLAP_RESULTS"
  # alternate steady / flapping runs, $FLAP_ROUNDS pairs
  for r in $(seq "$FLAP_ROUNDS"); do
    tag="$dir/flap-r$r"
    t0=$($REPORT cpu "${PID[epdns]}")
    $PIN_C dnsperf "${base[@]}" >"$tag.steady" 2>&1
    t1=$($REPORT cpu "${PID[epdns]}"); d0=$((t1 - t0))
    s0=$($REPORT dnsperf "$tag.steady"); ps0=$($REPORT persec "$tag.steady")
    cpu0=$(awk -v d=$d0 -v c="$(echo "$s0" | cut -d' ' -f2)" -v hz="$CLK_TCK" 'BEGIN{ if (c>0) printf "%.2f", d*1e6/hz/c; else print "nan" }')
    $PIN_C $REPORT flap "$FLAP_DURATION" "$FLAP_INTERVAL_MS" "$FLAP_ENDPOINTS" "$FLAP_ZONES" >"$tag.toggler" 2>&1 &
    FLAP_PID=$!
    t0=$($REPORT cpu "${PID[epdns]}")
    $PIN_C dnsperf "${base[@]}" >"$tag.flap" 2>&1
    t1=$($REPORT cpu "${PID[epdns]}"); d1=$((t1 - t0))
    wait "$FLAP_PID"; FLAP_PID=""
    s1=$($REPORT dnsperf "$tag.flap"); ps1=$($REPORT persec "$tag.flap")
    cpu1=$(awk -v d=$d1 -v c="$(echo "$s1" | cut -d' ' -f2)" -v hz="$CLK_TCK" 'BEGIN{ if (c>0) printf "%.2f", d*1e6/hz/c; else print "nan" }')
    fl=$(tail -1 "$tag.toggler")
    # CPU of the flapping run beyond what its queries cost at the steady rate, per toggle
    est=$(awk -v d=$d1 -v hz="$CLK_TCK" -v c="$(echo "$s1" | cut -d' ' -f2)" -v q="$cpu0" -v t="$(echo "$fl" | cut -d' ' -f2)" \
          'BEGIN{ if (t>0) printf "%.1f", (d/hz - c*q/1e6)*1000/t; else print "nan" }')
    printf '%s\t%s\tsteady\t%s\t%s\t%s\t-\t-\n' "$GEN_ENDPOINTS" "$r" "$s0" "$ps0" "$cpu0" >>"$FLAP_RESULTS"
    printf '%s\t%s\tflap\t%s\t%s\t%s\t%s\t%s\n' "$GEN_ENDPOINTS" "$r" "$s1" "$ps1" "$cpu1" "$fl" "$est" >>"$FLAP_RESULTS"
    log "flap r$r: steady   $(echo "$s0" | cut -d' ' -f4) qps (per-second min/median/max $ps0), cpu $cpu0 us/q"
    log "flap r$r: flapping $(echo "$s1" | cut -d' ' -f4) qps (per-second min/median/max $ps1), cpu $cpu1 us/q, lost $(echo "$s1" | cut -d' ' -f3); toggles/ok/fail/max_ms: $fl; ~${est} ms CPU per toggle"
  done
}

# ---- preflight ----------------------------------------------------------------
for t in dnsperf dig python3 ss curl; do
  command -v $t >/dev/null || { log "run.sh: $t is required (apt-get install -y dnsperf bind9-dnsutils python3 iproute2 curl)"; exit 2; }
done
ACTIVE=""
for s in $SERVERS; do
  case $s in
    knot) command -v knotd >/dev/null && ACTIVE="$ACTIVE knot" || log "SKIP knot: knotd not installed (apt-get install -y knot)" ;;
    nsd) command -v nsd >/dev/null && ACTIVE="$ACTIVE nsd" || log "SKIP nsd: nsd not installed (apt-get install -y nsd)" ;;
    epdns) ACTIVE="$ACTIVE epdns" ;;
    *) log "run.sh: unknown server $s"; exit 2 ;;
  esac
done

if [[ " $ACTIVE " == *" epdns "* ]]; then
  [ -n "$EPDNS_BIN" ] || EPDNS_BIN=$REPO/target/release/epdns
  if [ "$BUILD" = 1 ]; then
    if ! command -v cargo >/dev/null; then
      log "SKIP epdns build: cargo not found; using $EPDNS_BIN if present"
    else
      log "building epdns (cargo build --release in $REPO; log $OUT/build.log) ..."
      if ! (cd "$REPO" && cargo build --release) >"$OUT/build.log" 2>&1; then
        log "SKIP epdns: cargo build --release failed (see $OUT/build.log):"
        grep -m5 -E '^error' "$OUT/build.log" | sed 's/^/    /' >&2
        EPDNS_BIN=""
      fi
    fi
  fi
fi

{
  echo "# epdns benchmark $(date -u +%FT%TZ) on $(uname -sr), $NCPU cpus ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'))"
  echo "# epdns $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?') | $(knotd -V 2>&1 | head -1) | NSD $(nsd -v 2>&1 | head -1 | awk '{print $NF}') | $(dnsperf -h 2>&1 | grep -m1 Version)"
  echo "# pin: $([ "$PIN" = 1 ] && echo "servers cpu $SERVER_CPUS, dnsperf cpu $CLIENT_CPUS" || echo off)$([ "$QUOTA" -gt 0 ] && echo ", server CPU quota ${QUOTA}%") | rounds $ROUNDS | throughput ${DURATION}s -c $CLIENTS -q $OUTSTANDING (rate unlimited) | latency ${LAT_DURATION}s at -Q $LAT_RATE"
  printf '#%s\n' "$(echo size workload round server sent completed lost qps avg_ms sd_ms cpu_us_per_q p50_ms p99_ms p999_ms lat_n lat_timeouts srv_busy_pct | tr ' ' '\t')"
} >"$RESULTS"
head -3 "$RESULTS" | sed 's/^# //' >&2
log "output: $OUT"

# ---- main loop -------------------------------------------------------------------
LAST_SIZE=${SIZES##* }
for size in $SIZES; do
  dir=$OUT/n$size
  admin=()
  [ "$FLAP" = 1 ] && [ "$size" = "$LAST_SIZE" ] && admin=(--admin 127.0.0.1:8053)
  python3 "$BENCH_DIR/gen.py" --endpoints "$size" --zones "$ZONES" --out "$dir" \
    --epdns-port "$EPDNS_PORT" --knot-port "$KNOT_PORT" --nsd-port "$NSD_PORT" "${admin[@]}" || exit 1
  # shellcheck disable=SC1091
  . "$dir/bench.env"
  RUNNING=""
  for s in $ACTIVE; do
    if [ "$FLAP_ONLY" = 1 ] && { [ "$s" != epdns ] || [ "$size" != "$LAST_SIZE" ]; }; then continue; fi
    if start_server "$s" "$dir"; then RUNNING="$RUNNING $s"; fi
  done
  if [[ " $RUNNING " == *" epdns "* ]]; then
    got=$(qdig +subnet="$ECS_NET" -p "$EPDNS_PORT" "$ECS_CHECK_NAME" A | sort | paste -sd, -)
    if [ "$got" = "$ECS_CHECK_IP" ]; then
      log "epdns: ECS $ECS_NET -> $got (zone affinity via ECS works)"
    else
      log "NOTE: epdns with ECS $ECS_NET answered '$got', expected only $ECS_CHECK_IP (affinity via ECS not effective)"
    fi
  fi
  if [ "$FLAP_ONLY" = 0 ]; then
    log "== $size endpoints x $ZONES zones: servers:${RUNNING:- none}"
    for r in $(seq "$ROUNDS"); do
      bg=$(bg_busy)
      echo "# size $size round $r: background CPU busy ${bg}% before the round" >>"$RESULTS"
      if [ "$bg" -gt 10 ]; then
        log "WARNING: round $r: other processes keep ${bg}% of the CPUs busy; figures will be noisy"
        echo "size $size round $r: background CPU ${bg}% busy (other processes)" >>"$OUT/warnings"
      fi
      for wl in $WORKLOADS; do
        for s in $RUNNING; do bench_one "$s" "$dir" "$wl" "$r"; done
      done
    done
  fi
  if [ "$FLAP" = 1 ] && [ "$size" = "$LAST_SIZE" ]; then flap_phase "$dir"; fi
  for s in $RUNNING; do stop_server "$s"; done
done

if [ "$FLAP_ONLY" = 0 ]; then
  echo
  head -3 "$RESULTS" | sed 's/^# //'
  echo "qps: median of rounds (unlimited rate, -q $OUTSTANDING); avg_ms: dnsperf mean latency at that load;"
  echo "p50/p99/p999: from per-query latencies (dnsperf -v) at a fixed $LAT_RATE qps; lost: sum over rounds;"
  echo "cpu_us/q: server utime+stime per completed query; busy%: server CPU during the run (% of one core);"
  echo "e/ref: median over rounds of epdns/reference (qps: >1 is better for epdns; cpu: <1 is better)."
  echo
  $REPORT table "$RESULTS"
fi
if [ -s "$FLAP_RESULTS" ]; then echo; echo "flap workload (epdns, ${FLAP_INTERVAL_MS} ms toggles):"; column -t -s $'\t' "$FLAP_RESULTS"; fi
[ -s "$OUT/warnings" ] && { echo; echo "warnings:"; cat "$OUT/warnings"; }
echo
echo "raw results: $RESULTS"
