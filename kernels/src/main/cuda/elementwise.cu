// Elementwise epilogues for what cuDNN/cuBLAS leave without a fused one: bias + activation after a
// GEMM, a conv without fused epilogue or a ConvTranspose3d, an unfolded BatchNorm (the host folds it to
// per-channel scale and shift), a standalone sigmoid, and the residual add of nnU-Net / ResNet blocks.
// Activations are float32 NDHWC, so a channel is the column of a (voxels, channels) row-major matrix.
// The activation codes and their one definition are rmtl_act in launch.cuh.
//
// Launch (see launch.cuh): block 256 threads; grid
//   affine_act : ceil(rows * cols / 256)
//   add_act    : ceil(n / 256)
// capped at 32 x SMs (grid-stride loops cover the rest; on the float4 paths a quarter suffices).
#include "launch.cuh"

// y = x * s + b with the multiply and add skipped where the pointer is NULL (which pointers are NULL
// is a launch constant, so the branches never diverge): x * 1 + 0 would turn -0 into +0. With both,
// one fmaf (a single rounding, as the twin's double x * s + b rounded once to float, up to the rare
// double-rounding case).
static __device__ __forceinline__ float rmtl_affine(float x, float s, float b, bool hasScale, bool hasShift) {
    if (hasScale && hasShift) return fmaf(x, s, b);
    if (hasScale) return x * s;
    if (hasShift) return x + b;
    return x;
}

// One thread per element (V = 1) or per 4 consecutive columns (V = 4). in and out are read and
// written through plain loads and stores, not the read-only cache: out may equal in.
template <int V, typename I>
static __device__ __forceinline__ void affine_act_impl(
    float* out, const float* in, const float* __restrict__ scale, const float* __restrict__ shift,
    long long rows, int cols, int act, float slope)
{
    typedef typename rmtl_vec<V>::type vec_t;
    vec_t* out_v = reinterpret_cast<vec_t*>(out);
    const vec_t* in_v = reinterpret_cast<const vec_t*>(in);
    const vec_t* scale_v = reinterpret_cast<const vec_t*>(scale);
    const vec_t* shift_v = reinterpret_cast<const vec_t*>(shift);
    const bool hasScale = scale != nullptr, hasShift = shift != nullptr;
    const I colsv = (I)(cols / V);
    const I total = (I)rows * colsv;
    for (I idx = rmtl_gtid<I>(); idx < total; idx += rmtl_gstride<I>()) {
        const I col = idx % colsv;
        const vec_t x = in_v[idx];
        const vec_t s = hasScale ? __ldg(scale_v + col) : rmtl_splat<vec_t>(1.0f);
        const vec_t b = hasShift ? __ldg(shift_v + col) : rmtl_splat<vec_t>(0.0f);
        vec_t y;
        if constexpr (V == 4) {
            y = make_float4(rmtl_affine(x.x, s.x, b.x, hasScale, hasShift), rmtl_affine(x.y, s.y, b.y, hasScale, hasShift),
                            rmtl_affine(x.z, s.z, b.z, hasScale, hasShift), rmtl_affine(x.w, s.w, b.w, hasScale, hasShift));
        } else {
            y = rmtl_affine(x, s, b, hasScale, hasShift);
        }
        out_v[idx] = rmtl_act(y, act, slope);
    }
}

// in, out (rows, cols): out[r, c] = act(in[r, c] * (scale ? scale[c] : 1) + (shift ? shift[c] : 0)).
// scale and/or shift may be NULL; out may equal in (in place), otherwise they must not overlap.
// act: 0 none, 1 relu, 2 leaky_relu (slope), 3 sigmoid, 4 tanh (Activation.Kind ordinals).
// Vectorised when cols % 4 == 0 and in, out and the non-NULL scale/shift are 16-byte aligned.
extern "C" __global__ void __launch_bounds__(RMTL_BLOCK)
affine_act(float* out, const float* in, const float* __restrict__ scale, const float* __restrict__ shift,
           long long rows, int cols, int act, float slope)
{
    if (rows <= 0 || cols <= 0) return;
    const bool fits = rmtl_fits32(rows * cols);
    if (cols % 4 == 0 && rmtl_aligned16(out) && rmtl_aligned16(in) && (scale == nullptr || rmtl_aligned16(scale)) &&
        (shift == nullptr || rmtl_aligned16(shift))) {
        if (fits) affine_act_impl<4, unsigned>(out, in, scale, shift, rows, cols, act, slope);
        else affine_act_impl<4, long long>(out, in, scale, shift, rows, cols, act, slope);
    } else {
        if (fits) affine_act_impl<1, unsigned>(out, in, scale, shift, rows, cols, act, slope);
        else affine_act_impl<1, long long>(out, in, scale, shift, rows, cols, act, slope);
    }
}

// The bulk as float4s (V = 4) or all of it as floats (V = 1); with V = 4 the n % 4 trailing
// elements are done by the first threads as floats. Plain loads and stores: out may alias a or b.
template <int V, typename I>
static __device__ __forceinline__ void add_act_impl(float* out, const float* a, const float* b, long long n, int act, float slope)
{
    typedef typename rmtl_vec<V>::type vec_t;
    vec_t* out_v = reinterpret_cast<vec_t*>(out);
    const vec_t* a_v = reinterpret_cast<const vec_t*>(a);
    const vec_t* b_v = reinterpret_cast<const vec_t*>(b);
    const I nv = (I)(n / V);
    for (I idx = rmtl_gtid<I>(); idx < nv; idx += rmtl_gstride<I>()) {
        const vec_t x = a_v[idx], y = b_v[idx];
        if constexpr (V == 4) out_v[idx] = rmtl_act(make_float4(x.x + y.x, x.y + y.y, x.z + y.z, x.w + y.w), act, slope);
        else out_v[idx] = rmtl_act(x + y, act, slope);
    }
    if constexpr (V == 4) {
        const I tail = (I)n - nv * 4;
        const I t = rmtl_gtid<I>();
        if (t < tail) {
            const I i = nv * 4 + t;
            out[i] = rmtl_act(a[i] + b[i], act, slope);
        }
    }
}

// a, b, out (n): out[i] = act(a[i] + b[i]) (act codes as affine_act). out may alias a or b (exactly:
// the same pointer), otherwise no overlap. Vectorised when a, b and out are 16-byte aligned.
extern "C" __global__ void __launch_bounds__(RMTL_BLOCK)
add_act(float* out, const float* a, const float* b, long long n, int act, float slope)
{
    if (n <= 0) return;
    const bool fits = rmtl_fits32(n);
    if (rmtl_aligned16(out) && rmtl_aligned16(a) && rmtl_aligned16(b)) {
        if (fits) add_act_impl<4, unsigned>(out, a, b, n, act, slope);
        else add_act_impl<4, long long>(out, a, b, n, act, slope);
    } else {
        if (fits) add_act_impl<1, unsigned>(out, a, b, n, act, slope);
        else add_act_impl<1, long long>(out, a, b, n, act, slope);
    }
}
