#!/usr/bin/env bash
# Packs what the GPU host needs for the Java side (it has no JDK, no Maven and reaches no registry) into
# one carried folder, benchmarks/gpu/target/carry (git-ignored; the device tool's `carry` names it):
#
#   benchmarks/gpu/make-bundle.sh [--out DIR]
#
#   java.tar.xz   jre/   a jlink'd Java 25 (make-jre.sh --uncompressed)
#                 lib/   the runtime jars of engine-cuda, benchmarks (GpuBench) and cli, with every
#                        dependency, oneDNN's linux-x86_64 natives included (CudaPlanTest.matchesCpuPlan
#                        compares the GPU plan with the CPU plan)
#                 test/  engine-cuda's and engine's test jars and junit-platform-console-standalone
#                 MANIFEST.txt  commit and each jar with its size
#   kernel_check  kernels/src/test/cuda/kernel_check.cpp built here (run.sh prefers a build on the host)
#   SIZES.txt     what make-bundle.sh measured
#
# Left out, as the GPU run loads none of them: the CPU benchmark's peers and harness (ONNX Runtime,
# libtorch, OpenBLAS, JMH with jopt-simple and commons-math3) and every test-only jar but the three above
# (jazzer among them). The only native jars are linux-x86_64 ones (the build's native.classifier).
#
# The device tool refuses a call whose working tree plus carried paths exceed 64 MiB. The jars are
# rewritten uncompressed and the JRE is linked uncompressed, so that xz compresses the whole far better
# than the zip deflate inside them would; this script then measures the tree that travels (tracked and
# untracked files git does not ignore) plus the carry folder and FAILS (exit 1) above 64 MiB.
# Run it in the checkout that calls the device tool: that checkout's tree is the one that travels.
# Environment: MVN (default "mvn"; e.g. "mvn -o -Dmaven.repo.local=..."), JAVA_HOME (default Temurin 25).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$here/target/carry"
modules="engine-cuda,benchmarks,cli"
console_version="1.13.4"    # junit-platform 1.13.x goes with the root pom's junit-jupiter 5.13.x
limit=$((64 * 1048576))     # the device tool's limit on working tree + carried paths
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        *) echo "make-bundle.sh: error: unknown argument $1" >&2; exit 2 ;;
    esac
done
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
read -r -a mvn <<< "${MVN:-mvn}"

mkdir -p "$(dirname "$out")"
tmp="$(mktemp -d "$(dirname "$out")/.carry.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
stage="$tmp/stage"
mkdir -p "$stage/lib" "$stage/test" "$tmp/deps" "$tmp/carry"

cd "$repo"
"${mvn[@]}" -B -q -pl "$modules" -am -DskipTests package jar:test-jar \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/deps"
"${mvn[@]}" -B -q dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$console_version" \
    -DoutputDirectory="$stage/test"

for f in "$tmp"/deps/*.jar; do
    case "$(basename "$f")" in
        onnxruntime-*|pytorch-*|openblas-*|jmh-core-*|jopt-simple-*|commons-math3-*)
            echo "make-bundle.sh: leaving out $(basename "$f") ($(( $(stat -c %s "$f") / 1048576 )) MiB)" ;;
        *) cp "$f" "$stage/lib/" ;;
    esac
done
cp benchmarks/target/benchmarks.jar cli/target/cli-*[0-9].jar engine-cuda/target/engine-cuda-*[0-9].jar "$stage/lib/"
cp engine-cuda/target/engine-cuda-*-tests.jar engine/target/engine-[0-9]*-tests.jar "$stage/test/"
for need in lib/engine-cuda-*[0-9].jar lib/benchmarks.jar lib/cli-*[0-9].jar lib/dnnl-*-linux-x86_64.jar \
            lib/cuda-*-linux-x86_64.jar test/engine-cuda-*-tests.jar test/engine-[0-9]*-tests.jar \
            test/junit-platform-console-standalone-*.jar; do
    compgen -G "$stage/$need" >/dev/null || { echo "make-bundle.sh: error: no $need in the bundle" >&2; exit 1; }
done
{
    echo "renal-mtl GPU bundle, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), modules $modules"
    (cd "$stage" && find lib test -name '*.jar' -printf '%s\t%p\n' | sort -k2)
} > "$stage/MANIFEST.txt"

# Stored (uncompressed) jars: xz then sees the class files and natives themselves.
python3 - "$stage"/lib/*.jar "$stage"/test/*.jar <<'EOF'
import os, sys, zipfile
for path in sys.argv[1:]:
    tmp = path + ".stored"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            info.compress_type = zipfile.ZIP_STORED
            dst.writestr(info, data)
    os.replace(tmp, path)
EOF
"$here/make-jre.sh" --uncompressed --out "$stage/jre" | tail -1
tar -C "$stage" -cf - jre lib test MANIFEST.txt | xz -9 -T2 > "$tmp/carry/java.tar.xz"
cuda_inc="${CUDA_HOME:-/usr/local/cuda}/include"
if command -v g++ >/dev/null && [[ -f "$cuda_inc/cuda.h" ]]; then
    g++ -O2 -std=c++17 -I"$cuda_inc" kernels/src/test/cuda/kernel_check.cpp -ldl -o "$tmp/carry/kernel_check"
else
    echo "make-bundle.sh: no g++ with $cuda_inc/cuda.h: kernel_check left out (run.sh builds it on the host)"
fi

bytes() { du -cb "$@" 2>/dev/null | tail -1 | cut -f1; }
tree_bytes=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
carry_bytes=$(bytes "$tmp/carry")
unpacked=$(bytes "$stage")
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
{
    echo "working tree (tracked + untracked, not ignored): $(mib "$tree_bytes")"
    echo "carry $out: $(mib "$carry_bytes") (java.tar.xz $(mib "$(bytes "$tmp/carry/java.tar.xz")"), unpacked on the host $(mib "$unpacked"): jre $(mib "$(bytes "$stage/jre")"), lib $(mib "$(bytes "$stage/lib")"), test $(mib "$(bytes "$stage/test")"))"
    echo "total: $(mib $((tree_bytes + carry_bytes))) of the device tool's 64 MiB"
} > "$tmp/carry/SIZES.txt"
cat "$tmp/carry/SIZES.txt"
rm -rf "$out"
mv "$tmp/carry" "$out"
if (( tree_bytes + carry_bytes > limit )); then
    echo "make-bundle.sh: ERROR: working tree + carry = $(mib $((tree_bytes + carry_bytes))) > 64 MiB: the device tool will refuse the call" >&2
    exit 1
fi
echo "make-bundle.sh: wrote $out; device tool: carry [\"benchmarks/gpu/target/carry\"]"
