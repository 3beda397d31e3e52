package org.renalmtl.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A named float32 tensor in off-heap memory, C order, with PyTorch's shape.
 *
 * @param name state_dict key
 * @param shape PyTorch shape, e.g. (out, in, kd, kh, kw) for a conv weight
 * @param data float32 values, native byte order; owned by the {@link WeightFile} or arena that made it
 */
public record Tensor(String name, long[] shape, MemorySegment data) {
    /** @return element count */
    public long elements() {
        return TensorLayout.elements(shape);
    }

    /** @return element i */
    public float get(long i) {
        return data.getAtIndex(ValueLayout.JAVA_FLOAT, i);
    }

    /** @return a heap copy of the values (for small tensors: head layers, BatchNorm vectors) */
    public float[] toArray() {
        return data.asSlice(0, elements() * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }
}
