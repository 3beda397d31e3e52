package org.renalmtl.engine.cuda;

import java.util.Arrays;
import org.renalmtl.engine.graph.Value;

/**
 * Where a value of a graph lives on the device and how its elements are laid out: the address of
 * element 0 and, per logical axis (N, C, D, H, W for a volume), the extent and the element stride.
 * Volumes are channels-last (NDHWC) on this backend; a row of a concat slice has a stride above its
 * width. Made at bind time; kernels turn it into descriptors and launch arguments once.
 *
 * @param address device address of element 0
 * @param dims logical extents
 * @param strides element strides per logical axis
 */
record DeviceTensor(long address, long[] dims, long[] strides) {
    /** Copies the arrays. */
    DeviceTensor {
        if (dims.length != strides.length) {
            throw new IllegalArgumentException("dims " + Arrays.toString(dims) + " with strides " + Arrays.toString(strides));
        }
        dims = dims.clone();
        strides = strides.clone();
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    @Override
    public long[] strides() {
        return strides.clone();
    }

    /** @return the number of axes */
    int rank() {
        return dims.length;
    }

    /** @return extent of axis {@code a} */
    long dim(int a) {
        return dims[a];
    }

    /** @return element stride of axis {@code a} */
    long stride(int a) {
        return strides[a];
    }

    /** @return D·H·W of a volume */
    long spatial() {
        return dims[2] * dims[3] * dims[4];
    }

    /** @return elements */
    long elements() {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    /** @return whether the elements are dense channels-last: (N, D, H, W, C) for a volume, row-major otherwise */
    boolean channelsLastDense() {
        return Arrays.equals(strides, dims.length == 5 ? channelsLast(dims) : Value.rowMajorStrides(dims));
    }

    /** @return dense channels-last strides of a volume's logical (N, C, D, H, W) axes */
    static long[] channelsLast(long[] ncdhw) {
        long c = ncdhw[1];
        long w = ncdhw[4];
        long h = ncdhw[3];
        long d = ncdhw[2];
        return new long[] {d * h * w * c, 1, h * w * c, w * c, c};
    }


    @Override
    public String toString() {
        return "0x" + Long.toHexString(address) + Arrays.toString(dims) + "/" + Arrays.toString(strides);
    }
}
