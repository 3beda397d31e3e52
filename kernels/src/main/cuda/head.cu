// Head kernel: the PLE gates' softmax mix of expert outputs, between the cuBLAS GEMMs of the
// experts, gates and towers (the GEMMs' bias and activation run as affine_act, elementwise.cu).
// The tensors are small (batch x a few hundred), so the kernel is launch-bound: a single pass with
// no shared memory and no barrier.
//
// Launch (see launch.cuh): block 256 threads; grid
//   gate_mix : ceil(batch * width / 256)
// (cap at 32 x SMs; grid-stride loops cover the rest).
#include "launch.cuh"

// One output float4 (V = 4) or float (V = 1) per thread; each thread recomputes its case's e softmax
// weights in the same order (identical values across threads, no shared memory or barrier; e is a
// handful). Expert pointers are read from the device array once per weight.
template <int V, typename I>
static __device__ __forceinline__ void gate_mix_impl(
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
        if (fits) gate_mix_impl<4, unsigned>(out, logits, experts, batch, width, e);
        else gate_mix_impl<4, long long>(out, logits, experts, batch, width, e);
    } else {
        if (fits) gate_mix_impl<1, unsigned>(out, logits, experts, batch, width, e);
        else gate_mix_impl<1, long long>(out, logits, experts, batch, width, e);
    }
}
