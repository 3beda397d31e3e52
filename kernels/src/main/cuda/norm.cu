// Instance normalisation over NDHWC activations (nnU-Net's InstanceNorm3d + LeakyReLU).
//
// Launch (see launch.cuh): block 256 threads; grid n * ceil(c / 8) (one block per sample and tile
// of 8 channels; surplus blocks exit at once), capped at 32 x SMs (blocks then loop over the tiles).
// As a work count for KernelImage.gridSize: n * ceil(c / 8) * 256.
//
// One block owns one (sample, 8-channel tile) from start to end: it reads the tile's voxels once
// for the statistics, reduces them inside the block (shuffles, then shared memory), and only then
// reads them a second time to normalise, so no (n, c) pair is normalised before its statistics are
// complete and no workspace or second launch is needed. 8 channels = 32 bytes = one DRAM sector per
// voxel row: a warp's load covers 16 voxels x 2 float4 (or 4 voxels x 8 floats), no sector
// half-used. The price is parallelism: n * ceil(c / 8) blocks, e.g. 4 for nnU-Net's first stage at
// batch 1 (c = 32), where each block streams 2M voxels x 32 B twice; a variant that splits the
// voxels over blocks needs a statistics workspace and a second launch (not in this signature).
//
// Accuracy: each thread sums d = x - K and d^2 in double, K = the channel's first voxel of this
// sample (a shift, so E[d^2] - E[d]^2 does not cancel when |mean| >> std), then the block adds the
// per-thread doubles in a fixed tree. mean and var are thus as exact as float64 allows; the float
// part is only the per-element (x - mean) * a + shift, with mean split into a float hi + lo pair so
// its rounding is not amplified by 1 / std. Measured against the float64 two-pass reference
// (kernel_check, emulated): see kernels/README.md. Deterministic: the summation order depends only on
// (spatial, c, blockDim), never on timing or gridDim.
#include "launch.cuh"

#define RMTL_NORM_TILE 8  // channels per block

template <int V, typename I>
static __device__ __forceinline__ void instance_norm_impl(
    float* __restrict__ out, const float* __restrict__ in, const float* __restrict__ scale,
    const float* __restrict__ shift, int n, int spatial, int c, float eps, int act, float slope,
    double (*red)[2][RMTL_NORM_TILE], float (*coef)[RMTL_NORM_TILE])
{
    typedef typename rmtl_vec<V>::type vec_t;
    constexpr int L = RMTL_NORM_TILE / V;  // lanes per voxel row
    constexpr int groupsPerWarp = 32 / L;  // voxel rows per warp per pass
    const int cv = c / V;
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int nwarps = blockDim.x >> 5;
    const int group = lane / L;
    const int lc = lane - group * L;
    const int rowsPerPass = nwarps * groupsPerWarp;
    const int row0 = warp * groupsPerWarp + group;
    const I tiles = (I)((cv + L - 1) / L);
    const I items = (I)n * tiles;
    const vec_t* in_v = reinterpret_cast<const vec_t*>(in);
    vec_t* out_v = reinterpret_cast<vec_t*>(out);
    for (I item = blockIdx.x; item < items; item += gridDim.x) {
        const I i = item / tiles;
        const int tile = (int)(item - i * tiles);
        const int cvi = tile * L + lc;  // this lane's channel vector
        const bool active = cvi < cv;
        const I base = i * (I)spatial * (I)cv + (I)cvi;  // in_v index of in[i, 0, cvi]

        // Pass 1: shifted sums in double.
        double s1[V], s2[V];
#pragma unroll
        for (int k = 0; k < V; ++k) { s1[k] = 0.0; s2[k] = 0.0; }
        if (active) {
            const vec_t kv = __ldg(in_v + base);
            const float* kf = reinterpret_cast<const float*>(&kv);
#pragma unroll 4
            for (int s = row0; s < spatial; s += rowsPerPass) {
                const vec_t x = __ldg(in_v + base + (I)s * (I)cv);
                const float* xf = reinterpret_cast<const float*>(&x);
#pragma unroll
                for (int k = 0; k < V; ++k) {
                    const double d = (double)xf[k] - (double)kf[k];
                    s1[k] += d;
                    s2[k] = fma(d, d, s2[k]);
                }
            }
        }
        // Fold the warp's row groups (every lane takes part: the mask is full), then the warps.
        for (int off = 16; off >= L; off >>= 1) {
#pragma unroll
            for (int k = 0; k < V; ++k) {
                s1[k] += __shfl_down_sync(0xffffffffu, s1[k], off);
                s2[k] += __shfl_down_sync(0xffffffffu, s2[k], off);
            }
        }
        if (group == 0) {
#pragma unroll
            for (int k = 0; k < V; ++k) { red[warp][0][lc * V + k] = s1[k]; red[warp][1][lc * V + k] = s2[k]; }
        }
        __syncthreads();
        if (threadIdx.x < RMTL_NORM_TILE) {
            const int t = threadIdx.x;
            const int ch = tile * RMTL_NORM_TILE + t;
            if (ch < c) {
                double a1 = 0.0, a2 = 0.0;
                for (int w = 0; w < nwarps; ++w) { a1 += red[w][0][t]; a2 += red[w][1][t]; }
                const double mu = a1 / spatial;                   // mean of x - K
                double var = a2 / spatial - mu * mu;             // biased variance (shift-invariant)
                var = var < 0.0 ? 0.0 : var;                     // rounding only; NaN stays NaN
                const double mean = (double)__ldg(in + i * (I)spatial * (I)c + (I)ch) + mu;
                const double a = (scale != nullptr ? (double)__ldg(scale + ch) : 1.0) / sqrt(var + (double)eps);
                const float hi = (float)mean;
                coef[0][t] = hi;
                coef[1][t] = (float)(mean - (double)hi);
                coef[2][t] = (float)a;
                coef[3][t] = shift != nullptr ? __ldg(shift + ch) : 0.0f;
            }
        }
        __syncthreads();

        // Pass 2: y = act(((x - mean_hi) - mean_lo) * a + shift).
        if (active) {
            float mh[V], ml[V], ga[V], be[V];
#pragma unroll
            for (int k = 0; k < V; ++k) {
                mh[k] = coef[0][lc * V + k]; ml[k] = coef[1][lc * V + k];
                ga[k] = coef[2][lc * V + k]; be[k] = coef[3][lc * V + k];
            }
#pragma unroll 4
            for (int s = row0; s < spatial; s += rowsPerPass) {
                const I at = base + (I)s * (I)cv;
                vec_t x = __ldg(in_v + at);
                float* xf = reinterpret_cast<float*>(&x);
#pragma unroll
                for (int k = 0; k < V; ++k) xf[k] = rmtl_act(fmaf((xf[k] - mh[k]) - ml[k], ga[k], be[k]), act, slope);
                out_v[at] = x;
            }
        }
        __syncthreads();  // red and coef are rewritten by the next item
    }
}

// in, out (n, spatial, c): PyTorch InstanceNorm3d. Per (sample, channel): mean and biased variance over
// the spatial positions, y = (x - mean) / sqrt(var + eps) * (scale ? scale[c] : 1) + (shift ? shift[c] : 0),
// then act (codes as affine_act, rmtl_act in launch.cuh). scale and/or shift may be NULL.
// Preconditions: spatial >= 1, out and in do not overlap. Vectorised (float4) when c % 4 == 0 and in,
// out are 16-byte aligned. A NaN anywhere in a channel makes that channel's output NaN (as PyTorch).
// Declared for 4 resident blocks (at most 64 registers): with the plain bound ptxas gave sm_80 fewer
// registers and spilled to a stack frame, as for maxpool3d_ndhwc.
extern "C" __global__ void __launch_bounds__(RMTL_BLOCK, 4)
instance_norm_ndhwc(float* __restrict__ out, const float* __restrict__ in, const float* __restrict__ scale,
                    const float* __restrict__ shift, int n, int spatial, int c, float eps, int act, float slope)
{
    __shared__ double red[RMTL_BLOCK / 32][2][RMTL_NORM_TILE];  // [warp][sum, sum of squares][channel in tile]
    __shared__ float coef[4][RMTL_NORM_TILE];                   // [mean hi, mean lo, scale / std, shift][channel]
    if (n <= 0 || spatial <= 0 || c <= 0) return;
    const bool fits = rmtl_fits32((long long)n * spatial * c);
    if (c % 4 == 0 && rmtl_aligned16(in) && rmtl_aligned16(out)) {
        if (fits) instance_norm_impl<4, unsigned>(out, in, scale, shift, n, spatial, c, eps, act, slope, red, coef);
        else instance_norm_impl<4, long long>(out, in, scale, shift, n, spatial, c, eps, act, slope, red, coef);
    } else {
        if (fits) instance_norm_impl<1, unsigned>(out, in, scale, shift, n, spatial, c, eps, act, slope, red, coef);
        else instance_norm_impl<1, long long>(out, in, scale, shift, n, spatial, c, eps, act, slope, red, coef);
    }
}
