package org.renalmtl.engine.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;

/**
 * MedicalNet's type-A shortcut: CPU twin of {@code kernels/src/main/cuda/shortcut.cu} (same name,
 * same argument order). The CPU backend expresses it as an identity 1³ strided conv in oneDNN;
 * this loop is the oracle of both.
 */
public final class Shortcut {
    private Shortcut() {}

    /**
     * {@code out[i, z, y, x, ch] = in[i, z·s, y·s, x·s, ch]} for {@code ch < cin}, else 0.
     *
     * @param out // (n, od, oh, ow, cout)
     * @param in // (n, d, h, w, cin)
     */
    public static void shortcutANdhwc(MemorySegment out, MemorySegment in, int n, int d, int h, int w, int cin, int od,
            int oh, int ow, int cout, int stride) {
        for (int i = 0; i < n; i++) {
            for (int z = 0; z < od; z++) {
                for (int y = 0; y < oh; y++) {
                    for (int x = 0; x < ow; x++) {
                        long o = ((((long) i * od + z) * oh + y) * ow + x) * cout;
                        long s = ((((long) i * d + z * stride) * h + y * stride) * w + x * stride) * cin;
                        for (int ch = 0; ch < cout; ch++) {
                            out.setAtIndex(JAVA_FLOAT, o + ch, ch < cin ? in.getAtIndex(JAVA_FLOAT, s + ch) : 0f);
                        }
                    }
                }
            }
        }
    }
}
