package org.renalmtl.engine.classifier;

/**
 * One backbone operation over per-sample tensors identified by index into the graph's value list.
 * Weights are already folded (BatchNorm into conv weight and bias), so backends only execute.
 */
public sealed interface Op permits Op.Conv, Op.MaxPool, Op.GlobalAvgPool {

    /** @return the value this op reads (its main input) */
    int src();

    /** @return the value this op writes */
    int dst();

    /**
     * {@code dst = act(conv(src) + bias [+ residual])}; when {@code residual >= 0} the op writes
     * in place over the residual value ({@code dst == residual}), which is how both cuDNN's
     * ConvBiasActivation (z aliasing y) and oneDNN's sum post-op express the residual add.
     *
     * @param name layer name for messages and profiles, e.g. {@code layer1.0.conv2}
     * @param src input value
     * @param dst output value
     * @param residual value added before the activation, or -1
     * @param cin input channels
     * @param cout output channels
     * @param kernel (kd, kh, kw)
     * @param stride (sd, sh, sw)
     * @param padding (pd, ph, pw), symmetric
     * @param dilation (dd, dh, dw)
     * @param relu whether ReLU follows
     * @param identityShortcut true for a type-A shortcut expressed as a fixed identity 1³ conv
     * @param weight folded weights // (cout, cin, kd, kh, kw)
     * @param bias folded bias // (cout)
     */
    record Conv(
            String name,
            int src,
            int dst,
            int residual,
            int cin,
            int cout,
            int[] kernel,
            int[] stride,
            int[] padding,
            int[] dilation,
            boolean relu,
            boolean identityShortcut,
            float[] weight,
            float[] bias)
            implements Op {
        /** @return multiply-accumulates per output voxel */
        public long macsPerVoxel() {
            return (long) cin * kernel[0] * kernel[1] * kernel[2];
        }
    }

    /**
     * Cubic max-pool (PyTorch semantics: padded cells never win).
     *
     * @param src input value
     * @param dst output value
     * @param kernel window edge
     * @param stride stride
     * @param padding padding
     */
    record MaxPool(int src, int dst, int kernel, int stride, int padding) implements Op {}

    /**
     * Global average pool over the spatial axes: (C, D, H, W) → (C).
     *
     * @param src input value
     * @param dst output value (spatial 1×1×1)
     */
    record GlobalAvgPool(int src, int dst) implements Op {}
}
