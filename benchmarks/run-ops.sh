#!/usr/bin/env bash
# Per-op-family CPU microbenchmarks (OpFamilyBenchmark): the reference model's conv shapes, the segmenter's
# transposed conv and instance norm, PLE's expert Linear and gate mixing, the pools, each against a
# compute-bound conv (GFLOP/s) or a memory-bound add (GB/s) measured in the same JMH run.
#
#   benchmarks/run-ops.sh [--no-build] [--threads N] [--wait-idle MINUTES] [-- JMH options...]
#
# Writes benchmarks/results/ops-<UTC time>.json (the table) and .log (JMH's output). JMH options after --,
# e.g. -- -p op=conv-stem,peak-conv -i 5. Maven settings (a local repository) go in MAVEN_OPTS.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
source "$here/wait-idle.sh"
cd "$root"
build=1
threads="$(nproc)"
wait_idle=0
jmh_args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --no-build) build=0; shift ;;
        --threads) threads="$2"; shift 2 ;;
        --wait-idle) wait_idle="$2"; shift 2 ;;
        --) shift; jmh_args=("$@"); break ;;
        -h|--help) sed -n '2,10p' "$here/$(basename "${BASH_SOURCE[0]}")"; exit 0 ;;
        *) echo "run-ops.sh: error: unknown argument '$1' (JMH options go after --)" >&2; exit 2 ;;
    esac
done
export JAVA_HOME="${JAVA_HOME_25:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
if [[ $build -eq 1 ]]; then
    echo "== building benchmarks and the modules it needs (tests skipped)"
    mvn -B -q -pl benchmarks -am -DskipTests package
fi
wait_idle "$wait_idle"
stamp="$(date -u +%Y-%m-%dT%H%MZ)"
mkdir -p "$here/results"
json="$here/results/ops-$stamp.json"
log="$here/results/ops-$stamp.log"
export OMP_NUM_THREADS="$threads"
echo "== load before the run: $(cut -d' ' -f1-3 /proc/loadavg); $threads threads" | tee "$log"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Dops.json="$json" \
    -cp "$here/target/benchmarks.jar:$(cat "$here/target/classpath.txt")" org.renalmtl.bench.OpFamilyLauncher \
    "${jmh_args[@]}" 2>&1 | tee -a "$log"
status=${PIPESTATUS[0]}
echo "== load after the run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"
echo "== results: $json, log: $log"
exit "$status"
