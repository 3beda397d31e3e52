#!/usr/bin/env bash
# CPU benchmark of the R18-3P-96 MTDL forward: renal-mtl vs libtorch vs ONNX Runtime, one JMH run.
#
#   benchmarks/run-cpu.sh [--no-build] [--regenerate] [--threads N] [--wait-idle MINUTES]
#                         [--baseline COMMIT] [-- JMH options...]
#
# 1. builds this module and the modules it needs (mvn -am package, tests skipped) unless --no-build;
#    --baseline COMMIT also times the engine of another commit (git rev-parse syntax: 060882f, main,
#    HEAD~1) beside the current one: its weights and engine jars are built once from `git archive` of
#    that commit into benchmarks/target/baseline/<short id>/ (delete it to rebuild) and the launcher
#    gets -p baseline=<that directory>;
# 2. writes the seeded model, its TorchScript/ONNX copies and a backbone-only TorchScript copy into
#    benchmarks/target/model/ with /usr/bin/python3 and weights/export/ (if missing, or --regenerate);
# 3. checks that the backends give the same probabilities and features, then runs JMH (the benchmark's
#    defaults: 1 fork per backend, 3 warm-up + 5 measured iterations of 10 s; JMH options after --,
#    e.g. -- -wi 5 -i 10 -r 20s, or a regexp 'CpuForwardBenchmark.(libtorch|onnxRuntime)') and writes
#    benchmarks/results/cpu-<UTC time>.json (JMH's JSON) and cpu-<UTC time>.log beside it.
#    --wait-idle M first waits up to M minutes for the 1-minute load average to fall below 0.3 (on a
#    shared machine other builds otherwise land in whichever backend is being timed).
# Exit codes: those of the launcher (0 ok, 1 mismatch or JMH failure, 2 bad input), 2 for a missing tool.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
source "$here/wait-idle.sh"
cd "$root"

build=1
regenerate=0
threads="$(nproc)"
wait_idle=0
baseline=""
jmh_args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --no-build) build=0; shift ;;
        --regenerate) regenerate=1; shift ;;
        --threads) threads="$2"; shift 2 ;;
        --wait-idle) wait_idle="$2"; shift 2 ;;
        --baseline) baseline="$2"; shift 2 ;;
        --) shift; jmh_args=("$@"); break ;;
        -h|--help) sed -n '2,19p' "$here/$(basename "${BASH_SOURCE[0]}")"; exit 0 ;;
        *) echo "run-cpu.sh: error: unknown argument '$1' (JMH options go after --)" >&2; exit 2 ;;
    esac
done

export JAVA_HOME="${JAVA_HOME_25:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
if [[ ! -x "$JAVA_HOME/bin/java" ]]; then
    echo "run-cpu.sh: error: no Java 25 at $JAVA_HOME (set JAVA_HOME_25)" >&2
    exit 2
fi

python=/usr/bin/python3
export_py="$root/weights/export/export.py"
peers_py="$root/weights/export/export_peers.py"
for f in "$export_py" "$peers_py"; do
    if [[ ! -f "$f" ]]; then
        echo "run-cpu.sh: error: $f is missing: the Python exporters (weights/export/) are not there yet," \
            "so there is no model to benchmark" >&2
        exit 2
    fi
done
if ! "$python" -c 'import torch, h5py' 2>/dev/null; then
    echo "run-cpu.sh: error: $python cannot import torch and h5py (Debian: python3-torch python3-h5py)" >&2
    exit 2
fi

if [[ $build -eq 1 ]]; then
    echo "== building benchmarks and the modules it needs (tests skipped)"
    mvn -B -q -pl benchmarks -am -DskipTests package
fi
jar="$here/target/benchmarks.jar"
classpath_file="$here/target/classpath.txt"
if [[ ! -f "$jar" || ! -f "$classpath_file" ]]; then
    echo "run-cpu.sh: error: $jar or $classpath_file missing: run without --no-build" >&2
    exit 2
fi

# The baseline's jars: built from the commit's own tree with its own pom, so they are what that commit
# shipped; the launcher loads them beside the current engine (BaselineClassLoader).
baseline_args=()
if [[ -n "$baseline" ]]; then
    if ! sha="$(git -C "$root" rev-parse --verify --quiet --short "$baseline^{commit}")"; then
        echo "run-cpu.sh: error: --baseline $baseline: no such commit in $root" >&2
        exit 2
    fi
    baseline_dir="$here/target/baseline/$sha"
    if [[ ! -d "$baseline_dir" ]]; then
        echo "== building the weights and engine jars of baseline $sha into $baseline_dir (tests skipped)"
        mkdir -p "$here/target/baseline"
        work="$(mktemp -d "$here/target/baseline/.build-$sha.XXXXXX")"
        mkdir "$work/src" "$work/jars"
        git -C "$root" archive "$sha" | tar -x -C "$work/src"
        (
            cd "$work/src"
            if [[ -f .ci/jdk.sh ]]; then
                source .ci/jdk.sh
            fi
            # -DskipTests also skips the engine's PyTorch fixtures; maven.test.skip its test compile and test jar
            mvn -B -q -DskipTests -Dmaven.test.skip=true -pl weights,engine -am package
        )
        for built in "$work"/src/weights/target/weights-*.jar "$work"/src/engine/target/engine-*.jar; do
            case "$built" in
                *-sources.jar|*-javadoc.jar|*-tests.jar) ;;
                *) cp "$built" "$work/jars/" ;;
            esac
        done
        # a directory appears only complete: an interrupted build leaves a .build-* to delete, never a half baseline
        mv "$work/jars" "$baseline_dir"
        rm -rf "$work"
    fi
    baseline_args=(-p baseline="$baseline_dir")
fi

model_dir="$here/target/model"
model="$model_dir/r18-3p-96-mtdl.h5"
if [[ $regenerate -eq 1 || ! -f "$model" || ! -f "$model_dir/peers.json" || ! -f "$model_dir/backbone/peers.json" ]]; then
    echo "== writing the seeded R18-3P-96 MTDL model and its TorchScript/ONNX copies into $model_dir"
    mkdir -p "$model_dir/backbone"
    "$python" "$export_py" --named r18_3p_96_mtdl --seed 0 --out "$model"
    "$python" "$peers_py" --model "$model" --batch 1 --out "$model_dir" > "$model_dir/export_peers.out"
    # backbone-only TorchScript copy: the launcher compares renal-mtl's fused features with it
    "$python" "$peers_py" --model "$model" --batch 1 --backbone-only --no-onnx --out "$model_dir/backbone" \
        > "$model_dir/backbone/export_peers.out"
fi

wait_idle "$wait_idle"

stamp="$(date -u +%Y-%m-%dT%H%MZ)"
results="$here/results"
mkdir -p "$results"
json="$results/cpu-$stamp.json"
log="$results/cpu-$stamp.log"

# oneDNN (renal-mtl) and libtorch both size their OpenMP pools from this; ORT and libtorch are also
# set explicitly through -p threads.
export OMP_NUM_THREADS="$threads"
echo "== load before the run: $(cut -d' ' -f1-3 /proc/loadavg) (2-core machine: anything above ~0.5 skews the times)" | tee "$log"
if [[ -n "$baseline" ]]; then
    echo "== baseline: $(git -C "$root" log -1 --format='%h %s' "$sha" | cut -c1-100)" | tee -a "$log"
fi
set +e
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
    -cp "$jar:$(cat "$classpath_file")" org.renalmtl.bench.CpuForwardLauncher \
    -p model="$model" -p threads="$threads" "${baseline_args[@]}" -rf json -rff "$json" "${jmh_args[@]}" 2>&1 \
    | tee -a "$log"
status=${PIPESTATUS[0]}
set -e
echo "== load after the run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"
if [[ $status -eq 0 ]]; then
    echo "== results: $json, log: $log"
else
    echo "== failed with exit code $status, log: $log" >&2
fi
exit "$status"
