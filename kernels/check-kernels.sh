#!/usr/bin/env bash
# Builds and runs kernels/src/test/cuda/kernel_check.cpp (see its header):
#   kernels/check-kernels.sh [--json out.json]      on a GPU host: the committed fatbin through the driver API
#   kernels/check-kernels.sh --emulate              anywhere: the kernel sources on CPU threads (about 1.5 min on 2 cores)
# Needs g++ (C++17; C++20 for --emulate) and the CUDA headers (CUDA_HOME, default /usr/local/cuda).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cuda="${CUDA_HOME:-/usr/local/cuda}"
out="$here/target/kernel-check"
mkdir -p "$out"
src="$here/src/test/cuda/kernel_check.cpp"
if [[ "${1:-}" == "--emulate" ]]; then
    shift
    g++ -O2 -std=c++20 -pthread -DRMTL_EMULATE -Wall -Wextra -Wno-unknown-pragmas -I"$cuda/include" "$src" -ldl -o "$out/kernel_check_emu"
    exec "$out/kernel_check_emu" emulated "$@"
fi
g++ -O2 -std=c++17 -Wall -Wextra -I"$cuda/include" "$src" -ldl -o "$out/kernel_check"
exec "$out/kernel_check" "$here/src/main/resources/org/renalmtl/kernels/renal_mtl.fatbin" "$@"
