package org.renalmtl.engine.classifier;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.renalmtl.engine.ModelRunException;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.Tensor;
import org.renalmtl.weights.TensorLayout;

/**
 * The backbone of one network as a straight-line list of ops over values, for one input size,
 * with BatchNorm folded into the convolutions. Built once per plan; backends translate it.
 *
 * <p>Value 0 is the input (C_in, D, H, W); the last value is the feature vector (F, 1, 1, 1).
 */
public final class BackboneGraph {
    /** PyTorch's BatchNorm default. */
    public static final double BN_EPS = 1e-5;

    private final List<Op> ops = new ArrayList<>();
    private final List<Value> values = new ArrayList<>();

    private BackboneGraph() {}

    /** @return the ops in execution order */
    public List<Op> ops() {
        return ops;
    }

    /** @return the values; index = value id */
    public List<Value> values() {
        return values;
    }

    /** @return the output (feature) value id */
    public int output() {
        return values.size() - 1;
    }

    /** @return total multiply-accumulates of one sample */
    public long macs() {
        long n = 0;
        for (Op op : ops) {
            if (op instanceof Op.Conv c && !c.identityShortcut()) {
                n += c.macsPerVoxel() * values.get(c.dst()).elements();
            }
        }
        return n;
    }

    /**
     * A graph from explicit values and ops, for single-op tests and custom stems. Value 0 is the
     * input and the last value the output; ops must be in execution order.
     */
    public static BackboneGraph of(List<Value> values, List<Op> ops) {
        BackboneGraph g = new BackboneGraph();
        for (Value v : values) {
            g.value(v);
        }
        g.ops.addAll(ops);
        return g;
    }

    /**
     * Builds the graph.
     *
     * @param b backbone config
     * @param prefix tensor prefix, e.g. {@code backbone.}
     * @param tensors weight tensors by name
     * @param d input depth
     * @param h input height
     * @param w input width
     * @throws ModelRunException if the input is too small for the network's strides
     */
    public static BackboneGraph build(
            ModelConfig.Backbone b, String prefix, Map<String, Tensor> tensors, int d, int h, int w) {
        BackboneGraph g = new BackboneGraph();
        int x = g.value(new Value(b.inChannels(), d, h, w));
        ModelConfig.Stem stem = b.stem();
        x = g.conv("conv1", prefix + "conv1", prefix + "bn1", null, tensors, x, -1, stem.kernel(), stem.stride(),
                stem.padding(), new int[] {1, 1, 1}, true);
        if (stem.maxPool()) {
            Value v = g.values.get(x);
            int y = g.value(new Value(v.channels(), out(v.d(), 3, 2, 1, 1), out(v.h(), 3, 2, 1, 1), out(v.w(), 3, 2, 1, 1)));
            g.ops.add(new Op.MaxPool(x, y, 3, 2, 1));
            x = y;
        }
        int inplanes = b.widths()[0];
        int exp = b.expansion();
        for (int s = 0; s < 4; s++) {
            int planes = b.widths()[s];
            int dil = b.dilations()[s];
            int[] dil3 = {dil, dil, dil};
            for (int i = 0; i < b.blocks()[s]; i++) {
                String bp = "layer" + (s + 1) + "." + i + ".";
                String tp = prefix + bp;
                int stride = i == 0 ? b.strides()[s] : 1;
                int[] st = {stride, stride, stride};
                int[] one = {1, 1, 1};
                int[] zero = {0, 0, 0};
                // Shortcut first: the residual value is the buffer the block's last conv writes into.
                int shortcut = x;
                if (TensorLayout.needsDownsample(stride, inplanes, planes * exp)) {
                    if (b.shortcut() == ModelConfig.Shortcut.B) {
                        shortcut = g.conv(bp + "downsample", tp + "downsample.0", tp + "downsample.1",
                                b.downsampleBias() ? tp + "downsample.0.bias" : null, tensors, x, -1, one, st, zero,
                                one, false);
                    } else {
                        shortcut = g.identityShortcut(bp + "shortcutA", x, planes * exp, stride);
                    }
                } else {
                    // Identity shortcut: the block writes over its input, which must then be a
                    // distinct value from anything read later; x is read only by this block.
                    shortcut = x;
                }
                int[] pad = {dil, dil, dil};
                if (b.bottleneck()) {
                    int t1 = g.conv(bp + "conv1", tp + "conv1", tp + "bn1", null, tensors, x, -1, one, one, zero, one, true);
                    int t2 = g.conv(bp + "conv2", tp + "conv2", tp + "bn2", null, tensors, t1, -1, new int[] {3, 3, 3},
                            st, pad, dil3, true);
                    x = g.conv(bp + "conv3", tp + "conv3", tp + "bn3", null, tensors, t2, shortcut, one, one, zero, one,
                            true);
                } else {
                    int t1 = g.conv(bp + "conv1", tp + "conv1", tp + "bn1", null, tensors, x, -1, new int[] {3, 3, 3},
                            st, pad, dil3, true);
                    x = g.conv(bp + "conv2", tp + "conv2", tp + "bn2", null, tensors, t1, shortcut, new int[] {3, 3, 3},
                            new int[] {1, 1, 1}, pad, dil3, true);
                }
                inplanes = planes * exp;
            }
        }
        Value v = g.values.get(x);
        int f = g.value(new Value(v.channels(), 1, 1, 1));
        g.ops.add(new Op.GlobalAvgPool(x, f));
        return g;
    }

    private int value(Value v) {
        if (v.d() < 1 || v.h() < 1 || v.w() < 1) {
            throw new ModelRunException("input too small for the network's strides: an activation would have shape "
                    + v);
        }
        values.add(v);
        return values.size() - 1;
    }

    static int out(int in, int k, int s, int p, int dil) {
        return Math.floorDiv(in + 2 * p - dil * (k - 1) - 1, s) + 1;
    }

    /** Adds a conv with BatchNorm {@code bn} folded in; returns its output value. */
    private int conv(String name, String conv, String bn, String convBias, Map<String, Tensor> tensors, int src,
            int residual, int[] k, int[] s, int[] p, int[] dil, boolean relu) {
        Tensor wt = tensors.get(conv + ".weight");
        int cout = (int) wt.shape()[0];
        int cin = (int) wt.shape()[1];
        Value in = values.get(src);
        Value o = new Value(cout, out(in.d(), k[0], s[0], p[0], dil[0]), out(in.h(), k[1], s[1], p[1], dil[1]),
                out(in.w(), k[2], s[2], p[2], dil[2]));
        int dst;
        if (residual >= 0) {
            if (!values.get(residual).equals(o)) {
                throw new IllegalStateException(name + ": residual " + values.get(residual) + " vs output " + o);
            }
            dst = residual;
        } else {
            dst = value(o);
        }
        float[] w = wt.toArray();
        float[] bias = new float[cout];
        float[] convB = convBias == null ? null : tensors.get(convBias).toArray();
        float[] gamma = tensors.get(bn + ".weight").toArray();
        float[] beta = tensors.get(bn + ".bias").toArray();
        float[] mean = tensors.get(bn + ".running_mean").toArray();
        float[] var = tensors.get(bn + ".running_var").toArray();
        int per = w.length / cout;
        for (int c = 0; c < cout; c++) {
            double scale = gamma[c] / Math.sqrt(var[c] + BN_EPS);
            for (int i = 0; i < per; i++) {
                w[c * per + i] = (float) (w[c * per + i] * scale);
            }
            double b0 = convB == null ? 0 : convB[c];
            bias[c] = (float) (beta[c] + (b0 - mean[c]) * scale);
        }
        requireFinite(name, bn, w, bias);
        ops.add(new Op.Conv(name, src, dst, residual, cin, cout, k, s, p, dil, relu, false, w, bias));
        return dst;
    }

    /**
     * Weights that are not finite once BatchNorm is folded in are refused before they run: a ReLU turns a
     * NaN into 0 (x86 max), so the network would hand out a plausible answer computed around a dead layer.
     * A weight file cannot get here (it is checked on load); weights built in memory can.
     */
    static void requireFinite(String layer, String bn, float[] weight, float[] bias) {
        for (float[] a : new float[][] {weight, bias}) {
            for (float v : a) {
                if (!Float.isFinite(v)) {
                    throw new ModelRunException("layer " + layer + (bn == null ? "" : " folded with BatchNorm " + bn)
                            + " has a " + (a == weight ? "weight" : "bias") + " of " + v
                            + ": its tensors overflow float32 or a variance is negative");
                }
            }
        }
    }

    /**
     * Type-A shortcut (subsample by the stride, zero-pad channels) as a 1³ strided conv with a fixed
     * identity weight: exact in float32 (each output is one input times 1 plus zeros).
     */
    private int identityShortcut(String name, int src, int cout, int stride) {
        Value in = values.get(src);
        int cin = in.channels();
        int dst = value(new Value(cout, out(in.d(), 1, stride, 0, 1), out(in.h(), 1, stride, 0, 1),
                out(in.w(), 1, stride, 0, 1)));
        float[] w = new float[cout * cin];
        for (int c = 0; c < cin; c++) {
            w[c * cin + c] = 1f;
        }
        int[] one = {1, 1, 1};
        ops.add(new Op.Conv(name, src, dst, -1, cin, cout, one, new int[] {stride, stride, stride}, new int[] {0, 0, 0},
                one, false, true, w, new float[cout]));
        return dst;
    }
}
