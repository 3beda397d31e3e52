#!/usr/bin/env bash
# Proves that the engine artifact alone is CPU-only (issue 8, item 3): installs the reactor's
# parent pom, weights and engine into a private local repository, then, for this stand-alone
# project that depends only on org.renalmtl:engine, prints `mvn dependency:tree` and fails if any
# CUDA artifact (org.bytedeco:cuda, org.renalmtl:engine-cuda, or kernels, which only CUDA uses)
# is in it, runs one prediction, and prints the size of the runtime jars.
#
#   engine/examples/cpu-only/check.sh        (about a minute; needs no network when ~/.m2 is warm)
#
# Why a private repository: `install` into ~/.m2 would put this checkout's jars where every other
# checkout's builds resolve org.renalmtl artifacts. It is a plain copy of ~/.m2/repository (not hard
# links: Maven updates some of its tracking files in place), minus org/renalmtl so nothing stale
# can stand in for this checkout's engine; removed at the end.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
source "$root/.ci/jdk.sh"

work="$(mktemp -d "${TMPDIR:-/tmp}/renal-cpu-only.XXXXXX")"
trap 'rm -rf "$work"' EXIT
repo="$work/repo"
if [[ -d "$HOME/.m2/repository" ]]; then
    cp -a "$HOME/.m2/repository" "$repo"
    rm -rf "$repo/org/renalmtl"
fi
mvn_() { mvn -B -q -Dstyle.color=never -Dmaven.repo.local="$repo" "$@"; }

echo "check.sh: installing weights and engine from $root into a private repository" >&2
(cd "$root" && mvn_ -pl engine -am -DskipTests install)

cd "$here"
mvn_ dependency:tree -DoutputFile="$work/tree.txt"
echo "== mvn dependency:tree (runtime jars of a CPU-only user) =="
cat "$work/tree.txt"
if grep -E 'org\.bytedeco:cuda|org\.renalmtl:engine-cuda|org\.renalmtl:kernels' "$work/tree.txt"; then
    echo "check.sh: FAIL: the CPU-only dependency tree contains a CUDA artifact (above)" >&2
    exit 1
fi

mvn_ package dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$work/lib"
echo "== one prediction =="
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "target/cpu-only-0.1.0.jar:$work/lib/*" example.CpuOnly

echo "== runtime dependency jars =="
(cd "$work/lib" && ls -l --block-size=K *.jar | awk '{print $5, $9}')
echo "check.sh: OK: no CUDA artifact; $(ls "$work/lib"/*.jar | wc -l) jars, $(du -cb "$work/lib"/*.jar | tail -1 | cut -f1 | awk '{printf "%.1f MiB", $1/1048576}') in all"
