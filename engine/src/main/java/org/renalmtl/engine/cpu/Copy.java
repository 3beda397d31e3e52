package org.renalmtl.engine.cpu;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemorySegment;

/**
 * Strided copy of up to 5 axes: CPU twin of {@code kernels/src/main/cuda/copy.cu} (same name, same
 * argument order). The IR's data movement that no library call covers: layout changes (NCDHW ↔
 * NDHWC through strides), slices (a segment starting at the slice), each input of a concat copied into
 * its channel slice of the output, reshapes between layouts (different dims on the two sides).
 */
public final class Copy {
    private Copy() {}

    /**
     * For every flat index {@code f} in {@code [0, count)}: {@code out[Σ coord_k(f; o) · os_k] = in[Σ
     * coord_k(f; i) · is_k]}, where {@code coord(f; o)} decomposes f row-major by the out dims
     * {@code o0..o4} ({@code o0} outermost) and {@code coord(f; i)} by the in dims. Strides are in
     * elements; a rank below 5 passes leading dims of 1. Bit-exact: each float's 32 bits are moved as
     * an int, so NaN payloads and −0 survive.
     *
     * @param out // the out dims (o0, o1, o2, o3, o4) at strides (os0, …, os4)
     * @param in // the in dims (i0, i1, i2, i3, i4) at strides (is0, …, is4)
     * @param count elements, {@code Π o = Π i}
     * @throws IllegalArgumentException if count is not the product of either side's dims
     */
    public static void copyNd(MemorySegment out, MemorySegment in, long count,
            int o0, int o1, int o2, int o3, int o4, long os0, long os1, long os2, long os3, long os4,
            int i0, int i1, int i2, int i3, int i4, long is0, long is1, long is2, long is3, long is4) {
        int[] od = {o0, o1, o2, o3, o4};
        long[] os = {os0, os1, os2, os3, os4};
        int[] id = {i0, i1, i2, i3, i4};
        long[] is = {is0, is1, is2, is3, is4};
        if (product(od) != count || product(id) != count) {
            throw new IllegalArgumentException("copy_nd of " + count + " elements: out dims multiply to " + product(od)
                    + ", in dims to " + product(id));
        }
        for (long f = 0; f < count; f++) {
            out.setAtIndex(JAVA_INT, offset(f, od, os), in.getAtIndex(JAVA_INT, offset(f, id, is)));
        }
    }

    private static long offset(long f, int[] d, long[] s) {
        long off = 0;
        for (int k = 4; k >= 0; k--) {
            off += f % d[k] * s[k];
            f /= d[k];
        }
        return off;
    }

    private static long product(int[] d) {
        long p = 1;
        for (int v : d) {
            p *= v;
        }
        return p;
    }
}
