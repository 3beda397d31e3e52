package org.renalmtl.engine.graph;

import java.util.Arrays;

/**
 * The sliding-window ops of {@link Reference}: convolution, transposed convolution and max-pooling, as
 * PyTorch defines them. Convolutions accumulate in double and round once; loops run over whole output
 * rows per weight tap so that R18 at 96³ stays runnable single-threaded (tens of seconds).
 */
public final class ReferenceConv {
    private ReferenceConv() {}

    /**
     * {@code y = act(conv3d(x, w) + bias [+ residual])}: PyTorch's {@code Conv3d} (groups 1, zero
     * padding, per-axis stride and dilation) with the op's epilogue, all summed in double.
     *
     * @param x // (N, Cin, D, H, W)
     * @param w // (Cout, Cin, kd, kh, kw)
     * @param bias // (Cout), or null when {@code op} has none
     * @param residual // (N, Cout, D', H', W'), the output's shape; null unless {@code op.residual()}
     * @return // (N, Cout, D', H', W')
     */
    public static float[] conv3d(float[] x, long[] xShape, float[] w, long[] wShape, float[] bias, Op.Conv3d op,
            float[] residual) {
        Reference.present("bias", op.bias(), bias);
        if (op.residual() != (residual != null)) {
            throw new IllegalArgumentException(op.residual() ? "the op adds a residual; none given"
                    : "a residual given, but the op adds none");
        }
        // The shape rule without the residual input: the residual's shape is the output's, checked below.
        Op.Conv3d plain = new Op.Conv3d(op.weight(), op.bias(), op.stride(), op.padding(), op.dilation(), false,
                op.activation());
        long[] yShape = plain.outputShape(new long[][] {xShape}, name -> name.equals(op.weight()) ? wShape.clone()
                : new long[] {bias.length});
        Reference.checkLength("x", x, xShape);
        Reference.checkLength("weight", w, wShape);
        if (residual != null) {
            Reference.checkLength("residual", residual, yShape);
        }
        Geometry g = new Geometry(xShape, yShape, wShape);
        int[] s = op.stride().toArray();
        int[] p = op.padding().toArray();
        int[] dl = op.dilation().toArray();
        float[] y = new float[Reference.size(yShape)];
        double[] acc = new double[g.outVolume]; // (D', H', W') of one output channel
        for (int n = 0; n < g.batch; n++) {
            for (int co = 0; co < g.outChannels; co++) {
                Arrays.fill(acc, bias == null ? 0 : bias[co]);
                for (int ci = 0; ci < g.inChannels; ci++) {
                    int xBase = (n * g.inChannels + ci) * g.inVolume;
                    int wBase = (co * g.inChannels + ci) * g.taps;
                    for (int kd = 0; kd < g.k[0]; kd++) {
                        for (int kh = 0; kh < g.k[1]; kh++) {
                            for (int kw = 0; kw < g.k[2]; kw++) {
                                double wv = w[wBase + (kd * g.k[1] + kh) * g.k[2] + kw];
                                int offW = kw * dl[2] - p[2]; // input column of output column 0
                                int owLo = firstInside(offW, s[2]);
                                int owHi = lastInside(offW, s[2], g.in[2], g.out[2]);
                                for (int od = 0; od < g.out[0]; od++) {
                                    int id = od * s[0] + kd * dl[0] - p[0];
                                    if (id < 0 || id >= g.in[0]) {
                                        continue; // a zero-padding row: adds nothing
                                    }
                                    for (int oh = 0; oh < g.out[1]; oh++) {
                                        int ih = oh * s[1] + kh * dl[1] - p[1];
                                        if (ih < 0 || ih >= g.in[1]) {
                                            continue;
                                        }
                                        int xRow = xBase + (id * g.in[1] + ih) * g.in[2] + offW;
                                        int aRow = (od * g.out[1] + oh) * g.out[2];
                                        accumulateRow(acc, aRow, x, xRow, s[2], owLo, owHi, wv);
                                    }
                                }
                            }
                        }
                    }
                }
                int yBase = (n * g.outChannels + co) * g.outVolume;
                for (int i = 0; i < g.outVolume; i++) {
                    double v = residual == null ? acc[i] : acc[i] + residual[yBase + i];
                    y[yBase + i] = (float) op.activation().apply(v);
                }
            }
        }
        return y;
    }

    /** {@code acc[aRow + o] += w · x[xRow + o·stride]} for o in [lo, hi]; unit stride on its own, so it vectorises. */
    private static void accumulateRow(double[] acc, int aRow, float[] x, int xRow, int stride, int lo, int hi, double w) {
        if (stride == 1) {
            for (int o = lo; o <= hi; o++) {
                acc[aRow + o] += w * x[xRow + o];
            }
        } else {
            for (int o = lo; o <= hi; o++) {
                acc[aRow + o] += w * x[xRow + o * stride];
            }
        }
    }

    /**
     * {@code y = act(conv_transpose3d(x, w) + bias)}: PyTorch's {@code ConvTranspose3d} (groups 1,
     * dilation 1), input voxel {@code i} adding {@code x·w[k]} to output voxel {@code i·s - p + k} on
     * each axis; output size {@code (i-1)·s - 2p + k + output_padding}. Summed in double.
     *
     * @param x // (N, Cin, D, H, W)
     * @param w // (Cin, Cout, kd, kh, kw)
     * @param bias // (Cout), or null when {@code op} has none
     * @return // (N, Cout, D', H', W')
     */
    public static float[] convTranspose3d(float[] x, long[] xShape, float[] w, long[] wShape, float[] bias,
            Op.ConvTranspose3d op) {
        Reference.present("bias", op.bias(), bias);
        long[] yShape = op.outputShape(new long[][] {xShape}, name -> name.equals(op.weight()) ? wShape.clone()
                : new long[] {bias.length});
        Reference.checkLength("x", x, xShape);
        Reference.checkLength("weight", w, wShape);
        long[] oihw = {wShape[1], wShape[0], wShape[2], wShape[3], wShape[4]}; // as (Cout, Cin, k…) for Geometry
        Geometry g = new Geometry(xShape, yShape, oihw);
        int[] s = op.stride().toArray();
        int[] p = op.padding().toArray();
        float[] y = new float[Reference.size(yShape)];
        double[] acc = new double[g.outVolume]; // (D', H', W') of one output channel
        for (int n = 0; n < g.batch; n++) {
            for (int co = 0; co < g.outChannels; co++) {
                Arrays.fill(acc, bias == null ? 0 : bias[co]);
                for (int ci = 0; ci < g.inChannels; ci++) {
                    int xBase = (n * g.inChannels + ci) * g.inVolume;
                    int wBase = (ci * g.outChannels + co) * g.taps;
                    for (int kd = 0; kd < g.k[0]; kd++) {
                        for (int kh = 0; kh < g.k[1]; kh++) {
                            for (int kw = 0; kw < g.k[2]; kw++) {
                                double wv = w[wBase + (kd * g.k[1] + kh) * g.k[2] + kw];
                                int offW = kw - p[2]; // output column of input column 0
                                int iwLo = firstInside(offW, s[2]);
                                int iwHi = lastInside(offW, s[2], g.out[2], g.in[2]);
                                for (int id = 0; id < g.in[0]; id++) {
                                    int od = id * s[0] + kd - p[0];
                                    if (od < 0 || od >= g.out[0]) {
                                        continue; // lands in the cropped padding
                                    }
                                    for (int ih = 0; ih < g.in[1]; ih++) {
                                        int oh = ih * s[1] + kh - p[1];
                                        if (oh < 0 || oh >= g.out[1]) {
                                            continue;
                                        }
                                        int xRow = xBase + (id * g.in[1] + ih) * g.in[2];
                                        int aRow = (od * g.out[1] + oh) * g.out[2] + offW;
                                        for (int iw = iwLo; iw <= iwHi; iw++) {
                                            acc[aRow + iw * s[2]] += wv * x[xRow + iw];
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                int yBase = (n * g.outChannels + co) * g.outVolume;
                for (int i = 0; i < g.outVolume; i++) {
                    y[yBase + i] = (float) op.activation().apply(acc[i]);
                }
            }
        }
        return y;
    }

    /**
     * PyTorch's {@code MaxPool3d} (floor mode, dilation 1): each window's largest value, padded cells
     * never winning (they are -∞); a NaN in a window wins it, as in PyTorch.
     *
     * @param x // (N, C, D, H, W)
     * @return // (N, C, D', H', W')
     */
    public static float[] maxPool3d(float[] x, long[] xShape, Op.MaxPool3d op) {
        long[] yShape = op.outputShape(new long[][] {xShape}, Reference::noConstants);
        Reference.checkLength("x", x, xShape);
        int[] in = {(int) xShape[2], (int) xShape[3], (int) xShape[4]};
        int[] out = {(int) yShape[2], (int) yShape[3], (int) yShape[4]};
        int[] k = op.kernel().toArray();
        int[] s = op.stride().toArray();
        int[] p = op.padding().toArray();
        int planes = (int) (xShape[0] * xShape[1]);
        int inVolume = in[0] * in[1] * in[2];
        float[] y = new float[Reference.size(yShape)];
        int o = 0;
        for (int plane = 0; plane < planes; plane++) {
            int base = plane * inVolume;
            for (int od = 0; od < out[0]; od++) {
                for (int oh = 0; oh < out[1]; oh++) {
                    for (int ow = 0; ow < out[2]; ow++) {
                        float m = Float.NEGATIVE_INFINITY;
                        for (int id = Math.max(0, od * s[0] - p[0]); id < Math.min(in[0], od * s[0] - p[0] + k[0]); id++) {
                            for (int ih = Math.max(0, oh * s[1] - p[1]); ih < Math.min(in[1], oh * s[1] - p[1] + k[1]);
                                    ih++) {
                                for (int iw = Math.max(0, ow * s[2] - p[2]); iw < Math.min(in[2], ow * s[2] - p[2] + k[2]);
                                        iw++) {
                                    float v = x[base + (id * in[1] + ih) * in[2] + iw];
                                    if (v > m || Float.isNaN(v)) {
                                        m = v;
                                    }
                                }
                            }
                        }
                        y[o++] = m;
                    }
                }
            }
        }
        return y;
    }

    /**
     * @return the first index {@code i ≥ 0} whose image {@code i·s + off} is not negative (the first
     *     output column that reads inside the input; for a transposed conv, the first input column that
     *     writes inside the output)
     */
    private static int firstInside(int off, int s) {
        return Math.max(0, Math.ceilDiv(-off, s));
    }

    /** @return the last index {@code i < count} whose image {@code i·s + off} is below {@code limit} */
    private static int lastInside(int off, int s, int limit, int count) {
        return Math.min(count - 1, Math.floorDiv(limit - 1 - off, s));
    }

    /**
     * The sizes of a convolution, as ints (the arrays' lengths were checked, so every product fits).
     * The weight shape is given as (Cout, Cin, kd, kh, kw).
     */
    private static final class Geometry {
        final int batch;
        final int inChannels;
        final int outChannels;
        final int[] in; // (D, H, W)
        final int[] out; // (D', H', W')
        final int[] k; // (kd, kh, kw)
        final int inVolume;
        final int outVolume;
        final int taps;

        Geometry(long[] xShape, long[] yShape, long[] oiShape) {
            batch = (int) xShape[0];
            inChannels = (int) xShape[1];
            outChannels = (int) yShape[1];
            in = new int[] {(int) xShape[2], (int) xShape[3], (int) xShape[4]};
            out = new int[] {(int) yShape[2], (int) yShape[3], (int) yShape[4]};
            k = new int[] {(int) oiShape[2], (int) oiShape[3], (int) oiShape[4]};
            inVolume = in[0] * in[1] * in[2];
            outVolume = out[0] * out[1] * out[2];
            taps = k[0] * k[1] * k[2];
        }
    }
}
