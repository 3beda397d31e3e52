#!/usr/bin/env bash
# Cases per second of `predict --cohort` on a phantom cohort (CASES=50 cases, seed 7) with the built-in seeded
# R18-3P-96 MTDL model on the CPU, as the launcher runs it: RUNS=2 runs of each option set, interleaved (the
# machine's load drifts; interleaving spreads it over all sets), each into a fresh results file, timed from the
# JVM's start to its exit (model loading and planning included, as a user meets them).
#   benchmarks/cohort/cohort-throughput.sh [WORKDIR] [-- 'OPTIONS' 'OPTIONS' ...]
# Option sets default to '--prefetch 0' (the serial runner) and '--prefetch 2' (the default). WORKDIR keeps the
# cohort and model between calls, else a temp dir is used. RENAL_MTL=command runs another build than ./renal-mtl.
# In an option set, the word --seg stands for `--seg-model` with the built-in phantom nnU-Net, run over the same
# cohort's list without its mask column (each case segmented first), e.g. -- '--seg --prefetch 0' '--seg'.
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

seg="$root/cli/src/main/resources/org/renalmtl/cli/phantom-seg.h5"
if [[ ! -f "$work/cohort$cases/no-masks.csv" ]]; then
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "mask") m = i }
    { out = ""; for (i = 1; i <= NF; i++) if (i != m) out = out (out == "" ? "" : ",") $i; print out }' \
    "$work/cohort$cases/cases.csv" >"$work/cohort$cases/no-masks.csv"
fi

echo "== predict --cohort, $cases phantom cases, CPU ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
for ((i = 1; i <= runs; i++)); do
  for s in "${sets[@]}"; do
    out="$work/results.csv"
    rm -f "$out"
    t0=$(date +%s%N)
    # shellcheck disable=SC2086 # an option set is several words
    list="$work/cohort$cases/cases.csv"
    opts="$s"
    if [[ " $s " == *" --seg "* ]]; then
      list="$work/cohort$cases/no-masks.csv"
      opts="${s/--seg/--seg-model $seg}"
    fi
    rc=0; "$rm_cmd" predict --device cpu --model "$work/model.h5" --cohort "$list" \
      --out "$out" $opts >"$work/run.log" 2>&1 || rc=$?
    t1=$(date +%s%N)
    if [[ $rc -ne 0 ]]; then echo "run failed (exit $rc): $s" >&2; tail -5 "$work/run.log" >&2; exit 1; fi
    awk -v s="$s" -v i="$i" -v n="$cases" -v ns="$((t1 - t0))" \
      'BEGIN { printf "run %d  %-24s %7.1f s  %.3f cases/s\n", i, s, ns / 1e9, n / (ns / 1e9) }'
  done
done
