#!/usr/bin/env bash
# Packs what the GPU host needs to run the Java side without Maven (the device machine reaches no
# registry): benchmarks/gpu/target/bundle (git-ignored; name it in the device tool's `carry`).
#
#   benchmarks/gpu/make-bundle.sh [--modules engine,engine-cuda,cli,benchmarks] [--keep-all] [--out DIR]
#
#   lib/   the modules' jars and every runtime dependency (reactor siblings included); benchmarks.jar
#          (the benchmarks module's jar keeps its finalName) holds GpuBench, run.sh's java-bench step
#   test/  the modules' test jars (<module>-<version>-tests.jar), their test-only dependencies, and
#          junit-platform-console-standalone (which carries JUnit itself, so the separate junit-*,
#          opentest4j and apiguardian jars are left out to avoid two copies of the engine)
#   MANIFEST.txt  commit, modules, each jar with its size
#
# Builds with `mvn -pl MODULES -am package` (tests skipped: they ran in CI). The device tool carries
# at most 64 MiB (working tree + carried paths); the jlink'd .jre is 47 MiB, so by default the big
# jars a GPU run does not load are left out: dnnl and openblas natives (CPU backends), the PyTorch
# presets (test oracles on the CPU, libtorch in the CPU benchmark), and the rest of the CPU benchmark's
# peers and harness: ONNX Runtime (54 MiB, every platform's natives), JMH and its jopt-simple and
# commons-math3. GpuBench needs none of them. --keep-all keeps them. The script prints the total.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
modules="engine,engine-cuda,cli,benchmarks"   # engine-cuda: the GPU tests; benchmarks: GpuBench
out="$here/target/bundle"
keep_all=0
console_version="1.13.4"   # junit-platform 1.13.x goes with the root pom's junit-jupiter 5.13.x
while [[ $# -gt 0 ]]; do
    case "$1" in
        --modules) modules="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --keep-all) keep_all=1; shift ;;
        *) echo "make-bundle.sh: error: unknown argument $1" >&2; exit 2 ;;
    esac
done
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"

tmp="$(mktemp -d "$(dirname "$out")/.bundle.tmp.XXXXXX" 2>/dev/null || { mkdir -p "$(dirname "$out")"; mktemp -d "$(dirname "$out")/.bundle.tmp.XXXXXX"; })"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lib" "$tmp/test" "$tmp/deps-runtime" "$tmp/deps-test"

cd "$repo"
# Runtime and test dependency sets are copied separately so test-only jars stay out of lib/.
mvn -B -q -pl "$modules" -am -DskipTests package jar:test-jar \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/deps-runtime"
# `package` again (up to date, quick): without a packaging phase in the invocation, Maven 3.8 resolves
# reactor siblings from ~/.m2 instead of target/, which fails for a module never installed there
# (engine-cuda) and would read stale jars for the others.
mvn -B -q -pl "$modules" -am -DskipTests package dependency:copy-dependencies -DincludeScope=test \
    -DoutputDirectory="$tmp/deps-test"
mvn -B -q dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$console_version" \
    -DoutputDirectory="$tmp/test"

cp "$tmp"/deps-runtime/*.jar "$tmp/lib/" 2>/dev/null || true
for f in "$tmp"/deps-test/*.jar; do
    [[ -e "$tmp/lib/$(basename "$f")" ]] || cp "$f" "$tmp/test/"
done
IFS=, read -r -a mods <<< "$modules"
for m in "${mods[@]}"; do
    # <module>-<version>[-tests].jar, or <module>[-tests].jar where the module sets its finalName (benchmarks)
    for j in "$m"/target/"$m".jar "$m"/target/"$m"-*.jar; do
        [[ -f "$j" ]] || continue
        case "$j" in
            *-tests.jar) cp "$j" "$tmp/test/" ;;
            *) cp "$j" "$tmp/lib/" ;;
        esac
    done
done
rm -f "$tmp"/test/junit-jupiter*.jar "$tmp"/test/junit-platform-commons*.jar "$tmp"/test/junit-platform-engine*.jar \
      "$tmp"/test/junit-platform-launcher*.jar "$tmp"/test/opentest4j*.jar "$tmp"/test/apiguardian*.jar
if [[ "$keep_all" == 0 ]]; then
    for pat in 'dnnl-*-linux-*.jar' 'openblas-*-linux-*.jar' 'pytorch-*.jar' 'onnxruntime-*.jar' 'jmh-core-*.jar' \
               'jopt-simple-*.jar' 'commons-math3-*.jar'; do
        for f in "$tmp"/lib/$pat "$tmp"/test/$pat; do
            [[ -f "$f" ]] && { echo "make-bundle.sh: leaving out $(basename "$f") ($(( $(stat -c %s "$f") / 1048576 )) MiB; --keep-all keeps it)"; rm -f "$f"; }
        done
    done
fi
{
    echo "renal-mtl GPU bundle, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), modules $modules"
    (cd "$tmp" && find lib test -name '*.jar' -printf '%s\t%p\n' | sort -k2)
} > "$tmp/MANIFEST.txt"
rm -rf "$tmp/deps-runtime" "$tmp/deps-test"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
size=$(du -sm "$out" | cut -f1)
jre=$( [[ -d "$repo/.jre" ]] && du -sm "$repo/.jre" | cut -f1 || echo 0)
tree=$(( $(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1) / 1048576 + 1 ))
echo "make-bundle.sh: wrote $out ($size MiB; with .jre $jre MiB and the working tree ~$tree MiB: $((size + jre + tree)) of the device tool's 64 MiB)"
(( size + jre + tree <= 64 )) || echo "make-bundle.sh: warning: over 64 MiB: the device tool will refuse the carry" >&2
