// Strided copy of up to 5 axes: the data movement of the graph IR that no library call covers
// (layout changes NCDHW <-> NDHWC through strides, slices through a pointer offset, each input of a
// concat into its channel slice of the output, reshapes between layouts through different dim sets).
//
// Launch (see launch.cuh): block 256 threads; grid ceil(count / 256), capped at 32 x SMs (the
// grid-stride loop covers the rest; when the float4 path applies a quarter of that grid suffices,
// the surplus threads exit at once).
#include "launch.cuh"

// Closes an axis group: shifts the groups closed so far one place left and appends (cd, cs) last, so that
// the merged axes end up innermost-last as row-major order wants.
template <int S>
static __device__ __forceinline__ void rmtl_append_group(long long (&od)[5], long long (&os)[S][5], long long cd,
                                                         const long long (&cs)[S]) {
#pragma unroll
    for (int q = 0; q < 4; ++q) {
        od[q] = od[q + 1];
#pragma unroll
        for (int j = 0; j < S; ++j) os[j][q] = os[j][q + 1];
    }
    od[4] = cd;
#pragma unroll
    for (int j = 0; j < S; ++j) os[j][4] = cs[j];
}

// Normalises a set of axes (dims d, outermost first, and S stride sets over the same dims) in place:
// axes of size 1 are dropped and neighbouring axes that are contiguous in every stride set (outer
// stride = inner stride x inner dim) merge into one, and the result is right-aligned (leading axes of
// size 1). A dense copy becomes one axis, a concat input's copy into its channel slice two (voxels x
// channels). Every index below is a compile-time constant after unrolling, so the arrays stay in
// registers (no stack frame); the conditional shifts compile to selects.
template <int S>
static __device__ __forceinline__ void rmtl_merge_axes(long long (&d)[5], long long (&st)[S][5]) {
    long long od[5] = {1, 1, 1, 1, 1};
    long long os[S][5];
#pragma unroll
    for (int j = 0; j < S; ++j) {
#pragma unroll
        for (int k = 0; k < 5; ++k) os[j][k] = 0;
    }
    bool have = false;  // a group is open: dim cd, strides cs (those of its innermost member)
    long long cd = 1;
    long long cs[S];
#pragma unroll
    for (int j = 0; j < S; ++j) cs[j] = 0;
#pragma unroll
    for (int k = 0; k < 5; ++k) {
        if (d[k] == 1) continue;
        bool merge = have;
#pragma unroll
        for (int j = 0; j < S; ++j) merge = merge && cs[j] == st[j][k] * d[k];
        if (merge) {
            cd *= d[k];
#pragma unroll
            for (int j = 0; j < S; ++j) cs[j] = st[j][k];
        } else {
            if (have) rmtl_append_group<S>(od, os, cd, cs);
            cd = d[k];
#pragma unroll
            for (int j = 0; j < S; ++j) cs[j] = st[j][k];
            have = true;
        }
    }
    if (have) rmtl_append_group<S>(od, os, cd, cs);
#pragma unroll
    for (int k = 0; k < 5; ++k) {
        d[k] = od[k];
#pragma unroll
        for (int j = 0; j < S; ++j) st[j][k] = os[j][k];
    }
}

// The first axis of a right-aligned set that is not of size 1 (5 when there is none: one element).
static __device__ __forceinline__ int rmtl_first_axis(const long long (&d)[5]) {
    int first = 5;
#pragma unroll
    for (int k = 4; k >= 0; --k) if (d[k] != 1) first = k;
    return first;
}

// Offset of flat index f in a right-aligned axis set: f decomposed row-major by d (the outermost
// axis takes the quotient without a division), each coordinate times its stride.
template <typename I>
static __device__ __forceinline__ I rmtl_offset(I f, const I (&d)[5], const I (&s)[5], int first) {
    I off = 0;
#pragma unroll
    for (int k = 4; k >= 0; --k) {
        if (k > first) {
            const I q = f / d[k];
            off += (f - q * d[k]) * s[k];
            f = q;
        } else if (k == first) {
            off += f * s[k];
        }
    }
    return off;
}

// Same dims on both sides: one decomposition serves both offsets. T is float, or float4 when the
// innermost axis is contiguous on both sides and everything is a multiple of 4 (then d, strides and
// total are in float4 units).
template <typename T, typename I>
static __device__ __forceinline__ void copy_joint(
    T* __restrict__ out, const T* __restrict__ in, I total, const long long (&d)[5], const long long (&st)[2][5], int first)
{
    I dd[5], so[5], si[5];
#pragma unroll
    for (int k = 0; k < 5; ++k) { dd[k] = (I)d[k]; so[k] = (I)st[0][k]; si[k] = (I)st[1][k]; }
    for (I f = rmtl_gtid<I>(); f < total; f += rmtl_gstride<I>()) {
        I rem = f, oo = 0, oi = 0;
#pragma unroll
        for (int k = 4; k >= 0; --k) {
            if (k > first) {
                const I q = rem / dd[k];
                const I c = rem - q * dd[k];
                oo += c * so[k];
                oi += c * si[k];
                rem = q;
            } else if (k == first) {
                oo += rem * so[k];
                oi += rem * si[k];
            }
        }
        out[oo] = __ldg(in + oi);
    }
}

// Different dims (a reshape across layouts): each side decomposes f by its own (merged) axes.
template <typename I>
static __device__ __forceinline__ void copy_split(
    float* __restrict__ out, const float* __restrict__ in, I total,
    const long long (&od)[5], const long long (&os)[1][5], const long long (&id)[5], const long long (&is)[1][5])
{
    I dO[5], sO[5], dI[5], sI[5];
#pragma unroll
    for (int k = 0; k < 5; ++k) { dO[k] = (I)od[k]; sO[k] = (I)os[0][k]; dI[k] = (I)id[k]; sI[k] = (I)is[0][k]; }
    const int fo = rmtl_first_axis(od), fi = rmtl_first_axis(id);
    for (I f = rmtl_gtid<I>(); f < total; f += rmtl_gstride<I>())
        out[rmtl_offset<I>(f, dO, sO, fo)] = __ldg(in + rmtl_offset<I>(f, dI, sI, fi));
}

template <typename I>
static __device__ __forceinline__ void copy_nd_dispatch(
    float* __restrict__ out, const float* __restrict__ in, long long count,
    const long long (&od)[5], const long long (&os)[5], const long long (&id)[5], const long long (&is)[5])
{
    bool same = true;
#pragma unroll
    for (int k = 0; k < 5; ++k) same = same && od[k] == id[k];
    if (same) {
        long long d[5], st[2][5];
#pragma unroll
        for (int k = 0; k < 5; ++k) { d[k] = od[k]; st[0][k] = os[k]; st[1][k] = is[k]; }
        rmtl_merge_axes<2>(d, st);
        const int first = rmtl_first_axis(d);
        bool vec = first <= 4 && st[0][4] == 1 && st[1][4] == 1 && d[4] % 4 == 0 && rmtl_aligned16(out) && rmtl_aligned16(in);
#pragma unroll
        for (int k = 0; k < 4; ++k) vec = vec && (k < first || (st[0][k] % 4 == 0 && st[1][k] % 4 == 0));
        if (vec) {
            d[4] /= 4;
#pragma unroll
            for (int k = 0; k < 4; ++k) { st[0][k] /= 4; st[1][k] /= 4; }
            copy_joint<float4, I>(reinterpret_cast<float4*>(out), reinterpret_cast<const float4*>(in), (I)(count / 4), d, st, first);
        } else {
            copy_joint<float, I>(out, in, (I)count, d, st, first);
        }
    } else {
        long long dO[5], sO[1][5], dI[5], sI[1][5];
#pragma unroll
        for (int k = 0; k < 5; ++k) { dO[k] = od[k]; sO[0][k] = os[k]; dI[k] = id[k]; sI[0][k] = is[k]; }
        rmtl_merge_axes<1>(dO, sO);
        rmtl_merge_axes<1>(dI, sI);
        copy_split<I>(out, in, (I)count, dO, sO, dI, sI);
    }
}

// For every flat index f in [0, count): out[sum_k coord_k(f; o) * os_k] = in[sum_k coord_k(f; i) * is_k],
// where coord(f; o) decomposes f row-major by the out dims o0..o4 (o0 outermost) and coord(f; i) by
// the in dims i0..i4. Strides are in elements. A rank below 5 passes leading dims of 1.
// Preconditions: count = prod(o) = prod(i); dims >= 1; strides >= 0; out and in do not overlap
// (in is read through the read-only cache); the out offsets of distinct f are distinct.
// Bit-exact data movement (NaN payloads and -0 included). Fast paths: equal dims on both sides take
// one decomposition, merged axes (a dense copy is one axis, no division), and float4 when the
// merged innermost axis is contiguous on both sides, its length and every outer stride are multiples
// of 4 and both pointers are 16-byte aligned. The 32-bit instantiation serves whenever count and
// every offset on either side are below 2^31.
extern "C" __global__ void __launch_bounds__(RMTL_BLOCK)
copy_nd(float* __restrict__ out, const float* __restrict__ in, long long count,
        int o0, int o1, int o2, int o3, int o4,
        long long os0, long long os1, long long os2, long long os3, long long os4,
        int i0, int i1, int i2, int i3, int i4,
        long long is0, long long is1, long long is2, long long is3, long long is4)
{
    if (count <= 0) return;
    const long long od[5] = {o0, o1, o2, o3, o4}, os[5] = {os0, os1, os2, os3, os4};
    const long long id[5] = {i0, i1, i2, i3, i4}, is[5] = {is0, is1, is2, is3, is4};
    long long span = count;  // one past the largest index formed: element count, or either side's last offset
    long long lastOut = 0, lastIn = 0;
#pragma unroll
    for (int k = 0; k < 5; ++k) { lastOut += (od[k] - 1) * os[k]; lastIn += (id[k] - 1) * is[k]; }
    span = max(span, max(lastOut, lastIn) + 1);
    if (rmtl_fits32(span)) copy_nd_dispatch<unsigned>(out, in, count, od, os, id, is);
    else copy_nd_dispatch<long long>(out, in, count, od, os, id, is);
}
