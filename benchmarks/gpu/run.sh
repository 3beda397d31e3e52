#!/usr/bin/env bash
# One-command GPU validation of renal-mtl on a lent H100/H200 (benchmarks/gpu/README.md).
#
#   benchmarks/gpu/run.sh [--out DIR] [--only STEP,...] [--cap STEP=S ...] [--deadline-s S] [--tuning]
#
# Steps, in order, with their budgets in seconds (a step is killed at its budget or at the deadline,
# whichever comes first; the budgets add up to the default deadline, 450 s):
#   unpack      15  the carried benchmarks/gpu/target/carry/java.tar.xz (make-bundle.sh): JRE, jars
#   env         20  nvidia-smi, torch sees the GPU, NVIDIA's libraries from torch's site-packages
#   weights     40  export.py: the seeded, conditioned R18-3P-96 MTDL and STDL files (Java and torch share them)
#   fixtures    60  make_fixtures.py: the 28 small PyTorch fixture cases (float64 references) made here;
#                   also starts the paper-size cases (96^3 MTDL and STDL) in the background
#   kernels     40  kernel_check: the committed fatbin's kernels against CPU references, through the driver API
#   java-tests 100  engine-cuda's tests with RENAL_MTL_REQUIRE_GPU=1 (a test that cannot run fails), less
#                   the cpu-only tag: kernels vs twins, CudaPlan vs the CPU plan (oneDNN) and vs the fixtures
#   paper       45  waits for the paper-size fixtures, then CudaPlanTest.matchesPyTorch on them (fp32, tf32, fp16)
#   java-bench  45  GpuBench: batch 1 and 8, fp32/tf32/fp16 (bf16 refused by design), CUDA-graph replays
#   torch       45  torch_bench.py: the PyTorch bar on the same weights (eager NCDHW and channels_last_3d,
#                   CUDA graph; fp32, tf32, fp16; batch 1 and 8)
#   segment     40  `segment --device cuda` then `--device cpu` (the oracle: the CPU engine, checked against
#                   nnU-Net's inference in CI) of the demo CT with the demo U-Net, each process timed; the
#                   label maps must agree on >= 99.9% of voxels
# A step passes only when its output shows it checked what it should (run_checks.py); a step whose input
# is missing, whose prerequisite failed, or that the deadline left no time for, FAILS with the reason.
# --only STEP,... runs those steps and their prerequisites; the others are "not-selected".
# --tuning is the optional second command, for tuning only: unpack, env, weights, then java-bench (fp32,
# tf32, fp16, bf16; 300 timed replays) and the whole PyTorch bar (torch.compile and bf16 too), deadline 570 s.
#
# Exit code: 0 every step ran and passed; 1 a step failed or did not run; 2 bad arguments; 3 the selected
# steps passed but --only left others out (not a validation).
# Output in DIR (default $OUT, the device tool's folder, else out/gpu-run): gpu-run.log (everything),
# gpu-run.json (verdict, each step's status, seconds, budget and reason, versions, the step JSONs inlined),
# kernel-check.json, java-bench.json, torch-bench.json, resource-usage.txt: 6 files, within the tool's 8.
# Environment: PYTHON (default python3), JAVA (a Java 25 instead of the carried one), CARRY (the carry folder).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${OUT:-$repo/out/gpu-run}"
steps=(unpack env weights fixtures kernels java-tests paper java-bench torch segment)
declare -A budget=([unpack]=15 [env]=20 [weights]=40 [fixtures]=60 [kernels]=40 [java-tests]=100 [paper]=45
                   [java-bench]=45 [torch]=45 [segment]=40)
declare -A needs=([weights]=env [fixtures]=env [kernels]=env [java-tests]="unpack env fixtures"
                  [paper]="unpack env fixtures" [java-bench]="unpack env weights" [torch]="env weights"
                  [segment]="unpack env")
deadline_s=450
only=""
mode=validation
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        --cap) [[ "$2" =~ ^([a-z-]+)=([0-9]+)$ && -n "${budget[${BASH_REMATCH[1]}]:-}" ]] ||
                   { echo "run.sh: error: --cap wants STEP=SECONDS with a known step, got $2" >&2; exit 2; }
               budget[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}; shift 2 ;;
        --deadline-s) deadline_s="$2"; shift 2 ;;
        --tuning) mode=tuning; only="java-bench,torch"; deadline_s=570; budget[java-bench]=150; budget[torch]=330
                  shift ;;
        -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
        *) echo "run.sh: error: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
declare -A selected=()
add() { local d; selected[$1]=1; for d in ${needs[$1]:-}; do add "$d"; done; }
if [[ -z "$only" ]]; then for s in "${steps[@]}"; do selected[$s]=1; done; else
    IFS=, read -r -a wanted <<< "$only"
    for s in "${wanted[@]}"; do
        [[ -n "${budget[$s]:-}" ]] || { echo "run.sh: error: --only: unknown step $s (steps: ${steps[*]})" >&2; exit 2; }
        add "$s"
    done
fi

mkdir -p "$out" || { echo "run.sh: error: cannot create $out" >&2; exit 2; }
# A previous run's results must not pass for this run's (the device tool empties $OUT; a local DIR is reused).
rm -f "$out"/{gpu-run.log,gpu-run.json,kernel-check.json,torch-bench.json,java-bench.json,resource-usage.txt}
work="$(mktemp -d /tmp/renal-gpu-run.XXXXXX)"
log="$out/gpu-run.log"
exec > >(tee -a "$log") 2>&1
tee_pid=$!
t0=$(date +%s)
PYTHON="${PYTHON:-python3}"
CARRY="${CARRY:-$repo/benchmarks/gpu/target/carry}"
checks=("$PYTHON" "$here/run_checks.py")
steps_tsv="$work/steps.tsv"
: > "$steps_tsv"
declare -A status=()
JAVA_BIN="${JAVA:-}"
bundle="$work/java"
fixtures="$work/fixtures"
paper_fixtures="$work/fixtures-paper"
paper_pid=""
MTDL="$work/r18_3p_96_mtdl.h5"
STDL="$work/r18_3p_96_stdl.h5"
export RENAL_MTL_REQUIRE_GPU=1
java_flags=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Xmx24g)

elapsed() { echo $(( $(date +%s) - t0 )); }
left() { echo $(( deadline_s - $(elapsed) )); }
# record NAME STATUS SECONDS BUDGET REASON
record() {
    status[$1]=$2
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(printf '%s' "$5" | tr '\t\n' '  ')" >> "$steps_tsv"
    echo "--- $1: ${2^^} (${3}s of ${4}s) $5"
}
# seconds left to the running step (its budget less what it used)
rest() { local r=$(( limit - ($(date +%s) - step_t) )); echo $(( r > 1 ? r : 1 )); }
jars() { local IFS=:; shopt -s nullglob; local a=("$@"); echo "${a[*]}"; }

# Each step_X sets `why` and returns 0 when it passed; it has `limit` seconds from step_t, rest() of them left.
step_unpack() {
    if [[ ! -f "$CARRY/java.tar.xz" ]]; then
        why="no $CARRY/java.tar.xz: run benchmarks/gpu/make-bundle.sh here and carry benchmarks/gpu/target/carry"
        return 1
    fi
    mkdir -p "$bundle"
    if command -v xz >/dev/null; then
        timeout -k 5 "$(rest)" tar -C "$bundle" -xJf "$CARRY/java.tar.xz" || { why="tar -xJf failed"; return 1; }
    else  # no xz binary: Python's lzma
        timeout -k 5 "$(rest)" "$PYTHON" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter="data")' \
            "$CARRY/java.tar.xz" "$bundle" || { why="extracting with Python failed"; return 1; }
    fi
    [[ -n "$JAVA_BIN" ]] || JAVA_BIN="$bundle/jre/bin/java"
    local v
    v="$("$JAVA_BIN" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    [[ "$v" == 25 ]] || { why="$JAVA_BIN is not a working Java 25 (got '${v:-nothing}')"; return 1; }
    why="Java $("$JAVA_BIN" -version 2>&1 | head -1), $(ls "$bundle/lib" | wc -l) jars"
}

step_env() {
    local problems=()
    if command -v nvidia-smi >/dev/null; then
        timeout -k 5 "$(rest)" nvidia-smi || problems+=("nvidia-smi failed")
        nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.sm,power.limit --format=csv 2>/dev/null
    else
        problems+=("no nvidia-smi")
    fi
    (command -v nvcc >/dev/null && nvcc --version | tail -2) || echo "nvcc: not on PATH"
    timeout -k 5 "$(rest)" "$PYTHON" - > "$work/torch-env.txt" 2>&1 <<'EOF'
import platform
print("python", platform.python_version())
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda,
      "cudnn", torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
      "gpu", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
try:
    import triton
    print("triton", triton.__version__)
except Exception as e:
    print("triton unavailable:", type(e).__name__)
EOF
    cat "$work/torch-env.txt"
    grep -q "^torch .* gpu NVIDIA" "$work/torch-env.txt" || problems+=("torch does not see an NVIDIA GPU ($(grep -m1 -E '^torch|Error' "$work/torch-env.txt" | cut -c1-120))")
    # NVIDIA's libraries for the Java side (the bytedeco presets carry only JNI glue, ENGINEERING.md §5):
    # the PyTorch install's site-packages/nvidia/*/lib and torch/lib.
    local nvlibs
    nvlibs="$("$PYTHON" -c '
import glob, os
dirs = []
try:
    import nvidia
    for base in list(nvidia.__path__):
        dirs += sorted(d for d in glob.glob(os.path.join(base, "*", "lib")) if os.path.isdir(d))
except Exception:
    pass
try:
    import torch
    dirs.append(os.path.join(os.path.dirname(torch.__file__), "lib"))
except Exception:
    pass
print(":".join(dict.fromkeys(d for d in dirs if os.path.isdir(d))))' 2>/dev/null)"
    if [[ -n "$nvlibs" ]]; then
        export LD_LIBRARY_PATH="$nvlibs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        echo "LD_LIBRARY_PATH += $nvlibs"
    else
        problems+=("no site-packages/nvidia/*/lib (the Java GPU path needs cuDNN and cuBLAS from there)")
    fi
    if (( ${#problems[@]} )); then why="$(printf '%s; ' "${problems[@]}")"; why="${why%; }"; return 1; fi
    why="$(sed -n 2p "$work/torch-env.txt")"
}

step_weights() {
    local name seed file
    for name in mtdl stdl; do
        seed=$([[ $name == mtdl ]] && echo 0 || echo 1)
        file=$([[ $name == mtdl ]] && echo "$MTDL" || echo "$STDL")
        timeout -k 5 "$(rest)" "$PYTHON" "$repo/weights/export/export.py" --named "r18_3p_96_$name" --seed "$seed" \
            --condition --out "$file"
        case $? in
            0) ;;
            124) why="export.py $name: timed out"; return 1 ;;
            *) why="export.py $name failed"; return 1 ;;
        esac
    done
    sha256sum "$MTDL" "$STDL"
    why="$(sha256sum "$MTDL" | cut -c1-16) mtdl, $(sha256sum "$STDL" | cut -c1-16) stdl"
}

step_fixtures() {
    # The paper-size cases (a float64 R18 at 96^3 on the CPU) run beside the GPU steps; `paper` waits.
    if [[ -n "${selected[paper]:-}" ]]; then
        timeout -k 5 "$(left)" "$PYTHON" "$repo/weights/export/make_fixtures.py" --out "$paper_fixtures" \
            --only paper_mtdl_96 paper_stdl_96 > "$work/fixtures-paper.txt" 2>&1 &
        paper_pid=$!
    fi
    timeout -k 5 "$(rest)" "$PYTHON" "$repo/weights/export/make_fixtures.py" --out "$fixtures" 2>&1 | tail -3
    (( PIPESTATUS[0] == 0 )) || { why="make_fixtures.py failed or timed out"; return 1; }
    why="$("${checks[@]}" fixtures "$fixtures/manifest.json" --min-cases 28)"
}

step_kernels() {
    local fatbin="$repo/kernels/src/main/resources/org/renalmtl/kernels/renal_mtl.fatbin"
    if command -v cuobjdump >/dev/null; then
        { cuobjdump --list-elf "$fatbin"; cuobjdump --list-ptx "$fatbin"; cuobjdump --dump-resource-usage "$fatbin"; } \
            > "$out/resource-usage.txt" 2>&1
        tail -5 "$out/resource-usage.txt"
    fi
    local checker="$work/kernel_check" inc
    for inc in "${CUDA_HOME:-/usr/local/cuda}/include" "$(dirname "$(command -v nvcc 2>/dev/null || echo /x/x)")/../include"; do
        if command -v g++ >/dev/null && [[ -f "$inc/cuda.h" ]]; then
            g++ -O2 -std=c++17 -I"$inc" "$repo/kernels/src/test/cuda/kernel_check.cpp" -ldl -o "$checker" && break
        fi
    done
    [[ -x "$checker" ]] || checker="$CARRY/kernel_check"
    [[ -x "$checker" ]] || { why="no g++ with cuda.h here and no carried kernel_check"; return 1; }
    timeout -k 5 "$(rest)" "$checker" "$fatbin" --json "$out/kernel-check.json" 2>&1 | tee "$work/kernel-check.txt" | tail -15
    local rc=${PIPESTATUS[0]}
    why="kernel_check exit $rc: $(tail -1 "$work/kernel-check.txt")"
    [[ $rc == 0 && -s "$out/kernel-check.json" ]]
}

# junit NAME MIN_TESTS FIXTURE_DIR SELECTOR...: the JUnit console over the bundle, verdict by run_checks.py
junit() {
    local name=$1 min=$2 dir=$3; shift 3
    local console=( "$bundle"/test/junit-platform-console-standalone-*.jar )
    # Surefire runs a module's tests in the module directory (relative paths); so does this.
    (cd "$repo/engine-cuda" && timeout -k 5 "$(rest)" "$JAVA_BIN" "${java_flags[@]}" -Drenalmtl.fixtures="$dir" \
        -jar "${console[0]}" execute --class-path "$(jars "$bundle"/lib/*.jar "$bundle"/test/*.jar)" "$@" \
        --exclude-tag cpu-only --disable-banner --disable-ansi-colors --details=tree --fail-if-no-tests) \
        > "$work/$name.txt" 2>&1
    local rc=$?
    cat "$work/$name.txt"
    why="$("${checks[@]}" junit "$work/$name.txt" --json "$work/$name.counts.json" --min-tests "$min")"
    local verdict=$?
    why="JUnit console $(said "$rc" "$work/$name.txt"); $why"
    [[ $rc == 0 && $verdict == 0 ]]
}

step_java_tests() {
    junit java-tests 100 "$fixtures" --select-package org.renalmtl.engine.cuda
}

step_paper() {
    if [[ -z "$paper_pid" ]]; then why="the paper-size fixtures were never started"; return 1; fi
    local waited=0
    while kill -0 "$paper_pid" 2>/dev/null && (( $(rest) > 15 )); do sleep 1; waited=$((waited + 1)); done
    if kill -0 "$paper_pid" 2>/dev/null; then
        kill "$paper_pid"; why="the paper-size fixtures were not ready after ${waited}s more"; return 1
    fi
    wait "$paper_pid" || { tail -3 "$work/fixtures-paper.txt"; why="make_fixtures.py (paper cases) failed"; return 1; }
    cat "$work/fixtures-paper.txt"
    echo "(waited ${waited}s for the paper-size fixtures)"
    junit paper 6 "$paper_fixtures" \
        --select-method "org.renalmtl.engine.cuda.CudaPlanTest#matchesPyTorch(com.fasterxml.jackson.databind.JsonNode, org.renalmtl.engine.Precision, double)"
}

# said RC FILE: what an exit code says, with the last line the command printed when it failed
said() {
    if (( $1 == 124 )); then echo "exit 124 (timed out)"
    elif (( $1 != 0 )); then echo "exit $1 ($(grep -v "^[[:space:]]*$" "$2" | tail -1 | cut -c1-200))"
    else echo "exit 0"; fi
}

step_java_bench() {
    local iterations=100
    [[ $mode == tuning ]] && iterations=300
    timeout -k 5 "$(rest)" "$JAVA_BIN" "${java_flags[@]}" -cp "$(jars "$bundle"/lib/*.jar)" org.renalmtl.bench.GpuBench \
        --weights "$MTDL" --stdl "$STDL" --batches 1,8 --size 96 --precisions fp32,tf32,fp16,bf16 --warmups 20 \
        --iterations "$iterations" --json "$out/java-bench.json" 2>&1 | tee "$work/java-bench.txt"
    local rc=${PIPESTATUS[0]}
    why="$("${checks[@]}" java-bench "$out/java-bench.json")"
    local verdict=$?
    why="GpuBench $(said "$rc" "$work/java-bench.txt"); $why"
    [[ $rc == 0 && $verdict == 0 ]]
}

step_torch() {
    local args=(--variants eager_ncdhw,eager_cl3d,cuda_graph --precisions fp32,tf32,fp16)
    [[ $mode == tuning ]] && args=()
    local b=$(( $(rest) - 15 ))
    PYTHONUNBUFFERED=1 timeout -k 5 "$(rest)" "$PYTHON" "$here/torch_bench.py" --mtdl "$MTDL" --stdl "$STDL" \
        --budget-s "$b" --json "$out/torch-bench.json" "${args[@]}" 2>&1 | tee "$work/torch.txt"
    local rc=${PIPESTATUS[0]}
    why="$("${checks[@]}" torch-bench "$out/torch-bench.json")"
    local verdict=$?
    why="torch_bench $(said "$rc" "$work/torch.txt"), budget ${b}s; $why"
    [[ $rc == 0 && $verdict == 0 ]]
}

# segment_on DEVICE: `renal-mtl segment` of the demo's CT with the demo's U-Net (the sliding window, Gaussian
# weighting and mirroring of nnU-Net) on DEVICE, timed; the mask in $work/seg-DEVICE.nii.gz
segment_on() {
    local t=$(date +%s)
    timeout -k 5 "$(rest)" "$JAVA_BIN" "${java_flags[@]}" -cp "$(jars "$bundle"/lib/*.jar)" org.renalmtl.cli.Main segment \
        --seg-model "$repo/cli/src/main/resources/org/renalmtl/cli/phantom-seg.h5" \
        --image "$repo/testdata/ct/example_ct.nii.gz" --out "$work/seg-$1.nii.gz" --device "$1" 2>&1 | tee "$work/seg-$1.txt"
    local rc=${PIPESTATUS[0]}
    seg_times+="${seg_times:+, }$1 $(( $(date +%s) - t ))s"
    (( rc == 0 )) || why="segment --device $1 $(said "$rc" "$work/seg-$1.txt")"
    return "$rc"
}

step_segment() {
    seg_times=""
    segment_on cuda && segment_on cpu || return 1
    why="$("${checks[@]}" segment "$work/seg-cpu.nii.gz" "$work/seg-cuda.nii.gz")"
    local verdict=$?
    why="whole process $seg_times; $why"
    return "$verdict"
}

echo "renal-mtl GPU run ($mode), $(date -u +%Y-%m-%dT%H:%M:%SZ), repo $repo at $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'), deadline ${deadline_s}s, out $out"
for s in "${steps[@]}"; do
    if [[ -z "${selected[$s]:-}" ]]; then record "$s" not-selected 0 0 "--$([[ $mode == tuning ]] && echo tuning || echo only)"; continue; fi
    missing=""
    for d in ${needs[$s]:-}; do [[ "${status[$d]:-}" == pass ]] || missing+="${missing:+, }$d (${status[$d]:-did not run})"; done
    if [[ -n "$missing" ]]; then record "$s" fail 0 "${budget[$s]}" "did not run: needs $missing"; continue; fi
    limit=$(( budget[$s] < $(left) - 5 ? budget[$s] : $(left) - 5 ))
    if (( limit < 5 )); then record "$s" fail 0 "${budget[$s]}" "did not run: the ${deadline_s}s deadline left $(left)s"; continue; fi
    echo; echo "=== step: $s === (t+$(elapsed)s, budget ${limit}s, $(left)s to the deadline)"
    step_t=$(date +%s)
    why=""
    if "step_${s//-/_}"; then st=pass; else st=fail; fi
    record "$s" "$st" $(( $(date +%s) - step_t )) "${budget[$s]}" "$why"
done
[[ -n "$paper_pid" ]] && kill "$paper_pid" 2>/dev/null

echo; echo "=== summary === (t+$(elapsed)s)"
"${checks[@]}" summary --steps "$steps_tsv" --out "$out" --work "$work" --torch-env "$work/torch-env.txt" \
    --java "$JAVA_BIN" --ld-library-path "${LD_LIBRARY_PATH:-}" --mode "$mode" --elapsed "$(elapsed)" \
    --deadline "$deadline_s" --commit "$(git -C "$repo" rev-parse HEAD 2>/dev/null)"
code=$?
(( code == 0 || code == 1 || code == 3 )) || { echo "run.sh: run_checks.py summary failed (exit $code)"; code=1; }
ls -la "$out"
rm -rf "$work"
exec 1>&- 2>&-
wait "$tee_pid" 2>/dev/null  # the log is complete before the device tool collects it
exit "$code"
