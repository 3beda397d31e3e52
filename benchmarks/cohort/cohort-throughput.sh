#!/usr/bin/env bash
# Cases per second of `predict --cohort` on a phantom cohort (CASES=50 cases, seed 7) with the built-in seeded
# R18-3P-96 MTDL model on the CPU, as the launcher runs it: RUNS=2 runs of each option set, interleaved (the
# machine's load drifts; interleaving spreads it over all sets), each into a fresh results file, timed from the
# JVM's start to its exit (model loading and planning included, as a user meets them).
#   benchmarks/cohort/cohort-throughput.sh [WORKDIR] [-- 'OPTIONS' 'OPTIONS' ...]
# Option sets default to '--prefetch 0' (the serial runner) and '--prefetch 2' (the default). WORKDIR keeps the
# cohort and model between calls, else a temp dir is used. RENAL_MTL=command runs another build than ./renal-mtl.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
runs="${RUNS:-2}"
cases="${CASES:-50}"
rm_cmd="${RENAL_MTL:-$root/renal-mtl}"
work=""
if [[ $# -ge 1 && "$1" != "--" ]]; then work="$1"; shift; mkdir -p "$work"; fi
if [[ -z "$work" ]]; then work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT; fi
[[ "${1:-}" == "--" ]] && shift
sets=("$@")
[[ ${#sets[@]} -gt 0 ]] || sets=("--prefetch 0" "--prefetch 2")

if [[ ! -f "$work/cohort$cases/cases.csv" ]]; then
  "$rm_cmd" phantom --out "$work/cohort$cases" --cases "$cases" --seed 7 >/dev/null
fi
if [[ ! -f "$work/model.h5" ]]; then
  "$rm_cmd" demo --device cpu --runs 0 --out "$work/demo" --save-model "$work/model.h5" >/dev/null
fi

echo "== predict --cohort, $cases phantom cases, CPU ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
for ((i = 1; i <= runs; i++)); do
  for s in "${sets[@]}"; do
    out="$work/results.csv"
    rm -f "$out"
    t0=$(date +%s%N)
    # shellcheck disable=SC2086 # an option set is several words
    rc=0; "$rm_cmd" predict --device cpu --model "$work/model.h5" --cohort "$work/cohort$cases/cases.csv" \
      --out "$out" $s >"$work/run.log" 2>&1 || rc=$?
    t1=$(date +%s%N)
    if [[ $rc -ne 0 ]]; then echo "run failed (exit $rc): $s" >&2; tail -5 "$work/run.log" >&2; exit 1; fi
    awk -v s="$s" -v i="$i" -v n="$cases" -v ns="$((t1 - t0))" \
      'BEGIN { printf "run %d  %-24s %7.1f s  %.3f cases/s\n", i, s, ns / 1e9, n / (ns / 1e9) }'
  done
done
