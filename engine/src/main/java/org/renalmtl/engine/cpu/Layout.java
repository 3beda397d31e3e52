package org.renalmtl.engine.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;

/** Layout changes: CPU twin of {@code kernels/src/main/cuda/layout.cu} (same name, same argument order). */
public final class Layout {
    private Layout() {}

    /**
     * NCDHW → NDHWC with channels zero-padded to {@code cpad} (tensor cores want multiples of 8).
     *
     * @param out // (n, spatial, cpad)
     * @param in // (n, c, spatial)
     */
    public static void ncdhwToNdhwc(MemorySegment out, MemorySegment in, int n, int c, int spatial, int cpad) {
        for (int i = 0; i < n; i++) {
            for (int s = 0; s < spatial; s++) {
                for (int ch = 0; ch < cpad; ch++) {
                    float v = ch < c ? in.getAtIndex(JAVA_FLOAT, ((long) i * c + ch) * spatial + s) : 0f;
                    out.setAtIndex(JAVA_FLOAT, ((long) i * spatial + s) * cpad + ch, v);
                }
            }
        }
    }
}
