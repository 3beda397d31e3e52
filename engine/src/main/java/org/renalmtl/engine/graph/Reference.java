package org.renalmtl.engine.graph;

import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The plain Java meaning of a {@link Graph}: every op as PyTorch defines it (eval mode), single-threaded,
 * on heap arrays dense and row-major in each value's logical shape. Long sums (convolutions, Linear,
 * norms, means) accumulate in double and each result is rounded to float once, so an output is within
 * half an ulp of the exact answer for the float32 inputs, plus double-precision noise: the oracle every
 * backend's kernels are tested against, and the layer-by-layer answer that names the first layer where a
 * model goes wrong. Slow by design (no blocking, no threads); clarity first.
 *
 * <p>Each op family is also a public static method (here, in {@link ReferenceConv}, {@link ReferenceNorm}
 * and {@link ReferenceLayout}) taking arrays and shapes, for kernel tests that need no graph. Every
 * method checks the array lengths against the shapes and the shapes against the op's shape rule, and
 * throws {@link IllegalArgumentException} on a mismatch. NaN propagates through every op, as in PyTorch.
 */
public final class Reference {
    private Reference() {}

    /**
     * Runs the graph.
     *
     * @param inputs one array per graph input, by name, dense in the input's shape; not modified
     * @return the graph outputs by name, in declaration order (outputs naming one value share its array)
     * @throws IllegalArgumentException if an input is missing, unknown or of the wrong length
     */
    public static Map<String, float[]> run(Graph g, Map<String, float[]> inputs) {
        float[][] all = runAll(g, inputs);
        Map<String, float[]> out = new LinkedHashMap<>();
        g.outputs().forEach((name, id) -> out.put(name, all[id]));
        return out;
    }

    /**
     * Runs the graph and keeps every intermediate value, for per-layer comparisons.
     *
     * @param inputs as for {@link #run}
     * @return every value's contents indexed by {@link Value#id}, each dense in its shape (inputs copied)
     * @throws IllegalArgumentException if an input is missing, unknown or of the wrong length
     */
    public static float[][] runAll(Graph g, Map<String, float[]> inputs) {
        Set<String> unknown = new HashSet<>(inputs.keySet());
        unknown.removeAll(g.inputs().keySet());
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("the graph has no inputs named " + unknown);
        }
        float[][] values = new float[g.values().size()][];
        g.inputs().forEach((name, id) -> {
            float[] x = inputs.get(name);
            if (x == null) {
                throw new IllegalArgumentException("no array for graph input '" + name + "'");
            }
            checkLength("input " + name, x, g.value(id).shape());
            values[id] = x.clone();
        });
        for (Node n : g.nodes()) {
            try {
                values[n.output()] = execute(g, n, values);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("node " + n.name() + ": " + e.getMessage(), e);
            }
        }
        return values;
    }

    /** One node on the values computed so far. */
    private static float[] execute(Graph g, Node n, float[][] values) {
        float[] x = values[n.input(0)];
        long[] xs = g.value(n.input(0)).shape();
        return switch (n.op()) {
            case Op.Conv3d c -> ReferenceConv.conv3d(x, xs, floats(g, c.weight()), g.constant(c.weight()).shape(),
                    floats(g, c.bias()), c, c.residual() ? values[n.input(1)] : null);
            case Op.ConvTranspose3d c -> ReferenceConv.convTranspose3d(x, xs, floats(g, c.weight()),
                    g.constant(c.weight()).shape(), floats(g, c.bias()), c);
            case Op.InstanceNorm3d c -> ReferenceNorm.instanceNorm3d(x, xs, floats(g, c.scale()), floats(g, c.bias()), c);
            case Op.BatchNorm c -> ReferenceNorm.batchNorm(x, xs, floats(g, c.scale()), floats(g, c.bias()),
                    floats(g, c.mean()), floats(g, c.variance()), c);
            case Op.MaxPool3d c -> ReferenceConv.maxPool3d(x, xs, c);
            case Op.GlobalAvgPool _ -> ReferenceNorm.globalAvgPool(x, xs);
            case Op.Concat _ -> ReferenceLayout.concat(inputs(n, values), shapes(g, n));
            case Op.Linear c -> linear(x, xs, floats(g, c.weight()), g.constant(c.weight()).shape(), floats(g, c.bias()), c);
            case Op.GateMix _ -> {
                float[][] all = inputs(n, values);
                yield gateMix(x, xs, Arrays.copyOfRange(all, 1, all.length), g.value(n.input(1)).shape());
            }
            case Op.Add c -> add(x, values[n.input(1)], xs, c);
            case Op.ShortcutA c -> ReferenceLayout.shortcutA(x, xs, c);
            case Op.Slice c -> ReferenceLayout.slice(x, xs, c);
            case Op.Reshape c -> ReferenceLayout.reshape(x, xs, c);
        };
    }

    /**
     * {@code y = act(x · wᵀ + bias)}, PyTorch's {@code Linear}.
     *
     * @param x // (N, in)
     * @param w // (out, in)
     * @param bias // (out), or null when {@code op} has none
     * @return // (N, out)
     */
    public static float[] linear(float[] x, long[] xShape, float[] w, long[] wShape, float[] bias, Op.Linear op) {
        present("bias", op.bias(), bias);
        long[] yShape = op.outputShape(new long[][] {xShape}, name -> name.equals(op.weight()) ? wShape.clone()
                : new long[] {bias.length});
        checkLength("x", x, xShape);
        checkLength("weight", w, wShape);
        int n = (int) xShape[0];
        int in = (int) xShape[1];
        int out = (int) wShape[0];
        float[] y = new float[size(yShape)];
        for (int s = 0; s < n; s++) {
            for (int o = 0; o < out; o++) {
                double acc = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) {
                    acc += (double) x[s * in + i] * w[o * in + i];
                }
                y[s * out + o] = (float) op.activation().apply(acc);
            }
        }
        return y;
    }

    /**
     * A PLE gate's mixing, {@code y = Σ_e softmax(logits)_e · expert_e} per sample; the softmax subtracts
     * the largest logit first, as PyTorch's does, so large logits do not overflow.
     *
     * @param logits // (N, E)
     * @param experts E arrays, each // (N, W)
     * @param expertShape (N, W), the shape of every expert
     * @return // (N, W)
     */
    public static float[] gateMix(float[] logits, long[] logitsShape, float[][] experts, long[] expertShape) {
        long[][] shapes = new long[experts.length + 1][];
        shapes[0] = logitsShape;
        Arrays.fill(shapes, 1, shapes.length, expertShape);
        long[] yShape = new Op.GateMix().outputShape(shapes, Reference::noConstants);
        checkLength("logits", logits, logitsShape);
        for (int e = 0; e < experts.length; e++) {
            checkLength("expert " + e, experts[e], expertShape);
        }
        int n = (int) yShape[0];
        int width = (int) yShape[1];
        int count = experts.length;
        float[] y = new float[size(yShape)];
        double[] p = new double[count]; // (E) softmax of one sample's logits
        for (int s = 0; s < n; s++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int e = 0; e < count; e++) {
                max = Math.max(max, logits[s * count + e]); // a NaN logit makes every weight NaN below
            }
            double sum = 0;
            for (int e = 0; e < count; e++) {
                p[e] = Math.exp(logits[s * count + e] - max);
                sum += p[e];
            }
            for (int j = 0; j < width; j++) {
                double acc = 0;
                for (int e = 0; e < count; e++) {
                    acc += p[e] / sum * experts[e][s * width + j];
                }
                y[s * width + j] = (float) acc;
            }
        }
        return y;
    }

    /**
     * {@code y = act(a + b)} elementwise.
     *
     * @param a // shape
     * @param b // shape
     */
    public static float[] add(float[] a, float[] b, long[] shape, Op.Add op) {
        checkLength("a", a, shape);
        checkLength("b", b, shape);
        float[] y = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            y[i] = (float) op.activation().apply((double) a[i] + b[i]);
        }
        return y;
    }

    /** @throws IllegalArgumentException unless {@code a} holds exactly the elements of {@code shape} */
    static void checkLength(String what, float[] a, long[] shape) {
        if (a == null || a.length != Shapes.elements(shape)) {
            throw new IllegalArgumentException(what + " has " + (a == null ? "no array" : a.length + " elements")
                    + ", its shape " + Arrays.toString(shape) + " needs " + Shapes.elements(shape));
        }
    }

    /** @throws IllegalArgumentException unless an optional array is given exactly when the op names it */
    static void present(String what, String name, float[] a) {
        if ((name == null) != (a == null)) {
            throw new IllegalArgumentException(what + (name == null ? " given, but the op has none" : " '" + name
                    + "' missing"));
        }
    }

    /** @return the element count of a shape, which a heap array must be able to hold */
    static int size(long[] shape) {
        long n = Shapes.elements(shape);
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " is too large for a Java array");
        }
        return (int) n;
    }

    /** The constant shapes of an op that names none: any lookup is a mistake. */
    static long[] noConstants(String name) {
        throw new IllegalArgumentException("the op names no constants, got '" + name + "'");
    }

    /** @return a heap copy of a constant, or null for a null name (an absent bias) */
    private static float[] floats(Graph g, String name) {
        return name == null ? null : g.constant(name).toArray();
    }

    private static float[][] inputs(Node n, float[][] values) {
        float[][] in = new float[n.arity()][];
        for (int i = 0; i < in.length; i++) {
            in[i] = values[n.input(i)];
        }
        return in;
    }

    private static long[][] shapes(Graph g, Node n) {
        long[][] s = new long[n.arity()][];
        for (int i = 0; i < s.length; i++) {
            s[i] = g.value(n.input(i)).shape();
        }
        return s;
    }
}
