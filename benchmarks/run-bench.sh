#!/usr/bin/env bash
# `renal-mtl bench` into benchmarks/results/: bench-<device>-<UTC time>.json (raw samples included), .log
# (everything it printed) and -plots/ (PNG and SVG), then the README's tables from them.
#
#   benchmarks/run-bench.sh [--wait-idle MINUTES] [--ops OPS.json] [-- bench options...]
#
# Default bench options: --device cpu --sizes 96,64,128 --batch 1,2 --tasks 3,5 --compare.
# RENAL_MTL overrides the command that runs the CLI (default: the launcher ./renal-mtl).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
source "$here/wait-idle.sh"
wait_idle=0
ops=""
args=(--device cpu --sizes 96,64,128 --batch 1,2 --tasks 3,5 --compare)
while [[ $# -gt 0 ]]; do
    case "$1" in
        --wait-idle) wait_idle="$2"; shift 2 ;;
        --ops) ops="$2"; shift 2 ;;
        --) shift; args=("$@"); break ;;
        -h|--help) sed -n '2,8p' "$here/$(basename "${BASH_SOURCE[0]}")"; exit 0 ;;
        *) echo "run-bench.sh: error: unknown argument '$1' (bench options go after --)" >&2; exit 2 ;;
    esac
done
read -r -a cli <<<"${RENAL_MTL:-$root/renal-mtl}"
wait_idle "$wait_idle"
stamp="$(date -u +%Y-%m-%dT%H%MZ)"
out="$here/results/bench-cpu-$stamp"
mkdir -p "$here/results"
set +e
"${cli[@]}" bench "${args[@]}" --json "$out.json" --plot "$out-plots" 2>&1 | tee "$out.log"
status=${PIPESTATUS[0]}
set -e
if [[ $status -eq 0 ]]; then
    python3 "$here/bench_tables.py" "$out.json" ${ops:+--ops "$ops"} --readme "$root/README.md"
    echo "== results: $out.json, log: $out.log, plots: $out-plots/; README tables updated"
fi
exit "$status"
