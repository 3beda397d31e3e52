// Launch-geometry conventions and small device helpers shared by every renal-mtl kernel.
//
// The Java engine launches these kernels through cuLaunchKernel, so the geometry is a contract
// written down here and in kernels/README.md rather than encoded in a host-side wrapper:
//
//   * blockDim = (RMTL_BLOCK, 1, 1) = 256 threads for every kernel. Each kernel is declared with
//     __launch_bounds__(RMTL_BLOCK), so a larger block is refused at launch (CUDA_ERROR_INVALID_VALUE,
//     not a sticky error). A smaller block that is a multiple of 32 also computes the right result.
//   * gridDim = (g, 1, 1) with any g >= 1: every kernel walks its work with a grid-stride loop (over
//     elements, or over tiles/items per block), so g only trades parallelism against launch size.
//     Each file states the g that covers its work in one wave; capping g at 32 x (multiprocessor
//     count) is always fine.
//   * sharedMemBytes = 0: shared memory, where used, is static.
//
// Sizes are int, but a tensor may hold more than 2^31 elements (n x spatial x channels). Each kernel
// therefore has two instantiations of its body: index type unsigned int when every index it forms fits in
// 31 bits (the common case; 32-bit division is inline and cheap), long long otherwise (64-bit
// division is a called subroutine, slower and with a stack frame). rmtl_fits32 picks one.
#pragma once

#include <stdint.h>

#define RMTL_BLOCK 256

// Index of this thread in the whole grid, and the grid's thread count (grid-stride loops), in the
// index type I of the instantiation: unsigned int or long long. The 32-bit instantiation is used
// only when rmtl_fits32 holds: every index below 2^31 and a grid of at most 2^31 threads, so
// idx + stride < 2^32 never wraps.
template <typename I> static __device__ __forceinline__ I rmtl_gtid() {
    return (I)blockIdx.x * (I)blockDim.x + (I)threadIdx.x;
}
template <typename I> static __device__ __forceinline__ I rmtl_gstride() {
    return (I)gridDim.x * (I)blockDim.x;
}
static __device__ __forceinline__ bool rmtl_fits32(long long count) {
    return count < (1LL << 31) && (long long)gridDim.x * blockDim.x <= (1LL << 31);
}

// True when p may be read or written as float4 (cudaMalloc gives 256-byte alignment, but the engine
// passes sub-views, e.g. one phase's slice of the fused feature vector).
static __device__ __forceinline__ bool rmtl_aligned16(const void* p) {
    return (reinterpret_cast<uintptr_t>(p) & 15u) == 0;
}

// max that propagates NaN, as PyTorch's max_pool3d does (fmaxf would drop it).
static __device__ __forceinline__ float rmtl_nanmax(float m, float v) {
    return (v > m || v != v) ? v : m;
}
static __device__ __forceinline__ float4 rmtl_nanmax(float4 m, float4 v) {
    return make_float4(rmtl_nanmax(m.x, v.x), rmtl_nanmax(m.y, v.y),
                       rmtl_nanmax(m.z, v.z), rmtl_nanmax(m.w, v.w));
}

// Vector type of V floats (V = 1 or 4) and a splat constructor, so one template body serves the
// float4 fast path and the scalar fallback.
template <int V> struct rmtl_vec { typedef float type; };
template <> struct rmtl_vec<4> { typedef float4 type; };
template <typename T> static __device__ __forceinline__ T rmtl_splat(float v);
template <> __device__ __forceinline__ float rmtl_splat<float>(float v) { return v; }
template <> __device__ __forceinline__ float4 rmtl_splat<float4>(float v) { return make_float4(v, v, v, v); }

// Logistic function without overflow: exp is only ever taken of a non-positive number (IEEE expf,
// no fast-math, so it is within 2 ulp and 1 / (1 + e) never sees inf / inf).
static __device__ __forceinline__ float rmtl_sigmoid(float v) {
    if (v >= 0.0f) return 1.0f / (1.0f + expf(-v));
    const float e = expf(v);  // v < 0 or NaN (NaN propagates)
    return e / (1.0f + e);
}

// The activation codes of the graph IR: the ordinal of org.renalmtl.engine.graph.Activation.Kind.
#define RMTL_ACT_NONE 0
#define RMTL_ACT_RELU 1
#define RMTL_ACT_LEAKY_RELU 2
#define RMTL_ACT_SIGMOID 3
#define RMTL_ACT_TANH 4

// The one definition of every fused activation (Activation.apply in float): every kernel that takes
// (act, slope) applies it through this helper, so they agree bit for bit. relu is x <= 0 ? 0 : x
// (NaN stays NaN, -0 becomes +0), leaky_relu x >= 0 ? x : slope * x (slope is read only by it),
// sigmoid never overflows, tanh is CUDA's tanhf (max 2 ulp). An unknown code gives NaN, so a
// launcher bug shows in the output instead of passing the data through unchanged. `act` is the same
// for every thread of a launch, so the switch never diverges.
static __device__ __forceinline__ float rmtl_act(float v, int act, float slope) {
    switch (act) {
        case RMTL_ACT_NONE: return v;
        case RMTL_ACT_RELU: return v <= 0.0f ? 0.0f : v;
        case RMTL_ACT_LEAKY_RELU: return v >= 0.0f ? v : slope * v;
        case RMTL_ACT_SIGMOID: return rmtl_sigmoid(v);
        case RMTL_ACT_TANH: return tanhf(v);
        default: return NAN;
    }
}
static __device__ __forceinline__ float4 rmtl_act(float4 v, int act, float slope) {
    return make_float4(rmtl_act(v.x, act, slope), rmtl_act(v.y, act, slope),
                       rmtl_act(v.z, act, slope), rmtl_act(v.w, act, slope));
}
