package org.renalmtl.engine.graph;

/**
 * The normalisations and means of {@link Reference}: InstanceNorm3d, BatchNorm (eval) and global
 * average pooling, as PyTorch defines them; statistics in double, each output rounded once.
 */
public final class ReferenceNorm {
    private ReferenceNorm() {}

    /**
     * PyTorch's {@code InstanceNorm3d}: per (sample, channel), {@code (x - mean) / sqrt(var + eps)} over
     * D·H·W with the biased variance (divided by D·H·W), then {@code · scale + bias} when affine, then
     * the activation. The variance is the mean of squared deviations (two passes), as exact as double
     * allows.
     *
     * @param x // (N, C, D, H, W)
     * @param scale // (C), or null when {@code op} is not affine
     * @param bias // (C), or null when {@code op} is not affine
     * @return // (N, C, D, H, W)
     */
    public static float[] instanceNorm3d(float[] x, long[] xShape, float[] scale, float[] bias, Op.InstanceNorm3d op) {
        Reference.present("scale", op.scale(), scale);
        Reference.present("bias", op.bias(), bias);
        long[] yShape = op.outputShape(new long[][] {xShape}, name -> new long[] {
            name.equals(op.scale()) ? scale.length : bias.length});
        Reference.checkLength("x", x, xShape);
        int channels = (int) xShape[1];
        int planes = (int) xShape[0] * channels;
        int volume = (int) (xShape[2] * xShape[3] * xShape[4]);
        float[] y = new float[Reference.size(yShape)];
        for (int plane = 0; plane < planes; plane++) {
            int c = plane % channels;
            int base = plane * volume;
            double sum = 0;
            for (int i = 0; i < volume; i++) {
                sum += x[base + i];
            }
            double mean = sum / volume;
            double squares = 0;
            for (int i = 0; i < volume; i++) {
                double d = x[base + i] - mean;
                squares += d * d;
            }
            double std = Math.sqrt(squares / volume + op.eps());
            double gamma = scale == null ? 1 : scale[c];
            double beta = bias == null ? 0 : bias[c];
            for (int i = 0; i < volume; i++) {
                y[base + i] = (float) op.activation().apply((x[base + i] - mean) / std * gamma + beta);
            }
        }
        return y;
    }

    /**
     * PyTorch's {@code BatchNorm1d/3d} in eval mode, {@code act((x - mean) / sqrt(var + eps) · scale + bias)}
     * with the running statistics, over channel axis 1.
     *
     * @param x // (N, C) or (N, C, D, H, W)
     * @param scale // (C) gamma
     * @param bias // (C) beta
     * @param mean // (C) running mean
     * @param variance // (C) running variance
     * @return // the shape of x
     */
    public static float[] batchNorm(float[] x, long[] xShape, float[] scale, float[] bias, float[] mean,
            float[] variance, Op.BatchNorm op) {
        long[] yShape = op.outputShape(new long[][] {xShape}, name -> new long[] {xShape[1]}); // lengths checked below
        Reference.checkLength("x", x, xShape);
        Reference.checkLength("scale", scale, new long[] {xShape[1]});
        Reference.checkLength("bias", bias, new long[] {xShape[1]});
        Reference.checkLength("mean", mean, new long[] {xShape[1]});
        Reference.checkLength("variance", variance, new long[] {xShape[1]});
        int channels = (int) xShape[1];
        int inner = xShape.length == 5 ? (int) (xShape[2] * xShape[3] * xShape[4]) : 1; // elements per (n, c)
        float[] y = new float[Reference.size(yShape)];
        for (int i = 0; i < y.length; i++) {
            int c = i / inner % channels;
            double v = (x[i] - (double) mean[c]) / Math.sqrt(variance[c] + (double) op.eps()) * scale[c] + bias[c];
            y[i] = (float) op.activation().apply(v);
        }
        return y;
    }

    /**
     * The mean over D, H, W of each (sample, channel), summed in double.
     *
     * @param x // (N, C, D, H, W)
     * @return // (N, C)
     */
    public static float[] globalAvgPool(float[] x, long[] xShape) {
        long[] yShape = new Op.GlobalAvgPool().outputShape(new long[][] {xShape}, Reference::noConstants);
        Reference.checkLength("x", x, xShape);
        int volume = (int) (xShape[2] * xShape[3] * xShape[4]);
        float[] y = new float[Reference.size(yShape)];
        for (int plane = 0; plane < y.length; plane++) {
            double sum = 0;
            for (int i = 0; i < volume; i++) {
                sum += x[plane * volume + i];
            }
            y[plane] = (float) (sum / volume);
        }
        return y;
    }
}
