#!/usr/bin/env bash
# Peak memory of a single-case `predict` of the demo model (R18-3P-96 MTDL) on the CPU, as the launcher
# runs it: peak RSS from /usr/bin/time -v (median of RUNS runs), the JVM's native memory tracking summary
# (one more run), and what the engine plans (packed weights, activation arena, scratch, network input).
#   benchmarks/memory/predict-rss.sh [WORKDIR]     (RUNS=3 by default; WORKDIR is kept, else a temp dir)
# Builds through ./renal-mtl if the sources changed (pass Maven settings in MAVEN_OPTS, e.g.
# -Dmaven.repo.local=...). Extra JVM flags to try: JDK_JAVA_OPTIONS="-XX:..." (the java launcher reads it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/.ci/jdk.sh"
runs="${RUNS:-3}"
if [[ $# -ge 1 ]]; then work="$1"; mkdir -p "$work"; else work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT; fi
[[ -x /usr/bin/time ]] || { echo "predict-rss: needs /usr/bin/time (Debian: apt-get install time)" >&2; exit 1; }

"$root/renal-mtl" --version >/dev/null # builds if needed
if [[ ! -f "$work/model.h5" ]]; then
  "$root/renal-mtl" demo --device cpu --runs 0 --out "$work/case" --save-model "$work/model.h5" >/dev/null
fi
c="$work/case"
predict=(predict --device cpu --model "$work/model.h5" --arterial "$c/arterial.nii.gz" --venous "$c/venous.nii.gz"
  --delayed "$c/delayed.nii.gz" --mask "$c/mask.nii.gz" --out "$work/result.json")

peaks=()
for ((i = 1; i <= runs; i++)); do
  /usr/bin/time -v -o "$work/time.txt" "$root/renal-mtl" "${predict[@]}" >"$work/predict.txt"
  peaks+=("$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")")
done
median_kb="$(printf '%s\n' "${peaks[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")"

# One more run with native memory tracking (it costs a little memory itself, so its peak is not the figure).
JDK_JAVA_OPTIONS="-XX:NativeMemoryTracking=summary -XX:+UnlockDiagnosticVMOptions -XX:+PrintNMTStatistics" \
  "$root/renal-mtl" "${predict[@]}" >"$work/nmt.txt" 2>/dev/null

plan="$("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dorg.bytedeco.javacpp.logger=slf4j \
  -Djava.util.logging.config.file=/dev/null -cp "$root/cli/target/cli-0.1.0.jar:$root/cli/target/lib/*" \
  "$root/benchmarks/memory/PlanFigures.java" "$work/model.h5" 2>/dev/null)"
get() { sed -n "s/^$1 //p" <<<"$plan"; }

echo "== predict (R18-3P-96 MTDL, one case, CPU): launcher JVM flags"
sed -n 's/^exec "$JAVA_HOME\/bin\/java" \(.*\) \\$/  \1/p; s/^  \(-.*\) \\$/  \1/p' "$root/renal-mtl" | grep -v -- '-cp ' || true
[[ -n "${JDK_JAVA_OPTIONS:-}" ]] && echo "  + JDK_JAVA_OPTIONS: $JDK_JAVA_OPTIONS"
grep ' p = ' "$work/predict.txt" | sed 's/^/  /'
echo "== native memory tracking (at exit; 'peak' is the high-water mark of each category)"
grep -A2 '^Total:' "$work/nmt.txt" | sed 's/^/  /'
grep -E '^-\s+(Java Heap|Class|Thread|Code|GC|Compiler|Internal|Other|Symbol|Shared class space|Arena Chunk|Metaspace)' -A1 "$work/nmt.txt" \
  | grep -v '^--$' | sed 's/^/  /'
echo "== the engine's plan for one case (MiB)"
printf '  packed weights %s, activation arena %s, scratch %s, network input %s: sum %s\n' \
  "$(get weights_mib)" "$(get arena_mib)" "$(get scratch_mib)" "$(get input_mib)" "$(get sum_mib)"
echo "== peak RSS (/usr/bin/time -v, $runs runs): ${peaks[*]} kB"
awk -v kb="$median_kb" -v sum="$(get sum_mib)" \
  'BEGIN { printf "  median %.1f MiB = %.2f x the plan sum (%.1f MiB)\n", kb / 1024, kb / 1024 / sum, sum }'
