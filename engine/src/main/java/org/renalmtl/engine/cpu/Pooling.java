package org.renalmtl.engine.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;

/**
 * Pooling in NDHWC: CPU twins of {@code kernels/src/main/cuda/pooling.cu} (same names, same
 * argument order). The CPU backend runs oneDNN's pooling on its blocked layout; these plain loops
 * are the oracle for both that and the CUDA kernels.
 */
public final class Pooling {
    private Pooling() {}

    /**
     * Max-pool with a per-axis window {@code kd × kh × kw}, strides {@code (sd, sh, sw)} and padding
     * {@code (pd, ph, pw)} cells on each side of each axis: PyTorch's {@code MaxPool3d} (floor mode,
     * dilation 1). Padded cells never win; NaN propagates ({@link Math#max}); a window with no cell
     * inside the volume gives −∞. The caller gives {@code od = ⌊(d + 2·pd − kd) / sd⌋ + 1}, likewise
     * {@code oh}, {@code ow}.
     *
     * @param out // (n, od, oh, ow, c)
     * @param in // (n, d, h, w, c)
     */
    public static void maxpool3dNdhwc(MemorySegment out, MemorySegment in, int n, int d, int h, int w, int c, int od,
            int oh, int ow, int kd, int kh, int kw, int sd, int sh, int sw, int pd, int ph, int pw) {
        for (int i = 0; i < n; i++) {
            for (int z = 0; z < od; z++) {
                for (int y = 0; y < oh; y++) {
                    for (int x = 0; x < ow; x++) {
                        for (int ch = 0; ch < c; ch++) {
                            float m = Float.NEGATIVE_INFINITY;
                            for (int kz = 0; kz < kd; kz++) {
                                int iz = z * sd - pd + kz;
                                if (iz < 0 || iz >= d) {
                                    continue;
                                }
                                for (int ky = 0; ky < kh; ky++) {
                                    int iy = y * sh - ph + ky;
                                    if (iy < 0 || iy >= h) {
                                        continue;
                                    }
                                    for (int kx = 0; kx < kw; kx++) {
                                        int ix = x * sw - pw + kx;
                                        if (ix < 0 || ix >= w) {
                                            continue;
                                        }
                                        long at = ((((long) i * d + iz) * h + iy) * w + ix) * c + ch;
                                        m = Math.max(m, in.getAtIndex(JAVA_FLOAT, at));
                                    }
                                }
                            }
                            out.setAtIndex(JAVA_FLOAT, ((((long) i * od + z) * oh + y) * ow + x) * c + ch, m);
                        }
                    }
                }
            }
        }
    }

    /**
     * Mean over the spatial axes: {@code out[i * outRowStride + ch] = mean_s in[i, s, ch]}.
     * Accumulates in double: this is the oracle, so it should be the more exact side.
     *
     * @param out // (n, c) with row stride {@code outRowStride}
     * @param in // (n, spatial, c)
     */
    public static void globalAvgPoolNdhwc(MemorySegment out, MemorySegment in, int n, int spatial, int c,
            int outRowStride) {
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < c; ch++) {
                double s = 0;
                for (int v = 0; v < spatial; v++) {
                    s += in.getAtIndex(JAVA_FLOAT, ((long) i * spatial + v) * c + ch);
                }
                out.setAtIndex(JAVA_FLOAT, (long) i * outRowStride + ch, (float) (s / spatial));
            }
        }
    }
}
