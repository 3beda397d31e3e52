#!/usr/bin/env bash
# One-command GPU validation of renal-mtl on a lent H100/H200 (or any CUDA host with PyTorch).
#
#   benchmarks/gpu/run.sh [--out DIR] [--deadline-s S] [--skip STEP[,STEP...]] [--torch-args "..."]
#
# Steps (each delimited in the log by "=== step: NAME ===", each may be skipped with --skip NAME):
#   env          nvidia-smi, driver, CUDA (nvcc, torch), cuDNN (torch), Python, Java versions
#   weights      the seeded, conditioned R18-3P-96 MTDL and STDL weights as FORMAT.md HDF5 files
#                (weights/export/export.py --named ... --condition), shared by the Java and PyTorch runs
#   kernels      kernels/src/test/cuda/kernel_check.cpp: the committed fatbin through the driver API,
#                every kernel against CPU references, then timed; plus cuobjdump's resource usage
#   java-tests   engine-cuda's GPU tests (package org.renalmtl.engine.cuda: kernels vs CPU twins, CudaPlan
#                vs PyTorch float64 on fixtures made here by make_fixtures.py, zero cudaMalloc, graph
#                replay = eager) from the bundle made by make-bundle.sh
#   java-bench   org.renalmtl.bench.GpuBench (benchmarks module) on the same weights: batch 1 and 8 at 96^3,
#                p50/p90 of CUDA-graph replays (CUDA events), device memory, per precision
#   torch        benchmarks/gpu/torch_bench.py, the PyTorch bar, same weights, with the time left
# A step whose inputs are absent (no JDK 25, no bundle, no nvcc/g++) is skipped with a message; a
# failing step is recorded and the run goes on.
#
# Output (DIR defaults to $OUT, the device tool's folder, else out/gpu-run in the repo): at most 8
# files, as the device tool returns them: gpu-run.log (everything, tee'd), gpu-run.json (versions,
# steps, and the JSON of each step inlined), kernel-check.json, torch-bench.json, java-bench.json,
# junit-reports.tar.gz, resource-usage.txt.
#
# Environment overrides: BUNDLE (default benchmarks/gpu/target/bundle), JAVA (a java binary),
# TEST_JARS (glob under BUNDLE/test, default engine-cuda-*-tests.jar), TEST_SELECT (JUnit console selector,
# default --select-package=org.renalmtl.engine.cuda; the CPU tests need oneDNN natives the bundle leaves out),
# BENCH_MAIN (default org.renalmtl.bench.GpuBench), BENCH_ARGS (default below), PYTHON (default python3).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${OUT:-$repo/out/gpu-run}"
deadline_s=570          # the device tool stops a command at 600 s
skip=","
torch_args=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --deadline-s) deadline_s="$2"; shift 2 ;;
        --skip) skip=",$2,"; shift 2 ;;
        --torch-args) torch_args="$2"; shift 2 ;;
        -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
        *) echo "run.sh: error: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
mkdir -p "$out" || { echo "run.sh: error: cannot create $out" >&2; exit 2; }
# A previous run's results must not pass for this run's (the device tool empties $OUT; a local DIR is reused).
rm -f "$out"/{gpu-run.log,gpu-run.json,kernel-check.json,torch-bench.json,java-bench.json,junit-reports.tar.gz,resource-usage.txt}
work="$(mktemp -d /tmp/renal-gpu-run.XXXXXX)"
log="$out/gpu-run.log"
: > "$log"
exec > >(tee -a "$log") 2>&1
tee_pid=$!
t0=$(date +%s)
BUNDLE="${BUNDLE:-$repo/benchmarks/gpu/target/bundle}"
PYTHON="${PYTHON:-python3}"
BENCH_MAIN="${BENCH_MAIN:-org.renalmtl.bench.GpuBench}"
steps_tsv="$work/steps.tsv"
: > "$steps_tsv"

elapsed() { echo $(( $(date +%s) - t0 )); }
left() { echo $(( deadline_s - $(elapsed) )); }
# record NAME STATUS SECONDS DETAIL  (tab-separated; DETAIL on one line)
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(echo "$4" | tr '\t\n' '  ')" >> "$steps_tsv"; echo "--- $1: $2 (${3}s) $4"; }
skipped() { [[ "$skip" == *",$1,"* ]]; }
begin() { echo; echo "=== step: $1 === (t+$(elapsed)s, $(left)s left)"; step_t=$(date +%s); }
since() { echo $(( $(date +%s) - step_t )); }

echo "renal-mtl GPU run, $(date -u +%Y-%m-%dT%H:%M:%SZ), repo $repo at $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'), out $out"

# ------------------------------------------------------------------------------------------ env
begin env
nvidia-smi || echo "nvidia-smi: not available"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.sm,power.limit --format=csv 2>/dev/null
(command -v nvcc >/dev/null && nvcc --version | tail -2) || echo "nvcc: not on PATH"
"$PYTHON" - <<'EOF' 2>&1 | tee "$work/torch-env.txt"
import platform
print("python", platform.python_version())
try:
    import torch
    print("torch", torch.__version__, "cuda", torch.version.cuda,
          "cudnn", torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
          "gpu", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
except Exception as e:
    print("torch unavailable:", e)
try:
    import triton
    print("triton", triton.__version__)
except Exception as e:
    print("triton unavailable:", type(e).__name__)
EOF
# NVIDIA's libraries for the Java side (bytedeco presets carry only JNI glue): the PyTorch install's
# site-packages/nvidia/*/lib (cu13/lib, cudnn/lib, cublas/lib, ...), found through Python.
nvlibs="$("$PYTHON" - <<'EOF' 2>/dev/null
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
    d = os.path.join(os.path.dirname(torch.__file__), "lib")
    if os.path.isdir(d):
        dirs.append(d)
except Exception:
    pass
print(":".join(dict.fromkeys(dirs)))
EOF
)"
if [[ -n "$nvlibs" ]]; then
    export LD_LIBRARY_PATH="$nvlibs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "LD_LIBRARY_PATH += $nvlibs"
else
    echo "LD_LIBRARY_PATH: no site-packages/nvidia/*/lib found (the Java GPU path will lack cuDNN/cuBLAS)"
fi
# JDK 25: $JAVA, $JAVA_HOME, /usr/lib/jvm/*25*, the carried .jre (make-jre.sh), java on PATH.
java_version() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
JAVA_BIN=""
for j in ${JAVA:-} ${JAVA_HOME:+$JAVA_HOME/bin/java} /usr/lib/jvm/*25*/bin/java "$repo/.jre/bin/java" "$(command -v java 2>/dev/null)"; do
    if [[ -n "$j" && -x "$j" && "$(java_version "$j")" == "25" ]]; then JAVA_BIN="$j"; break; fi
done
if [[ -n "$JAVA_BIN" ]]; then echo "java: $JAVA_BIN"; "$JAVA_BIN" -version 2>&1 | head -1; else echo "java: no Java 25 found (set JAVA, or carry .jre made by benchmarks/gpu/make-jre.sh)"; fi
record env ok "$(since)" "$(head -2 "$work/torch-env.txt" | tail -1)"

# ------------------------------------------------------------------------------------------ weights
MTDL="$work/r18_3p_96_mtdl.h5"
STDL="$work/r18_3p_96_stdl.h5"
have_weights=0
if skipped weights; then record weights skipped 0 "--skip"; else
    begin weights
    if "$PYTHON" "$repo/weights/export/export.py" --named r18_3p_96_mtdl --seed 0 --condition --out "$MTDL" &&
       "$PYTHON" "$repo/weights/export/export.py" --named r18_3p_96_stdl --seed 1 --condition --out "$STDL"; then
        have_weights=1
        sha256sum "$MTDL" "$STDL"
        record weights ok "$(since)" "$(sha256sum "$MTDL" | cut -c1-16) mtdl, $(sha256sum "$STDL" | cut -c1-16) stdl"
    else
        record weights failed "$(since)" "export.py failed; torch falls back to weights seeded in-process"
    fi
fi

# ------------------------------------------------------------------------------------------ kernels
if skipped kernels; then record kernels skipped 0 "--skip"; else
    begin kernels
    fatbin="$repo/kernels/src/main/resources/org/renalmtl/kernels/renal_mtl.fatbin"
    if command -v cuobjdump >/dev/null; then
        { cuobjdump --list-elf "$fatbin"; cuobjdump --list-ptx "$fatbin"; cuobjdump --dump-resource-usage "$fatbin"; } \
            > "$out/resource-usage.txt" 2>&1
        cat "$out/resource-usage.txt"
    else
        echo "cuobjdump: not on PATH (resource usage from nvcc -Xptxas -v is in kernels/resource-usage.txt)"
    fi
    checker="$repo/kernels/target/kernel-check/kernel_check"
    cuda_inc=""
    for d in "${CUDA_HOME:-}" /usr/local/cuda "$(dirname "$(dirname "$(command -v nvcc 2>/dev/null || echo /x/x)")")"; do
        [[ -n "$d" && -f "$d/include/cuda.h" ]] && { cuda_inc="$d/include"; break; }
    done
    if command -v g++ >/dev/null && [[ -n "$cuda_inc" ]]; then
        mkdir -p "$(dirname "$checker")"
        g++ -O2 -std=c++17 -I"$cuda_inc" "$repo/kernels/src/test/cuda/kernel_check.cpp" -ldl -o "$checker" ||
            echo "g++ failed; trying a carried binary"
    fi
    if [[ -x "$checker" ]]; then
        timeout -k 10 120 "$checker" "$fatbin" --json "$out/kernel-check.json" 2>&1 | tee "$work/kernel-check.txt"
        rc=${PIPESTATUS[0]}
        record kernels "$([[ $rc == 0 ]] && echo ok || echo failed)" "$(since)" \
            "kernel_check exit $rc: $(tail -1 "$work/kernel-check.txt")"
    else
        record kernels skipped "$(since)" "no g++ with cuda.h and no carried kernels/target/kernel-check/kernel_check"
    fi
fi

# ------------------------------------------------------------------------------------------ java
# The bundle (benchmarks/gpu/make-bundle.sh): lib/ = runtime jars of the modules and their
# dependencies, test/ = the modules' test jars, their test dependencies and JUnit's console launcher.
java_flags=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Xmx24g -Dgpu=true)
jars() { local IFS=:; shopt -s nullglob; local a=("$@"); echo "${a[*]}"; }
if skipped java-tests; then record java-tests skipped 0 "--skip"; else
    begin java-tests
    console=( "$BUNDLE"/test/junit-platform-console-standalone-*.jar )
    shopt -s nullglob
    test_jars=( "$BUNDLE"/test/${TEST_JARS:-engine-cuda-*-tests.jar} )
    shopt -u nullglob
    if [[ -z "$JAVA_BIN" ]]; then
        record java-tests skipped "$(since)" "no Java 25"
    elif [[ ! -f "${console[0]}" || ${#test_jars[@]} == 0 ]]; then
        record java-tests skipped "$(since)" "no bundle at $BUNDLE (need test/junit-platform-console-standalone-*.jar and test/engine-cuda-*-tests.jar; run benchmarks/gpu/make-bundle.sh and carry it)"
    else
        cp="$(jars "$BUNDLE"/lib/*.jar "$BUNDLE"/test/*.jar)"
        # Surefire runs a module's tests in the module directory (relative paths to fixtures and
        # sources); do the same for the module of the first test jar (engine-cuda-0.1.0-tests.jar ->
        # engine-cuda: strip the shortest "-VERSION-tests.jar", since module names contain dashes).
        module="$(basename "${test_jars[0]}")"; module="${module%-*-tests.jar}"
        # The PyTorch oracle of CudaPlanTest.matchesPyTorch: seeded models, inputs and float64
        # outputs, as Maven makes them for the CPU oracle test (seconds; torch on the CPU is enough).
        fixtures="$work/fixtures"
        if ! timeout -k 10 150 "$PYTHON" "$repo/weights/export/make_fixtures.py" --out "$fixtures" > "$work/fixtures.txt" 2>&1; then
            tail -5 "$work/fixtures.txt"; echo "make_fixtures.py failed: CudaPlanTest.matchesPyTorch will be skipped"
        fi
        # XML reports need java.xml, which the minimal .jre leaves out; the tree is in the log anyway.
        reports=()
        "$JAVA_BIN" --list-modules 2>/dev/null | grep -q '^java.xml@' && reports=(--reports-dir "$work/junit")
        (cd "$repo/$module" 2>/dev/null || cd "$repo"
         timeout -k 10 "$(( $(left) > 300 ? 240 : $(left) / 2 ))" "$JAVA_BIN" "${java_flags[@]}" -Drenalmtl.fixtures="$fixtures" \
            -jar "${console[0]}" execute --class-path "$cp" \
            "${TEST_SELECT:---select-package=org.renalmtl.engine.cuda}" --disable-banner --disable-ansi-colors \
            --details=tree --fail-if-no-tests "${reports[@]}")
        rc=$?
        [[ -d "$work/junit" ]] && tar -C "$work" -czf "$out/junit-reports.tar.gz" junit
        record java-tests "$([[ $rc == 0 ]] && echo ok || echo failed)" "$(since)" "JUnit console exit $rc (1: failures, 2: no tests)"
    fi
fi

if skipped java-bench; then record java-bench skipped 0 "--skip"; else
    begin java-bench
    bench_jar="$BUNDLE/lib/benchmarks.jar"  # GpuBench's module; engine-cuda and Jackson beside it in lib/
    if [[ -z "$JAVA_BIN" ]]; then
        record java-bench skipped "$(since)" "no Java 25"
    elif [[ ! -f "$bench_jar" ]]; then
        record java-bench skipped "$(since)" "no $bench_jar (run benchmarks/gpu/make-bundle.sh, whose default modules include benchmarks, and carry it)"
    elif [[ "$have_weights" != 1 ]]; then
        record java-bench skipped "$(since)" "no weights (step weights failed or skipped)"
    else
        cp="$(jars "$BUNDLE"/lib/*.jar)"
        # GpuBench writes java-bench.json after every (model, batch, precision), so a timeout keeps
        # what was measured; bf16 is refused by this build and recorded as such.
        read -r -a bench_args <<< "${BENCH_ARGS:---weights $MTDL --stdl $STDL --batches 1,8 --size 96 --precisions fp32,tf32,fp16,bf16 --warmups 20 --iterations 100 --json $out/java-bench.json}"
        timeout -k 10 "$(( $(left) > 300 ? 180 : $(left) / 3 ))" "$JAVA_BIN" "${java_flags[@]}" -cp "$cp" "$BENCH_MAIN" "${bench_args[@]}"
        rc=$?
        record java-bench "$([[ $rc == 0 ]] && echo ok || echo failed)" "$(since)" "GpuBench exit $rc (1: a combination failed or no GPU; 124: timeout)"
    fi
fi

# ------------------------------------------------------------------------------------------ torch
if skipped torch; then record torch skipped 0 "--skip"; else
    begin torch
    budget=$(( $(left) - 25 ))
    if (( budget < 60 )); then
        record torch skipped "$(since)" "only ${budget}s left"
    else
        (( budget > 450 )) && budget=450
        wargs=()
        [[ "$have_weights" == 1 ]] && wargs=(--mtdl "$MTDL" --stdl "$STDL")
        # shellcheck disable=SC2086  # torch_args is a list of options on purpose
        PYTHONUNBUFFERED=1 timeout -k 10 $(( budget + 20 )) "$PYTHON" "$here/torch_bench.py" "${wargs[@]}" \
            --budget-s "$budget" --json "$out/torch-bench.json" $torch_args
        rc=$?
        record torch "$([[ $rc == 0 ]] && echo ok || echo failed)" "$(since)" "torch_bench exit $rc, budget ${budget}s"
    fi
fi

# ------------------------------------------------------------------------------------------ summary
echo
echo "=== summary === ($(elapsed)s)"
column -t -s $'\t' "$steps_tsv" 2>/dev/null || cat "$steps_tsv"
"$PYTHON" - "$out" "$steps_tsv" "$work/torch-env.txt" "$(elapsed)" "${LD_LIBRARY_PATH:-}" "${JAVA_BIN:-}" <<'EOF' || echo "run.sh: could not write gpu-run.json"
import json, os, subprocess, sys, tempfile, time
out, steps_tsv, env_txt, elapsed, ldpath, java = sys.argv[1:7]
def cmd(c):
    try:
        return subprocess.run(c, capture_output=True, text=True, timeout=20).stdout.strip() or None
    except Exception:
        return None
def load(name):
    p = os.path.join(out, name)
    if not os.path.exists(p):
        return None
    try:
        with open(p) as f:
            return json.load(f)
    except Exception as e:
        return {"unreadable": str(e)}
steps = []
with open(steps_tsv) as f:
    for line in f:
        name, status, secs, detail = (line.rstrip("\n").split("\t") + ["", "", "", ""])[:4]
        steps.append({"step": name, "status": status, "seconds": int(secs or 0), "detail": detail})
report = {
    "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "elapsed_s": int(elapsed),
    "environment": {
        "nvidia_smi": cmd(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]),
        "nvcc": (cmd(["nvcc", "--version"]) or "").splitlines()[-1:] or None,
        "torch_env": open(env_txt).read().strip().splitlines() if os.path.exists(env_txt) else None,
        "java": java or None,
        "java_version": (subprocess.run([java, "-version"], capture_output=True, text=True).stderr.splitlines()[:1]
                         if java else None),
        "ld_library_path": ldpath,
    },
    "steps": steps,
    "kernel_check": load("kernel-check.json"),
    "java_bench": load("java-bench.json"),
    "torch_bench": load("torch-bench.json"),
}
path = os.path.join(out, "gpu-run.json")
fd, tmp = tempfile.mkstemp(dir=out, prefix=".gpu-run.", suffix=".tmp")
with os.fdopen(fd, "w") as f:
    json.dump(report, f, indent=1)
    f.write("\n")
os.chmod(tmp, 0o644)
os.replace(tmp, path)
print("run.sh: wrote", path)
EOF
failed=$(awk -F'\t' '$2 == "failed"' "$steps_tsv" 2>/dev/null | wc -l)
echo "run.sh: done in $(elapsed)s, $failed step(s) failed; files in $out:"
ls -la "$out"
rm -rf "$work"
exec 1>&- 2>&-
wait "$tee_pid" 2>/dev/null  # the log is complete before the device tool collects it
exit $(( failed > 0 ? 1 : 0 ))
