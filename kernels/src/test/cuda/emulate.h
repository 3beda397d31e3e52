// Host emulation of the few CUDA device features the renal-mtl kernels use, so that
// kernel_check.cpp can run the real kernel sources on a machine without a GPU (build with
// -DRMTL_EMULATE). Each CUDA thread of a block is an OS thread; blocks run one after another, so a
// function-local `static` array is exactly one block's shared memory; __syncthreads is a barrier
// over the block's threads and __shfl_down_sync an exchange through a per-warp buffer between two
// warp barriers (float and double). This checks indexing, tails, vector/scalar dispatch, the 64-bit index path,
// barriers and shuffle trees; it says nothing about speed, and float rounding of expf may differ
// from the GPU's by an ulp or two (the checks' tolerances cover that).
#pragma once

#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdint>

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __restrict__ __restrict

struct rmtl_dim3 { unsigned x = 1, y = 1, z = 1; };
inline thread_local rmtl_dim3 threadIdx, blockIdx;
inline rmtl_dim3 blockDim, gridDim;

struct float4 { float x, y, z, w; };
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

template <typename T> inline T __ldg(const T* p) { return *p; }
using std::max;
using std::min;

inline std::barrier<>* rmtl_block_barrier = nullptr;
inline std::barrier<>* rmtl_warp_barrier[32] = {};

inline void __syncthreads() { rmtl_block_barrier->arrive_and_wait(); }

inline double rmtl_xchg[32][32];

template <typename T> inline T rmtl_shfl_down(T v, int off) {
    const unsigned warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    rmtl_xchg[warp][lane] = (double)v;  // exact for float and double
    rmtl_warp_barrier[warp]->arrive_and_wait();
    const T r = lane + off < 32 ? (T)rmtl_xchg[warp][lane + off] : v;
    rmtl_warp_barrier[warp]->arrive_and_wait();
    return r;
}
inline float __shfl_down_sync(unsigned, float v, int off) { return rmtl_shfl_down(v, off); }
inline double __shfl_down_sync(unsigned, double v, int off) { return rmtl_shfl_down(v, off); }
