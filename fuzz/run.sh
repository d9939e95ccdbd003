#!/usr/bin/env bash
# Builds the AFL++ target (src/main.rs) and fuzzes both answer paths for
# SECONDS from the queries in seeds/; fails when AFL finds a crash or a hang,
# naming the files that reproduce it. Needs cargo-afl 0.18 (`cargo install
# --locked cargo-afl@0.18.2`, which also builds its AFL++).
set -euo pipefail
secs="${1:?usage: fuzz/run.sh SECONDS}"
cd "$(dirname "$0")"

cargo afl build --release --locked

out=target/afl-out
rm -rf "$out"
# AFL's own environment checks, which say nothing about the target:
# the CPU frequency governor, a core_pattern that pipes to a crash
# reporter (crashes are still caught: the harness aborts), and core
# binding (a shared CI machine may have no idle core). No curses UI.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
  AFL_NO_AFFINITY=1 AFL_NO_UI=1 AFL_FAST_CAL=1
# A query takes microseconds: 1 s is a hang even on a loaded machine.
cargo afl fuzz -V "$secs" -t 1000 -i seeds -o "$out" target/release/epdns-fuzz

stats="$out/default/fuzzer_stats"
grep -E '^(execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs) ' "$stats"
found=$(find "$out/default/crashes" "$out/default/hangs" -type f ! -name README.txt)
if [ -n "$found" ]; then
  echo "fuzz/run.sh: AFL found inputs that crash or hang the answer paths:" >&2
  echo "$found" >&2
  exit 1
fi
