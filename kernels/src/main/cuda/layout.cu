// Layout kernels: NCDHW (PyTorch's layout, the loader's volumes) to NDHWC (the engine's layout).
//
// Launch (see launch.cuh): block 256 threads; grid
//   cpad <= 16 : ceil(n * spatial / 256)                       (one thread per voxel)
//   cpad  > 16 : n * ceil(spatial / 32) * ceil(cpad / 32)     (one 32 x 32 tile per block)
// capped at 32 x SMs either way (grid-stride loops cover the rest). The stem input (1 or 3 phases
// padded to 8 channels) always takes the per-voxel path.
#include "launch.cuh"

// Per-voxel path threshold: with few channels a 32 x 32 tile would leave most lanes idle on the
// store side, while one thread per voxel reads each channel plane coalesced and writes its cpad
// outputs as float4s.
#define RMTL_LAYOUT_SMALL_C 16

template <typename I>
static __device__ __forceinline__ void layout_small(
    float* __restrict__ out, const float* __restrict__ in, int n, int c, int spatial, int cpad, int cin)
{
    const I total = (I)n * (I)spatial;
    const I sp = (I)spatial;
    const bool vec = (cpad % 4 == 0) && rmtl_aligned16(out);
    for (I idx = rmtl_gtid<I>(); idx < total; idx += rmtl_gstride<I>()) {
        const I i = idx / sp;
        const I s = idx - i * sp;
        const float* src = in + i * (I)c * sp + s;  // in[i, 0, s]; channel stride = spatial
        float* dst = out + idx * (I)cpad;           // out[i, s, 0]
        if (vec) {
            float4* dst4 = reinterpret_cast<float4*>(dst);
#pragma unroll 4
            for (int ch = 0; ch < cpad; ch += 4) {
                float4 v;
                v.x = ch + 0 < cin ? __ldg(src + (I)(ch + 0) * sp) : 0.0f;
                v.y = ch + 1 < cin ? __ldg(src + (I)(ch + 1) * sp) : 0.0f;
                v.z = ch + 2 < cin ? __ldg(src + (I)(ch + 2) * sp) : 0.0f;
                v.w = ch + 3 < cin ? __ldg(src + (I)(ch + 3) * sp) : 0.0f;
                dst4[ch >> 2] = v;
            }
        } else {
            for (int ch = 0; ch < cpad; ++ch)
                dst[ch] = ch < cin ? __ldg(src + (I)ch * sp) : 0.0f;
        }
    }
}

// Tiled transpose through shared memory: a warp reads 32 consecutive voxels of one channel (128
// coalesced bytes) and writes 32 consecutive channels of one voxel. The +1 column keeps the
// transposed read free of bank conflicts.
template <typename I>
static __device__ __forceinline__ void layout_tiled(
    float* __restrict__ out, const float* __restrict__ in, int n, int c, int spatial, int cpad, int cin,
    float (*tile)[33])
{
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int nwarps = blockDim.x >> 5;
    const I sp = (I)spatial;
    const I tilesS = (sp + 31) / 32;
    const I tilesC = ((I)cpad + 31) / 32;
    const I tiles = (I)n * tilesS * tilesC;
    for (I t = blockIdx.x; t < tiles; t += gridDim.x) {
        const I i = t / (tilesS * tilesC);
        const I r = t - i * tilesS * tilesC;
        const I s0 = (r / tilesC) * 32;
        const int c0 = (int)(r % tilesC) * 32;
        for (int row = warp; row < 32; row += nwarps) {
            const int ch = c0 + row;
            const I s = s0 + lane;
            tile[row][lane] = (ch < cin && s < sp) ? __ldg(in + (i * (I)c + ch) * sp + s) : 0.0f;
        }
        __syncthreads();
        for (int row = warp; row < 32; row += nwarps) {
            const I s = s0 + row;
            const int ch = c0 + lane;
            if (s < sp && ch < cpad) out[(i * sp + s) * (I)cpad + ch] = tile[lane][row];
        }
        __syncthreads();  // the tile is rewritten by the next iteration
    }
}

// in (n, c, spatial) -> out (n, spatial, cpad); channels c..cpad-1 are written as 0.
// Precondition: cpad >= c (were it smaller, only the first cpad channels would be copied).
extern "C" __global__ void __launch_bounds__(RMTL_BLOCK)
ncdhw_to_ndhwc(float* __restrict__ out, const float* __restrict__ in,
               int n, int c, int spatial, int cpad)
{
    __shared__ float tile[32][33];  // [channel in tile][voxel in tile]
    const int cin = c < cpad ? c : cpad;  // channels actually copied
    const long long widest = (long long)n * spatial * (c > cpad ? c : cpad);
    const bool fits = rmtl_fits32(widest + 32LL * 33 * 32);  // + one tile of slack for the tiled tail
    if (cpad <= RMTL_LAYOUT_SMALL_C) {
        if (fits) layout_small<unsigned>(out, in, n, c, spatial, cpad, cin);
        else layout_small<long long>(out, in, n, c, spatial, cpad, cin);
    } else {
        if (fits) layout_tiled<unsigned>(out, in, n, c, spatial, cpad, cin, tile);
        else layout_tiled<long long>(out, in, n, c, spatial, cpad, cin, tile);
    }
}
