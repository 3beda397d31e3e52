// Pooling kernels over NDHWC activations.
//
// Launch (see launch.cuh): block 256 threads; grid
//   maxpool3d_ndhwc       : ceil(n * od * oh * ow * c / V / 256), V = 4 when c % 4 == 0 and both
//                           pointers are 16-byte aligned, else 1 (ceil(n*od*oh*ow*c/256) is always
//                           enough); cap at 32 x SMs.
//   global_avg_pool_ndhwc : n * ceil(c / 32) (one block per sample and chunk of up to 32 channel
//                           vectors; surplus blocks exit at once); cap at 32 x SMs.
#include "launch.cuh"

// One thread per output element (V = 1) or per 4 consecutive channels (V = 4): a warp reads 32
// consecutive channel values (or float4s) of one input voxel per window cell, so every load is
// coalesced; neighbouring windows overlap and re-read from L1/L2, not DRAM.
template <int V, typename I>
static __device__ __forceinline__ void maxpool3d_impl(
    float* __restrict__ out, const float* __restrict__ in,
    int n, int d, int h, int w, int c, int od, int oh, int ow,
    int kd, int kh, int kw, int sd, int sh, int sw, int pd, int ph, int pw)
{
    typedef typename rmtl_vec<V>::type vec_t;
    const int cv = c / V;  // channel vectors per voxel
    const vec_t* in_v = reinterpret_cast<const vec_t*>(in);
    vec_t* out_v = reinterpret_cast<vec_t*>(out);
    const I total = (I)n * od * oh * ow * cv;
    for (I idx = rmtl_gtid<I>(); idx < total; idx += rmtl_gstride<I>()) {
        I p = idx / cv;
        const int cvi = (int)(idx - p * cv);
        const int x = (int)(p % ow); p /= ow;
        const int y = (int)(p % oh); p /= oh;
        const int z = (int)(p % od);
        const I i = p / od;
        // Window clipped to the volume: padded cells are -inf in PyTorch and never win.
        const int z0 = z * sd - pd, y0 = y * sh - ph, x0 = x * sw - pw;
        const int zs = max(z0, 0), ze = min(z0 + kd, d);
        const int ys = max(y0, 0), ye = min(y0 + kh, h);
        const int xs = max(x0, 0), xe = min(x0 + kw, w);
        vec_t m = rmtl_splat<vec_t>(-INFINITY);
        for (int zz = zs; zz < ze; ++zz) {
            for (int yy = ys; yy < ye; ++yy) {
                const vec_t* row = in_v + (((i * d + zz) * h + yy) * w) * cv + cvi;
                for (int xx = xs; xx < xe; ++xx) m = rmtl_nanmax(m, __ldg(row + (I)xx * cv));
            }
        }
        out_v[idx] = m;
    }
}

template <int V>
static __device__ __forceinline__ void maxpool3d_dispatch(
    float* __restrict__ out, const float* __restrict__ in,
    int n, int d, int h, int w, int c, int od, int oh, int ow,
    int kd, int kh, int kw, int sd, int sh, int sw, int pd, int ph, int pw)
{
    const long long inElems = (long long)n * d * h * w * c;
    const long long outElems = (long long)n * od * oh * ow * c;
    if (rmtl_fits32(inElems > outElems ? inElems : outElems))
        maxpool3d_impl<V, unsigned>(out, in, n, d, h, w, c, od, oh, ow, kd, kh, kw, sd, sh, sw, pd, ph, pw);
    else
        maxpool3d_impl<V, long long>(out, in, n, d, h, w, c, od, oh, ow, kd, kh, kw, sd, sh, sw, pd, ph, pw);
}

// in (n, d, h, w, c) -> out (n, od, oh, ow, c): max over the window kd x kh x kw at strides
// (sd, sh, sw), with pd / ph / pw cells of padding on each side of each axis that never win (PyTorch
// MaxPool3d semantics, floor mode, dilation 1, NaN propagates; a window with no cell inside the
// volume, impossible when 2 p <= k per axis as PyTorch requires, gives -inf).
// The caller gives od = floor((d + 2 pd - kd) / sd) + 1, oh and ow likewise on their axes.
// The minimum of 4 resident blocks caps registers at 64: with the plain bound ptxas aimed lower and
// spilled (8-byte stack frame); at 4 blocks x 256 threads the SM still has 32 warps to hide latency.
extern "C" __global__ void __launch_bounds__(RMTL_BLOCK, 4)
maxpool3d_ndhwc(float* __restrict__ out, const float* __restrict__ in,
                int n, int d, int h, int w, int c, int od, int oh, int ow,
                int kd, int kh, int kw, int sd, int sh, int sw, int pd, int ph, int pw)
{
    if (c % 4 == 0 && rmtl_aligned16(in) && rmtl_aligned16(out))
        maxpool3d_dispatch<4>(out, in, n, d, h, w, c, od, oh, ow, kd, kh, kw, sd, sh, sw, pd, ph, pw);
    else
        maxpool3d_dispatch<1>(out, in, n, d, h, w, c, od, oh, ow, kd, kh, kw, sd, sh, sw, pd, ph, pw);
}

// Global average pooling, one block per (sample, chunk of channel vectors). Within a warp, L lanes
// cover L consecutive channel vectors of one voxel and the warp's 32 / L row groups take different
// voxels (so a warp reads contiguous memory even when c is small); each thread sums its voxels, a
// shuffle tree folds the row groups of a warp, and warp 0 adds the per-warp partials. The summation
// order depends only on (spatial, c, blockDim), never on timing: the result is deterministic.
template <int V, typename I>
static __device__ __forceinline__ void gap_impl(
    float* __restrict__ out, const float* __restrict__ in, int n, int spatial, int c, int out_row_stride,
    float (*partial)[32 * 4])
{
    typedef typename rmtl_vec<V>::type vec_t;
    const int cv = c / V;
    int lanesPerRow = 1;
    while (lanesPerRow < cv && lanesPerRow < 32) lanesPerRow <<= 1;
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int nwarps = blockDim.x >> 5;
    const int group = lane / lanesPerRow;       // row group within the warp
    const int lc = lane - group * lanesPerRow;  // channel vector within the chunk
    const int groupsPerWarp = 32 / lanesPerRow;
    const int rowsPerPass = nwarps * groupsPerWarp;
    const I chunks = (I)((cv + lanesPerRow - 1) / lanesPerRow);
    const I items = (I)n * chunks;
    const vec_t* in_v = reinterpret_cast<const vec_t*>(in);
    for (I item = blockIdx.x; item < items; item += gridDim.x) {
        const I i = item / chunks;
        const int cvi = (int)(item - i * chunks) * lanesPerRow + lc;
        float acc[V];
#pragma unroll
        for (int k = 0; k < V; ++k) acc[k] = 0.0f;
        if (cvi < cv) {
            const vec_t* base = in_v + i * (I)spatial * (I)cv + cvi;
            for (int s = warp * groupsPerWarp + group; s < spatial; s += rowsPerPass) {
                const vec_t v = __ldg(base + (I)s * (I)cv);
                if constexpr (V == 4) { acc[0] += v.x; acc[1] += v.y; acc[2] += v.z; acc[3] += v.w; }
                else acc[0] += v;
            }
        }
        // Fold the row groups of this warp: lane l < lanesPerRow ends with the sum of lanes
        // l, l + lanesPerRow, l + 2 lanesPerRow, ... (every lane takes part: the mask is full).
        for (int off = 16; off >= lanesPerRow; off >>= 1) {
#pragma unroll
            for (int k = 0; k < V; ++k) acc[k] += __shfl_down_sync(0xffffffffu, acc[k], off);
        }
        if (group == 0) {
#pragma unroll
            for (int k = 0; k < V; ++k) partial[warp][lc * V + k] = acc[k];
        }
        __syncthreads();
        if (warp == 0 && group == 0 && cvi < cv) {
#pragma unroll
            for (int k = 0; k < V; ++k) {
                float sum = partial[0][lc * V + k];
                for (int wi = 1; wi < nwarps; ++wi) sum += partial[wi][lc * V + k];
                out[i * (I)out_row_stride + (I)cvi * V + k] = sum / (float)spatial;
            }
        }
        __syncthreads();  // partial is rewritten by the next item
    }
}

// in (n, spatial, c) -> out[i * out_row_stride + ch] = mean over spatial of in[i, :, ch].
// Precondition: spatial >= 1, out_row_stride >= c. Only the first c entries of each out row are written.
extern "C" __global__ void __launch_bounds__(RMTL_BLOCK)
global_avg_pool_ndhwc(float* __restrict__ out, const float* __restrict__ in,
                      int n, int spatial, int c, int out_row_stride)
{
    __shared__ float partial[RMTL_BLOCK / 32][32 * 4];  // [warp][channel in chunk]
    const long long inElems = (long long)n * spatial * c;
    const long long outElems = (long long)n * out_row_stride;
    const bool fits = rmtl_fits32(inElems > outElems ? inElems : outElems);
    // out is written by scalar stores, so only the input's alignment decides the vector width.
    if (c % 4 == 0 && rmtl_aligned16(in)) {
        if (fits) gap_impl<4, unsigned>(out, in, n, spatial, c, out_row_stride, partial);
        else gap_impl<4, long long>(out, in, n, spatial, c, out_row_stride, partial);
    } else {
        if (fits) gap_impl<1, unsigned>(out, in, n, spatial, c, out_row_stride, partial);
        else gap_impl<1, long long>(out, in, n, spatial, c, out_row_stride, partial);
    }
}
