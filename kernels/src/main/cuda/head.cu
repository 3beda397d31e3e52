// Head kernels: the elementwise and gating steps around the cuBLAS GEMMs of the PLE experts,
// gates and towers (and of the STDL MLP head). All tensors are small (batch x a few hundred), so
// these kernels are launch-bound: each is a single pass with no shared memory and no barrier.
//
// Launch (see launch.cuh): block 256 threads; grid
//   bias_act         : ceil(rows * cols / 256)
//   gate_softmax_mix : ceil(batch * width / 256)
//   sigmoid          : ceil(n / 256)
//   gate_mix         : ceil(batch * width / 256)
// (cap at 32 x SMs; grid-stride loops cover the rest).
#include "launch.cuh"

template <int V, typename I>
static __device__ __forceinline__ void bias_act_impl(
    float* __restrict__ x, const float* __restrict__ bias, int rows, int cols, int relu)
{
    typedef typename rmtl_vec<V>::type vec_t;
    vec_t* xv = reinterpret_cast<vec_t*>(x);
    const vec_t* bv = reinterpret_cast<const vec_t*>(bias);
    const I colsv = (I)(cols / V);
    const I total = (I)rows * colsv;
    for (I idx = rmtl_gtid<I>(); idx < total; idx += rmtl_gstride<I>()) {
        const vec_t b = __ldg(bv + idx % colsv);
        vec_t v = xv[idx];
        if constexpr (V == 4) {
            v.x += b.x; v.y += b.y; v.z += b.z; v.w += b.w;
            if (relu) { v.x = rmtl_relu(v.x); v.y = rmtl_relu(v.y); v.z = rmtl_relu(v.z); v.w = rmtl_relu(v.w); }
        } else {
            v += b;
            if (relu) v = rmtl_relu(v);
        }
        xv[idx] = v;
    }
}

// x (rows, cols), in place: x[r, j] += bias[j], then ReLU when relu != 0 (NaN stays NaN).
// Vectorised when cols % 4 == 0 and x, bias are 16-byte aligned.
extern "C" __global__ void __launch_bounds__(RMTL_BLOCK)
bias_act(float* __restrict__ x, const float* __restrict__ bias, int rows, int cols, int relu)
{
    const bool fits = rmtl_fits32((long long)rows * cols);
    if (cols % 4 == 0 && rmtl_aligned16(x) && rmtl_aligned16(bias)) {
        if (fits) bias_act_impl<4, unsigned>(x, bias, rows, cols, relu);
        else bias_act_impl<4, long long>(x, bias, rows, cols, relu);
    } else {
        if (fits) bias_act_impl<1, unsigned>(x, bias, rows, cols, relu);
        else bias_act_impl<1, long long>(x, bias, rows, cols, relu);
    }
}

// Softmax over one gate's logits (max-subtracted), as the V lanes of one thread see them: every
// thread of case b recomputes the same nsel weights in the same order, so they agree bit for bit
// and no shared memory or barrier is needed (nsel is at most T*m + s, a handful).
template <int V>
static __device__ __forceinline__ void gate_mix_impl(
    float* __restrict__ out, const float* __restrict__ logits, const float* __restrict__ experts,
    const int* __restrict__ sel, int batch, int width, int nsel, int out_row_stride)
{
    typedef typename rmtl_vec<V>::type vec_t;
    const int wv = width / V;
    // batch * width is a few thousand at most (cases x expert width): 32-bit indices suffice for
    // the division; the expert and output addresses below are formed in 64 bits.
    const unsigned total = (unsigned)batch * (unsigned)wv;
    for (unsigned idx = rmtl_gtid<unsigned>(); idx < total; idx += rmtl_gstride<unsigned>()) {
        const int b = (int)(idx / (unsigned)wv);
        const int jv = (int)(idx - (unsigned)b * (unsigned)wv);
        const float* l = logits + (long long)b * nsel;
        float mx = -INFINITY;
        for (int i = 0; i < nsel; ++i) mx = rmtl_nanmax(mx, __ldg(l + i));
        float sum = 0.0f;
        for (int i = 0; i < nsel; ++i) sum += expf(__ldg(l + i) - mx);
        float acc[V];
#pragma unroll
        for (int k = 0; k < V; ++k) acc[k] = 0.0f;
        for (int i = 0; i < nsel; ++i) {
            const float g = expf(__ldg(l + i) - mx) / sum;
            const long long e = __ldg(sel + i);
            const vec_t xv = __ldg(reinterpret_cast<const vec_t*>(experts + (e * batch + b) * (long long)width) + jv);
            if constexpr (V == 4) {
                acc[0] += g * xv.x; acc[1] += g * xv.y; acc[2] += g * xv.z; acc[3] += g * xv.w;
            } else {
                acc[0] += g * xv;
            }
        }
        float* o = out + (long long)b * out_row_stride + (long long)jv * V;
        if constexpr (V == 4) *reinterpret_cast<float4*>(o) = make_float4(acc[0], acc[1], acc[2], acc[3]);
        else o[0] = acc[0];
    }
}

// For each case b: g = softmax(logits[b, 0..nsel-1]); out[b * out_row_stride + j] =
// sum_i g[i] * experts[sel[i], b, j]. logits (batch, nsel); experts (E, batch, width); sel (nsel)
// indices into E (the task's own experts, then the shared ones). Vectorised over j when width and
// out_row_stride are multiples of 4 and out, experts are 16-byte aligned.
extern "C" __global__ void __launch_bounds__(RMTL_BLOCK)
gate_softmax_mix(float* __restrict__ out, const float* __restrict__ logits,
                 const float* __restrict__ experts, const int* __restrict__ sel,
                 int batch, int width, int nsel, int out_row_stride)
{
    if (width % 4 == 0 && out_row_stride % 4 == 0 && rmtl_aligned16(out) && rmtl_aligned16(experts))
        gate_mix_impl<4>(out, logits, experts, sel, batch, width, nsel, out_row_stride);
    else
        gate_mix_impl<1>(out, logits, experts, sel, batch, width, nsel, out_row_stride);
}

// out[i] = 1 / (1 + exp(-in[i])) for i < n. out may equal in. n is batch x tasks, so the loop
// is scalar: there is nothing to vectorise. Grid of at most 2^31 threads (idx + stride never wraps).
extern "C" __global__ void __launch_bounds__(RMTL_BLOCK)
sigmoid(float* out, const float* in, int n)
{
    for (unsigned idx = rmtl_gtid<unsigned>(); idx < (unsigned)max(n, 0); idx += rmtl_gstride<unsigned>())
        out[idx] = rmtl_sigmoid(in[idx]);
}

// One output float4 (V = 4) or float (V = 1) per thread; each thread recomputes its case's e softmax
// weights in the same order (identical values across threads, no shared memory or barrier; e is a
// handful). Expert pointers are read from the device array once per weight.
template <int V, typename I>
static __device__ __forceinline__ void gate_mix_ptrs_impl(
    float* __restrict__ out, const float* __restrict__ logits, const float* const* __restrict__ experts,
    int batch, int width, int e)
{
    typedef typename rmtl_vec<V>::type vec_t;
    const I wv = (I)(width / V);
    const I total = (I)batch * wv;
    vec_t* out_v = reinterpret_cast<vec_t*>(out);
    for (I idx = rmtl_gtid<I>(); idx < total; idx += rmtl_gstride<I>()) {
        const I b = idx / wv;
        const I jv = idx - b * wv;
        const float* l = logits + b * (I)e;
        float mx = -INFINITY;
        for (int k = 0; k < e; ++k) mx = rmtl_nanmax(mx, __ldg(l + k));
        float sum = 0.0f;
        for (int k = 0; k < e; ++k) sum += expf(__ldg(l + k) - mx);
        float acc[V];
#pragma unroll
        for (int q = 0; q < V; ++q) acc[q] = 0.0f;
        for (int k = 0; k < e; ++k) {
            const float g = expf(__ldg(l + k) - mx) / sum;
            const vec_t x = __ldg(reinterpret_cast<const vec_t*>(experts[k] + b * (I)width) + jv);
            if constexpr (V == 4) {
                acc[0] += g * x.x; acc[1] += g * x.y; acc[2] += g * x.z; acc[3] += g * x.w;
            } else {
                acc[0] += g * x;
            }
        }
        if constexpr (V == 4) out_v[idx] = make_float4(acc[0], acc[1], acc[2], acc[3]);
        else out_v[idx] = acc[0];
    }
}

// The graph IR's GateMix. Per case b: g = softmax(logits[b, 0..e-1]) (max-subtracted; a NaN logit makes
// the case's outputs NaN), out[b, j] = sum_i g[i] * experts[i][b * width + j]. logits (batch, e), out
// (batch, width) dense; experts is a DEVICE array of e pointers, each to a (batch, width) row-major
// tensor (the experts need not be adjacent). Vectorised over j when width % 4 == 0 and out and every
// expert pointer are 16-byte aligned. Precondition: e >= 1, out overlaps no input.
// Declared for 4 resident blocks (at most 64 registers): with the plain bound ptxas gave sm_80 fewer
// registers and spilled to a stack frame, as for maxpool3d_ndhwc.
extern "C" __global__ void __launch_bounds__(RMTL_BLOCK, 4)
gate_mix(float* __restrict__ out, const float* __restrict__ logits, const float* const* __restrict__ experts,
         int batch, int width, int e)
{
    if (batch <= 0 || width <= 0 || e <= 0) return;
    bool vec = width % 4 == 0 && rmtl_aligned16(out);
    for (int k = 0; k < e && vec; ++k) vec = rmtl_aligned16(experts[k]);
    const long long outElems = (long long)batch * width, logitElems = (long long)batch * e;
    const bool fits = rmtl_fits32(outElems > logitElems ? outElems : logitElems);
    if (vec) {
        if (fits) gate_mix_ptrs_impl<4, unsigned>(out, logits, experts, batch, width, e);
        else gate_mix_ptrs_impl<4, long long>(out, logits, experts, batch, width, e);
    } else {
        if (fits) gate_mix_ptrs_impl<1, unsigned>(out, logits, experts, batch, width, e);
        else gate_mix_ptrs_impl<1, long long>(out, logits, experts, batch, width, e);
    }
}
