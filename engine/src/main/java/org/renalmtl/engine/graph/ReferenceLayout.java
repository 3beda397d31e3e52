package org.renalmtl.engine.graph;

import java.util.Arrays;

/**
 * The ops of {@link Reference} that only move elements: concatenation, slicing, reshaping and the
 * type-A shortcut. Their outputs are copies of input elements (or zeros), bit for bit.
 */
public final class ReferenceLayout {
    private ReferenceLayout() {}

    /**
     * Concatenation along axis 1.
     *
     * @param xs two or more arrays, each dense in its shape
     * @param shapes their shapes: one rank, equal except on axis 1
     * @return // shape of xs[0] with axis 1 the sum of theirs
     */
    public static float[] concat(float[][] xs, long[][] shapes) {
        if (xs.length != shapes.length) {
            throw new IllegalArgumentException(xs.length + " arrays but " + shapes.length + " shapes");
        }
        long[] yShape = new Op.Concat().outputShape(shapes, Reference::noConstants);
        for (int i = 0; i < xs.length; i++) {
            Reference.checkLength("input " + i, xs[i], shapes[i]);
        }
        int outer = (int) yShape[0];
        float[] y = new float[Reference.size(yShape)];
        int o = 0;
        for (int n = 0; n < outer; n++) {
            for (float[] x : xs) {
                int block = x.length / outer; // this input's (C_i, …) of one sample
                System.arraycopy(x, n * block, y, o, block);
                o += block;
            }
        }
        return y;
    }

    /**
     * Elements {@code [start, start + length)} of one axis.
     *
     * @param x // shape
     * @return // shape with {@code shape[axis] = length}
     */
    public static float[] slice(float[] x, long[] shape, Op.Slice op) {
        long[] yShape = op.outputShape(new long[][] {shape}, Reference::noConstants);
        Reference.checkLength("x", x, shape);
        int outer = (int) Shapes.elements(Arrays.copyOfRange(shape, 0, op.axis()));
        int inner = (int) Shapes.elements(Arrays.copyOfRange(shape, op.axis() + 1, shape.length));
        int axis = (int) shape[op.axis()];
        int block = (int) op.length() * inner; // the kept run of one outer index
        float[] y = new float[Reference.size(yShape)];
        for (int o = 0; o < outer; o++) {
            System.arraycopy(x, (o * axis + (int) op.start()) * inner, y, o * block, block);
        }
        return y;
    }

    /**
     * The same elements under another shape (a copy).
     *
     * @param x // shape
     * @return // {@code op.shape()}
     */
    public static float[] reshape(float[] x, long[] shape, Op.Reshape op) {
        op.outputShape(new long[][] {shape}, Reference::noConstants);
        Reference.checkLength("x", x, shape);
        return x.clone();
    }

    /**
     * The type-A ResNet shortcut: PyTorch's {@code avg_pool3d(x, kernel_size=1, stride=s)} (every s-th
     * voxel on each axis, from the first), then channels {@code C … op.channels()-1} all zero.
     *
     * @param x // (N, C, D, H, W)
     * @return // (N, op.channels(), ⌊(D-1)/s⌋+1, ⌊(H-1)/s⌋+1, ⌊(W-1)/s⌋+1)
     */
    public static float[] shortcutA(float[] x, long[] xShape, Op.ShortcutA op) {
        long[] yShape = op.outputShape(new long[][] {xShape}, Reference::noConstants);
        Reference.checkLength("x", x, xShape);
        int s = op.stride();
        int inChannels = (int) xShape[1];
        int[] in = {(int) xShape[2], (int) xShape[3], (int) xShape[4]};
        int[] out = {(int) yShape[2], (int) yShape[3], (int) yShape[4]};
        int outVolume = out[0] * out[1] * out[2];
        float[] y = new float[Reference.size(yShape)]; // the padded channels stay 0
        for (int n = 0; n < (int) xShape[0]; n++) {
            for (int c = 0; c < inChannels; c++) {
                int xBase = (n * inChannels + c) * in[0] * in[1] * in[2];
                int o = (n * op.channels() + c) * outVolume;
                for (int d = 0; d < out[0]; d++) {
                    for (int h = 0; h < out[1]; h++) {
                        for (int w = 0; w < out[2]; w++) {
                            y[o++] = x[xBase + ((d * s) * in[1] + h * s) * in[2] + w * s];
                        }
                    }
                }
            }
        }
        return y;
    }
}
