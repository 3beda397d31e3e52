package org.renalmtl.engine.graph;

import java.util.Arrays;

/**
 * A tensor that flows between ops: a graph input or one op's output. Dense, row-major in its logical
 * shape; backends may store it in another layout (oneDNN blocked, cuDNN NDHWC) as long as the values
 * they hand out are these.
 *
 * @param id index in {@link Graph#values()}
 * @param name the producing node's name, or the graph input's
 * @param shape logical shape: (N, C, D, H, W) for volumes, (N, F) for vectors
 */
public record Value(int id, String name, long[] shape) {
    /** Copies the shape, so a value is immutable. */
    public Value {
        shape = shape.clone();
        for (long d : shape) {
            if (d < 1) {
                throw new IllegalArgumentException("value " + name + " has shape " + Arrays.toString(shape));
            }
        }
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** @return extent of axis {@code i} */
    public long dim(int i) {
        return shape[i];
    }

    /** @return number of axes */
    public int rank() {
        return shape.length;
    }

    /** @return element count (float32 elements: every value is float32) */
    public long elements() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /**
     * @param shape extents
     * @return element strides of the dense row-major layout of {@code shape}: the layout of graph inputs
     *     and outputs, and the one every schedule offset is counted in
     */
    public static long[] rowMajorStrides(long[] shape) {
        long[] s = new long[shape.length];
        long step = 1;
        for (int a = shape.length - 1; a >= 0; a--) {
            s[a] = step;
            step = Math.multiplyExact(step, shape[a]);
        }
        return s;
    }

    /** @return bytes in the dense float32 layout */
    public long bytes() {
        return Math.multiplyExact(elements(), (long) Float.BYTES);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Value v && v.id == id && v.name.equals(name) && Arrays.equals(v.shape, shape);
    }

    @Override
    public int hashCode() {
        return 31 * id + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }
}
