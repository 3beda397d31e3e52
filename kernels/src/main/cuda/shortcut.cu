// Residual shortcut kernels over NDHWC activations.
//
// Launch (see launch.cuh): block 256 threads; grid ceil(n * od * oh * ow * cout / V / 256), V = 4
// when cin % 4 == 0, cout % 4 == 0 and both pointers are 16-byte aligned, else 1
// (ceil(n*od*oh*ow*cout/256) is always enough); cap at 32 x SMs.
#include "launch.cuh"

// One thread per output element (V = 1) or per 4 consecutive output channels (V = 4). Output
// writes are fully coalesced; input reads are coalesced within each voxel's channel run.
template <int V, typename I>
static __device__ __forceinline__ void shortcut_a_impl(
    float* __restrict__ out, const float* __restrict__ in,
    int n, int d, int h, int w, int cin, int od, int oh, int ow, int cout, int stride)
{
    typedef typename rmtl_vec<V>::type vec_t;
    const int cinv = cin / V, coutv = cout / V;
    const vec_t* in_v = reinterpret_cast<const vec_t*>(in);
    vec_t* out_v = reinterpret_cast<vec_t*>(out);
    const I total = (I)n * od * oh * ow * coutv;
    for (I idx = rmtl_gtid<I>(); idx < total; idx += rmtl_gstride<I>()) {
        I p = idx / coutv;
        const int cvi = (int)(idx - p * coutv);
        vec_t v = rmtl_splat<vec_t>(0.0f);  // channels cin..cout-1 are zero padding
        if (cvi < cinv) {
            const I x = p % ow; p /= ow;
            const I y = p % oh; p /= oh;
            const I z = p % od;
            const I i = p / od;
            v = __ldg(in_v + (((i * d + z * stride) * h + y * stride) * w + x * stride) * cinv + cvi);
        }
        out_v[idx] = v;
    }
}

template <int V>
static __device__ __forceinline__ void shortcut_a_dispatch(
    float* __restrict__ out, const float* __restrict__ in,
    int n, int d, int h, int w, int cin, int od, int oh, int ow, int cout, int stride)
{
    const long long inElems = (long long)n * d * h * w * cin;
    const long long outElems = (long long)n * od * oh * ow * cout;
    if (rmtl_fits32(inElems > outElems ? inElems : outElems))
        shortcut_a_impl<V, unsigned>(out, in, n, d, h, w, cin, od, oh, ow, cout, stride);
    else
        shortcut_a_impl<V, long long>(out, in, n, d, h, w, cin, od, oh, ow, cout, stride);
}

// MedicalNet's type-A shortcut: out[i, z, y, x, ch] = in[i, z*stride, y*stride, x*stride, ch] for
// ch < cin and 0 for cin <= ch < cout. in (n, d, h, w, cin) -> out (n, od, oh, ow, cout); the caller
// gives od = floor((d - 1) / stride) + 1 (PyTorch avg_pool3d with kernel 1), likewise oh, ow.
// Precondition: cout >= cin.
extern "C" __global__ void __launch_bounds__(RMTL_BLOCK)
shortcut_a_ndhwc(float* __restrict__ out, const float* __restrict__ in,
                 int n, int d, int h, int w, int cin, int od, int oh, int ow, int cout, int stride)
{
    if (cin % 4 == 0 && cout % 4 == 0 && rmtl_aligned16(in) && rmtl_aligned16(out))
        shortcut_a_dispatch<4>(out, in, n, d, h, w, cin, od, oh, ow, cout, stride);
    else
        shortcut_a_dispatch<1>(out, in, n, d, h, w, cin, od, oh, ow, cout, stride);
}
