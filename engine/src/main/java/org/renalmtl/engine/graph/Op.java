package org.renalmtl.engine.graph;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * What a node computes. Every op has any number of inputs and one output, and names its constants
 * (weights) by their tensor names in the graph ({@link Graph#constant}); {@link #outputShape} is its
 * shape rule and the validation of its inputs. The definitions are PyTorch's (eval mode); each op's
 * plain Java twin is in {@code Reference}, the oracle every backend is tested against.
 */
public sealed interface Op {
    /** Looks up a constant's shape by name; throws if the graph has no such constant. */
    @FunctionalInterface
    interface ConstantShapes extends Function<String, long[]> {}

    /**
     * @param inputs the inputs' shapes, in order
     * @param constants shapes of the graph's constants
     * @return the output's shape
     * @throws IllegalArgumentException naming the mismatch, if the inputs or constants do not fit
     */
    long[] outputShape(long[][] inputs, ConstantShapes constants);

    /** @return the names of the constants this op reads (weights, biases, norm vectors), in no particular order */
    default List<String> constants() {
        List<String> names = switch (this) {
            case Conv3d c -> Arrays.asList(c.weight(), c.bias());
            case ConvTranspose3d c -> Arrays.asList(c.weight(), c.bias());
            case InstanceNorm3d n -> Arrays.asList(n.scale(), n.bias());
            case BatchNorm n -> Arrays.asList(n.scale(), n.bias(), n.mean(), n.variance());
            case Linear l -> Arrays.asList(l.weight(), l.bias());
            default -> List.of();
        };
        return names.stream().filter(Objects::nonNull).toList();
    }

    /**
     * {@code y = act(conv3d(x, weight) + bias [+ residual])}, PyTorch's {@code Conv3d} (groups 1) with a
     * fused epilogue. Inputs: x (N, Cin, D, H, W), then the residual (N, Cout, D', H', W') when
     * {@code residual}; a backend may write y over the residual (cuDNN's z, oneDNN's sum post-op).
     *
     * @param weight // (Cout, Cin, kd, kh, kw)
     * @param bias // (Cout), or null for none
     */
    record Conv3d(String weight, String bias, Dims3 stride, Dims3 padding, Dims3 dilation, boolean residual,
            Activation activation) implements Op {
        /** Validates the geometry. */
        public Conv3d {
            if (!stride.atLeast(1) || !padding.atLeast(0) || !dilation.atLeast(1)) {
                throw new IllegalArgumentException("conv stride " + stride + ", padding " + padding + ", dilation "
                        + dilation);
            }
        }

        @Override
        public long[] outputShape(long[][] in, ConstantShapes c) {
            Shapes.arity(this, in, residual ? 2 : 1);
            long[] x = Shapes.rank(this, in[0], 5);
            long[] w = Shapes.constant(c, weight, 5);
            Shapes.equal(this, "input channels", x[1], w[1]);
            Shapes.bias(c, bias, w[0]);
            long[] y = {x[0], w[0], 0, 0, 0};
            for (int a = 0; a < 3; a++) {
                long span = dilation.get(a) * (w[2 + a] - 1) + 1;
                y[2 + a] = Math.floorDiv(x[2 + a] + 2L * padding.get(a) - span, stride.get(a)) + 1;
            }
            Shapes.positive(this, y);
            if (residual) {
                Shapes.sameShape(this, "residual", in[1], y);
            }
            return y;
        }

        @Override
        public String toString() {
            return "conv3d(stride " + stride + ", pad " + padding + (dilation.equals(Dims3.of(1)) ? "" : ", dil " + dilation)
                    + (residual ? ", +residual" : "") + ", " + activation + ")";
        }
    }

    /**
     * PyTorch's {@code ConvTranspose3d} (groups 1, dilation 1), then the activation: nnU-Net's upsampling,
     * kernel = stride, no padding. Input x (N, Cin, D, H, W); output spatial {@code (i-1)·s - 2p + k + op}.
     *
     * @param weight // (Cin, Cout, kd, kh, kw), PyTorch's order for a transposed conv
     * @param bias // (Cout), or null
     * @param outputPadding added on the far side of each axis, less than the stride
     */
    record ConvTranspose3d(String weight, String bias, Dims3 stride, Dims3 padding, Dims3 outputPadding,
            Activation activation) implements Op {
        /** Validates the geometry. */
        public ConvTranspose3d {
            if (!stride.atLeast(1) || !padding.atLeast(0) || !outputPadding.atLeast(0) || outputPadding.d() >= stride.d()
                    || outputPadding.h() >= stride.h() || outputPadding.w() >= stride.w()) {
                throw new IllegalArgumentException("transposed conv stride " + stride + ", padding " + padding
                        + ", output padding " + outputPadding);
            }
        }

        @Override
        public long[] outputShape(long[][] in, ConstantShapes c) {
            Shapes.arity(this, in, 1);
            long[] x = Shapes.rank(this, in[0], 5);
            long[] w = Shapes.constant(c, weight, 5);
            Shapes.equal(this, "input channels", x[1], w[0]);
            Shapes.bias(c, bias, w[1]);
            long[] y = {x[0], w[1], 0, 0, 0};
            for (int a = 0; a < 3; a++) {
                y[2 + a] = (x[2 + a] - 1) * stride.get(a) - 2L * padding.get(a) + w[2 + a] + outputPadding.get(a);
            }
            return Shapes.positive(this, y);
        }

        @Override
        public String toString() {
            return "conv_transpose3d(stride " + stride + ", pad " + padding + ", " + activation + ")";
        }
    }

    /**
     * PyTorch's {@code InstanceNorm3d} (statistics of each (sample, channel) over D·H·W, biased variance,
     * no running statistics), affine when {@code scale} is given, then the activation. Same shape out.
     *
     * @param scale // (C), or null with {@code bias} null: not affine
     * @param bias // (C), or null
     */
    record InstanceNorm3d(String scale, String bias, float eps, Activation activation) implements Op {
        /** Validates: affine means both or neither, and eps is positive. */
        public InstanceNorm3d {
            if ((scale == null) != (bias == null) || !(eps > 0)) {
                throw new IllegalArgumentException("instance norm needs scale and bias together and eps > 0");
            }
        }

        @Override
        public long[] outputShape(long[][] in, ConstantShapes c) {
            Shapes.arity(this, in, 1);
            long[] x = Shapes.rank(this, in[0], 5);
            if (scale != null) {
                Shapes.equal(this, "scale length", Shapes.constant(c, scale, 1)[0], x[1]);
                Shapes.equal(this, "bias length", Shapes.constant(c, bias, 1)[0], x[1]);
            }
            return x.clone();
        }

        @Override
        public String toString() {
            return "instance_norm3d(eps " + eps + (scale == null ? "" : ", affine") + ", " + activation + ")";
        }
    }

    /**
     * PyTorch's {@code BatchNorm1d/3d} in eval mode, {@code act((x - mean) / sqrt(var + eps) · scale + bias)}
     * over channel axis 1, then the activation. Builders emit it as the checkpoint has it; the
     * {@code FoldBatchNorm} pass folds it into the conv or Linear before it, so backends rarely see it.
     *
     * @param scale // (C) gamma
     * @param bias // (C) beta
     * @param mean // (C) running mean
     * @param variance // (C) running variance
     */
    record BatchNorm(String scale, String bias, String mean, String variance, float eps, Activation activation)
            implements Op {
        @Override
        public long[] outputShape(long[][] in, ConstantShapes c) {
            Shapes.arity(this, in, 1);
            long[] x = in[0];
            if (x.length != 2 && x.length != 5) {
                throw new IllegalArgumentException("batch norm expects (N, C) or (N, C, D, H, W), got "
                        + Arrays.toString(x));
            }
            for (String t : new String[] {scale, bias, mean, variance}) {
                Shapes.equal(this, t + " length", Shapes.constant(c, t, 1)[0], x[1]);
            }
            return x.clone();
        }

        @Override
        public String toString() {
            return "batch_norm(eps " + eps + ", " + activation + ")";
        }
    }

    /**
     * PyTorch's {@code MaxPool3d} (floor mode, dilation 1): padded cells never win.
     */
    record MaxPool3d(Dims3 kernel, Dims3 stride, Dims3 padding) implements Op {
        /** Validates the geometry (PyTorch: padding at most half the kernel). */
        public MaxPool3d {
            if (!kernel.atLeast(1) || !stride.atLeast(1) || !padding.atLeast(0) || 2 * padding.d() > kernel.d()
                    || 2 * padding.h() > kernel.h() || 2 * padding.w() > kernel.w()) {
                throw new IllegalArgumentException("max pool kernel " + kernel + ", stride " + stride + ", padding "
                        + padding);
            }
        }

        @Override
        public long[] outputShape(long[][] in, ConstantShapes c) {
            Shapes.arity(this, in, 1);
            long[] x = Shapes.rank(this, in[0], 5);
            long[] y = {x[0], x[1], 0, 0, 0};
            for (int a = 0; a < 3; a++) {
                y[2 + a] = Math.floorDiv(x[2 + a] + 2L * padding.get(a) - kernel.get(a), stride.get(a)) + 1;
            }
            return Shapes.positive(this, y);
        }

        @Override
        public String toString() {
            return "max_pool3d(kernel " + kernel + ", stride " + stride + ", pad " + padding + ")";
        }
    }

    /** Mean over D, H, W: (N, C, D, H, W) → (N, C). */
    record GlobalAvgPool() implements Op {
        @Override
        public long[] outputShape(long[][] in, ConstantShapes c) {
            Shapes.arity(this, in, 1);
            long[] x = Shapes.rank(this, in[0], 5);
            return new long[] {x[0], x[1]};
        }

        @Override
        public String toString() {
            return "global_avg_pool";
        }
    }

    /**
     * Concatenation along the channel axis (1) of two or more inputs of one rank whose other axes agree:
     * nnU-Net's skip connections, the fused features of several phases. The schedule lets producers write
     * straight into their slice.
     */
    record Concat() implements Op {
        @Override
        public long[] outputShape(long[][] in, ConstantShapes c) {
            if (in.length < 2) {
                throw new IllegalArgumentException("concat needs at least 2 inputs, got " + in.length);
            }
            long[] y = in[0].clone();
            if (y.length < 2) {
                throw new IllegalArgumentException("concat needs a channel axis, got " + Arrays.toString(y));
            }
            for (int i = 1; i < in.length; i++) {
                long[] x = in[i];
                boolean fits = x.length == y.length;
                for (int a = 0; fits && a < x.length; a++) {
                    fits = a == 1 || x[a] == y[a];
                }
                if (!fits) {
                    throw new IllegalArgumentException("concat input " + i + " has shape " + Arrays.toString(x)
                            + ", input 0 has " + Arrays.toString(in[0]) + " (only axis 1 may differ)");
                }
                y[1] += x[1];
            }
            return y;
        }

        @Override
        public String toString() {
            return "concat(axis 1)";
        }
    }

    /**
     * {@code y = act(x · weightᵀ + bias)}, PyTorch's {@code Linear}: (N, in) → (N, out).
     *
     * @param weight // (out, in)
     * @param bias // (out), or null
     */
    record Linear(String weight, String bias, Activation activation) implements Op {
        @Override
        public long[] outputShape(long[][] in, ConstantShapes c) {
            Shapes.arity(this, in, 1);
            long[] x = Shapes.rank(this, in[0], 2);
            long[] w = Shapes.constant(c, weight, 2);
            Shapes.equal(this, "input width", x[1], w[1]);
            Shapes.bias(c, bias, w[0]);
            return new long[] {x[0], w[0]};
        }

        @Override
        public String toString() {
            return "linear(" + activation + ")";
        }
    }

    /**
     * A PLE gate's mixing: {@code y = Σ_e softmax(logits)_e · expert_e}, per sample. Inputs: the gate's
     * logits (N, E), then the E experts' outputs, each (N, W).
     */
    record GateMix() implements Op {
        @Override
        public long[] outputShape(long[][] in, ConstantShapes c) {
            if (in.length < 2) {
                throw new IllegalArgumentException("gate mix needs the logits and at least one expert");
            }
            long[] logits = Shapes.rank(this, in[0], 2);
            Shapes.equal(this, "experts (logit width)", logits[1], in.length - 1);
            long[] y = Shapes.rank(this, in[1], 2);
            Shapes.equal(this, "batch of the experts", y[0], logits[0]);
            for (int i = 2; i < in.length; i++) {
                Shapes.sameShape(this, "expert " + (i - 1), in[i], y);
            }
            return y.clone();
        }

        @Override
        public String toString() {
            return "gate_mix";
        }
    }

    /** {@code y = act(a + b)}, elementwise over two inputs of one shape. */
    record Add(Activation activation) implements Op {
        @Override
        public long[] outputShape(long[][] in, ConstantShapes c) {
            Shapes.arity(this, in, 2);
            Shapes.sameShape(this, "second input", in[1], in[0]);
            return in[0].clone();
        }

        @Override
        public String toString() {
            return "add(" + activation + ")";
        }
    }

    /**
     * The type-A ResNet shortcut (MedicalNet, Hara et al.): subsample each spatial axis by
     * {@code stride} (PyTorch's {@code avg_pool3d(x, 1, stride)}), then pad the channels with zeros up to
     * {@code channels}. (N, C, D, H, W) → (N, channels, ⌊(D-1)/s⌋+1, …).
     */
    record ShortcutA(int stride, int channels) implements Op {
        @Override
        public long[] outputShape(long[][] in, ConstantShapes c) {
            Shapes.arity(this, in, 1);
            long[] x = Shapes.rank(this, in[0], 5);
            if (stride < 1 || channels < x[1]) {
                throw new IllegalArgumentException("type-A shortcut: stride " + stride + ", " + x[1] + " channels to "
                        + channels);
            }
            return new long[] {x[0], channels, (x[2] - 1) / stride + 1, (x[3] - 1) / stride + 1, (x[4] - 1) / stride + 1};
        }

        @Override
        public String toString() {
            return "shortcut_a(stride " + stride + ", channels " + channels + ")";
        }
    }

    /** Elements {@code [start, start + length)} of one axis (a phase out of the stacked input). */
    record Slice(int axis, long start, long length) implements Op {
        @Override
        public long[] outputShape(long[][] in, ConstantShapes c) {
            Shapes.arity(this, in, 1);
            long[] y = in[0].clone();
            if (axis < 0 || axis >= y.length || start < 0 || length < 1 || start + length > y[axis]) {
                throw new IllegalArgumentException("slice [" + start + ", " + (start + length) + ") of axis " + axis
                        + " of " + Arrays.toString(in[0]));
            }
            y[axis] = length;
            return y;
        }

        @Override
        public String toString() {
            return "slice(axis " + axis + ", " + start + "+" + length + ")";
        }
    }

    /**
     * The same elements in row-major order under another shape (phases folded into the batch, features of
     * the phases laid side by side).
     *
     * @param shape the new shape; its product is the input's
     */
    record Reshape(long[] shape) implements Op {
        /** Copies the shape. */
        public Reshape {
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        @Override
        public long[] outputShape(long[][] in, ConstantShapes c) {
            Shapes.arity(this, in, 1);
            if (Shapes.elements(in[0]) != Shapes.elements(shape)) {
                throw new IllegalArgumentException("reshape of " + Arrays.toString(in[0]) + " to " + Arrays.toString(shape)
                        + " changes the element count");
            }
            return shape.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Reshape r && Arrays.equals(r.shape, shape);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(shape);
        }

        @Override
        public String toString() {
            return "reshape" + Arrays.toString(shape);
        }
    }
}
