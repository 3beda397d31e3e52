#!/usr/bin/env bash
# Whole-CT segmentation on the CPU (issue 11 item 6): `renal-mtl segment` against PyTorch running the same
# nnU-Net v2 inference (torch_segment.py: nnunet_reference.py's preprocessing, sliding window, mirroring and
# export) on the same weights, the same image and the same thread count, one after the other in one run.
#
#   benchmarks/segmentation/run.sh [--quick] [--only REGEX] [--threads N] [--patch P] [--wait-idle MINUTES]
#                                  [--regenerate] [--work DIR]
#
# Per case (model, volume, mirroring): wall time and peak RSS (/usr/bin/time -v) of each whole process, the
# PyTorch process's own phase times, and the agreement of the two label maps (a case whose maps agree on fewer
# than 99.9% of voxels, or whose process fails, is reported as failed and makes the exit code 1).
#   models   phantom  the demo's U-Net (cli/.../phantom-seg.h5: 4 stages 8..48, patch 32x48x48, 2.5 mm;
#                     its checkpoint allows no mirroring, so 1 pass per tile whatever the flag)
#            nnunet   nnU-Net's default 3d_fullres PlainConvUNet (6 stages 32..320, 3x3x3), random seeded weights,
#                     patch P^3 (default 96: 128^3 costs PyTorch ~45 s a pass on 2 cores), 2.5 mm isotropic,
#                     mirroring over (0, 1, 2): 8 passes per tile; made once into the work dir (segbench.py model)
#   volumes  ct       testdata/ct/example_ct.nii.gz, the real CT (122x101x112 at 3 mm)
#            ct-1.5mm the same field of view resampled to 1.5 mm (244x202x224: 8x the voxels, same tiles)
#            tiles1, tiles8  centre crops of ct whose network grid for the model is 1 tile, 2x2x2 tiles
#   --quick: phantom on tiles1 only (a smoke test of the script, seconds); --only REGEX: the cases whose
#   "MODEL VOLUME TTA" matches. The engine runs through ./renal-mtl (built if the sources changed), or the
#   command in RENAL_MTL; its JVM sees N processors (-XX:ActiveProcessorCount) and oneDNN N OpenMP threads;
#   PyTorch gets torch.set_num_threads(N) and OMP/MKL/OpenBLAS N threads (N = --threads, default 2).
# Writes benchmarks/results/segmentation-<UTC time>.json (machine, models, every case) and .log (all output);
# the work dir (default benchmarks/target/segmentation) keeps the models, volumes and each run's masks.
# Exit codes: 0 every case ran and agreed; 1 a case failed or disagreed; 2 a missing tool or bad argument.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(model ...) or $(volume ...) stops the script
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$root/.ci/jdk.sh"
source "$root/benchmarks/wait-idle.sh"

quick="${QUICK:-0}"
only=""
threads=2
patch=96
wait_idle=0
regenerate=0
work="$root/benchmarks/target/segmentation"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --only) only="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --patch) patch="$2"; shift 2 ;;
    --wait-idle) wait_idle="$2"; shift 2 ;;
    --regenerate) regenerate=1; shift ;;
    --work) work="$2"; shift 2 ;;
    -h|--help) sed -n '2,26p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "segmentation/run.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

python=/usr/bin/python3
[[ -x /usr/bin/time ]] || { echo "segmentation/run.sh: needs /usr/bin/time (Debian: apt-get install time)" >&2; exit 2; }
if ! "$python" -c 'import torch, h5py, nibabel, scipy, skimage' 2>/dev/null; then
  echo "segmentation/run.sh: $python cannot import torch, h5py, nibabel, scipy and skimage" >&2; exit 2
fi
renal_mtl="${RENAL_MTL:-$root/renal-mtl}"
"$renal_mtl" --version >/dev/null # builds if needed

# Cases: MODEL VOLUME TTA (on: the model's mirroring, as nnU-Net by default; off: --disable-tta). The PyTorch
# side takes ~2/3 of the time. Mirroring (8 passes a tile) only on the one-tile volume of the big net: on the
# whole CT it would be 96 passes of ~10 s in PyTorch alone.
cases=(
  "phantom tiles1 on"
  "phantom tiles8 on"
  "phantom ct on"
  "phantom ct-1.5mm on"
  "nnunet tiles1 off"
  "nnunet tiles1 on"
  "nnunet ct off"
)
[[ "$quick" == 1 ]] && cases=("phantom tiles1 on")
if [[ -n "$only" ]]; then
  selected=()
  for c in "${cases[@]}"; do [[ "$c" =~ $only ]] && selected+=("$c"); done
  cases=("${selected[@]}")
  [[ ${#cases[@]} -gt 0 ]] || { echo "segmentation/run.sh: --only '$only' matches no case" >&2; exit 2; }
fi

stamp="$(date -u +%Y-%m-%dT%H%MZ)"
results="$root/benchmarks/results"
mkdir -p "$results" "$work/models" "$work/volumes"
json="$results/segmentation-$stamp.json"
log="$results/segmentation-$stamp.log"
exec > >(tee -a "$log") 2>&1
tee_pid=$!
trap 'exec >&- 2>&-; wait "$tee_pid"' EXIT # the log and the console are complete when the script returns

ct="$root/testdata/ct/example_ct.nii.gz"
declare -A model_file=([phantom]="$root/cli/src/main/resources/org/renalmtl/cli/phantom-seg.h5"
                       [nnunet]="$work/models/nnunet-p$patch-2.5mm-seed1.h5")
model() { # NAME -> its weight file, made first if needed
  local f="${model_file[$1]}"
  if [[ "$1" == nnunet && ( $regenerate == 1 || ! -f "$f" ) ]]; then
    echo "== making the nnU-Net default PlainConvUNet, patch $patch^3 (random weights, one PyTorch pass)" >&2
    rm -rf "$f" "${f%.h5}.nnunet"
    "$python" "$here/segbench.py" model --out "$f" --ct "$ct" --patch "$patch" --spacing 2.5 --threads "$threads" >&2
  fi
  echo "$f"
}
volume() { # MODEL VOLUME -> the image file, made first if needed
  local f
  case "$2" in
    ct) echo "$ct"; return ;;
    ct-1.5mm) f="$work/volumes/ct-1.5mm.nii.gz"
      [[ -f "$f" && $regenerate == 0 ]] || "$python" "$here/segbench.py" volume --ct "$ct" --spacing 1.5 --out "$f" >&2 ;;
    tiles1|tiles8) f="$work/volumes/$1-$2.nii.gz"
      local m; m="$(model "$1")"
      [[ -f "$f" && "$f" -nt "$m" && $regenerate == 0 ]] || \
        "$python" "$here/segbench.py" volume --ct "$ct" --seg-model "$m" --tiles "${2#tiles}" --out "$f" >&2 ;;
    *) echo "segmentation/run.sh: unknown volume $2" >&2; exit 2 ;;
  esac
  echo "$f"
}

# Every model and volume first, so that no case's time includes making them.
used_models=()
for c in "${cases[@]}"; do
  read -r m v _ <<<"$c"
  volume "$m" "$v" >/dev/null
  [[ " ${used_models[*]} " == *" $m "* ]] || used_models+=("$m")
done

segment_engine() { # MODEL_FILE IMAGE OUT_DIR [--disable-tta]
  local d="$3"
  OMP_NUM_THREADS="$threads" JDK_JAVA_OPTIONS="${JDK_JAVA_OPTIONS:-} -XX:ActiveProcessorCount=$threads" \
    /usr/bin/time -v -o "$d/engine.time" "$renal_mtl" segment --device cpu --seg-model "$1" --image "$2" \
    --out "$d/engine.nii.gz" "${@:4}" >"$d/engine.out" 2>&1 && echo 0 >"$d/engine.rc" || echo $? >"$d/engine.rc"
}
segment_torch() { # MODEL_FILE IMAGE OUT_DIR [--disable-tta]
  local d="$3"
  OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
    /usr/bin/time -v -o "$d/torch.time" "$python" "$here/torch_segment.py" --seg-model "$1" --image "$2" \
    --out "$d/torch.nii.gz" --threads "$threads" --timings "$d/torch.json" "${@:4}" >"$d/torch.out" 2>&1 \
    && echo 0 >"$d/torch.rc" || echo $? >"$d/torch.rc"
}

wait_idle "$wait_idle"

run="$work/run-$stamp"
mkdir -p "$run"
echo "== segmentation benchmark $stamp: ${#cases[@]} case(s), $threads threads, work dir $run"
"$python" "$here/segbench.py" machine --out "$run/machine.json"
echo "== warm-up (untimed): the page cache gets the JVM's jars, PyTorch's libraries and the smallest volume"
read -r m v _ <<<"${cases[0]}"
mkdir -p "$run/warm-up"
segment_engine "$(model "$m")" "$(volume "$m" "$v")" "$run/warm-up"
segment_torch "$(model "$m")" "$(volume "$m" "$v")" "$run/warm-up"

i=0
for c in "${cases[@]}"; do
  read -r m v tta <<<"$c"
  i=$((i + 1))
  d="$run/$i-$m-$v-$tta"
  mkdir -p "$d"
  flags=()
  [[ "$tta" == off ]] && flags=(--disable-tta)
  mf="$(model "$m")"
  img="$(volume "$m" "$v")"
  echo "== case $i/${#cases[@]}: $m on $v, mirroring $tta (load $(cut -d' ' -f1 /proc/loadavg))"
  segment_engine "$mf" "$img" "$d" "${flags[@]}"
  sed 's/^/  engine | /' "$d/engine.out"
  segment_torch "$mf" "$img" "$d" "${flags[@]}"
  sed 's/^/  torch  | /' "$d/torch.out"
  "$python" "$here/segbench.py" record --runs "$run/runs.jsonl" --case "$m" "$v" "$tta" --dir "$d" --image "$img"
done

echo "== results (engine / PyTorch)"
model_args=()
for m in "${used_models[@]}"; do model_args+=(--model "$m=$(model "$m")"); done
status=0
"$python" "$here/segbench.py" report --runs "$run/runs.jsonl" --machine "$run/machine.json" "${model_args[@]}" \
  --threads "$threads" --out "$json" || status=$?
echo "== results: $json, log: $log"
exit "$status"
