package org.renalmtl.engine.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.renalmtl.engine.graph.Dims3;
import org.renalmtl.engine.graph.Op;
import org.renalmtl.engine.graph.ReferenceConv;
import org.renalmtl.engine.graph.ReferenceLayout;
import org.renalmtl.engine.graph.ReferenceNorm;

/**
 * The plain Java twins of our CUDA kernels (llm.c's rule: same name, same argument order; they are the
 * oracle {@code KernelTwinTest} holds the GPU kernels to) against the graph {@code Reference} and the
 * definitions, so the twins are proven on a machine without a GPU: NDHWC max-pool, global average pool
 * and type-A shortcut, the NCDHW → NDHWC layout change, and the head's Linear, gate and sigmoid.
 * Max-pool, shortcut and layout are copies (exact); the rest is fp32 against double: 1e-5 of the
 * largest |output| (sums of ≤ 512 terms).
 */
class TwinsTest {
    private static final double REL = 1e-5;

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double max = 1e-30;
        for (float e : expected) {
            max = Math.max(max, Math.abs(e));
        }
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Math.abs(expected[i] - actual[i]) <= REL * max,
                    what + " [" + i + "]: expected " + expected[i] + " got " + actual[i]);
        }
    }

    /** NCDHW → NDHWC through the layout twin (its own test: this must be a pure permutation). */
    private static MemorySegment ndhwc(Arena arena, float[] ncdhw, int n, int c, int spatial) {
        MemorySegment in = arena.allocate((long) ncdhw.length * 4, 64);
        MemorySegment.copy(ncdhw, 0, in, JAVA_FLOAT, 0, ncdhw.length);
        MemorySegment out = arena.allocate((long) ncdhw.length * 4, 64);
        Layout.ncdhwToNdhwc(out, in, n, c, spatial, c);
        return out;
    }

    private static float[] toNcdhw(MemorySegment ndhwc, int n, int c, int spatial) {
        float[] out = new float[n * c * spatial];
        for (int i = 0; i < n; i++) {
            for (int s = 0; s < spatial; s++) {
                for (int ch = 0; ch < c; ch++) {
                    out[(i * c + ch) * spatial + s] = ndhwc.getAtIndex(JAVA_FLOAT, ((long) i * spatial + s) * c + ch);
                }
            }
        }
        return out;
    }

    @ParameterizedTest(name = "maxpool n={0} c={1} {2}x{3}x{4}")
    @CsvSource({"2, 19, 9, 8, 7", "1, 64, 48, 48, 48", "3, 5, 2, 3, 1"})
    void maxPoolTwinMatchesReference(int n, int c, int d, int h, int w) {
        float[] x = random(n * c * d * h * w, 4);
        Op.MaxPool3d op = new Op.MaxPool3d(Dims3.of(3), Dims3.of(2), Dims3.of(1));
        long[] y = op.outputShape(new long[][] {{n, c, d, h, w}}, name -> null);
        float[] expected = ReferenceConv.maxPool3d(x, new long[] {n, c, d, h, w}, op);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate((long) expected.length * 4, 64);
            Pooling.maxpool3dNdhwc(o, ndhwc(arena, x, n, c, d * h * w), n, d, h, w, c, (int) y[2], (int) y[3], (int) y[4],
                    3, 2, 1);
            // Max-pool picks one input: exact equality.
            assertArrayEquals(expected, toNcdhw(o, n, c, (int) (y[2] * y[3] * y[4])), "maxpool");
        }
    }

    @ParameterizedTest(name = "gap n={0} c={1} {2}x{3}x{4}")
    @CsvSource({"2, 19, 3, 4, 5", "3, 512, 3, 3, 3", "1, 7, 1, 1, 1"})
    void globalAveragePoolTwinMatchesReference(int n, int c, int d, int h, int w) {
        float[] x = random(n * c * d * h * w, 5);
        float[] expected = ReferenceNorm.globalAvgPool(x, new long[] {n, c, d, h, w});
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate((long) n * c * 4, 64);
            Pooling.globalAvgPoolNdhwc(o, ndhwc(arena, x, n, c, d * h * w), n, d * h * w, c, c);
            assertClose(expected, o.toArray(JAVA_FLOAT), "gap");
        }
    }

    @ParameterizedTest(name = "shortcut A n={0} cin={1} cout={2} {3}x{4}x{5} s={6}")
    @CsvSource({"2, 5, 12, 7, 6, 5, 2", "1, 8, 8, 4, 4, 4, 1", "1, 3, 16, 9, 9, 9, 2"})
    void shortcutATwinMatchesReference(int n, int cin, int cout, int d, int h, int w, int s) {
        float[] x = random(n * cin * d * h * w, 6);
        Op.ShortcutA op = new Op.ShortcutA(s, cout);
        long[] y = op.outputShape(new long[][] {{n, cin, d, h, w}}, name -> null);
        float[] expected = ReferenceLayout.shortcutA(x, new long[] {n, cin, d, h, w}, op);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate((long) expected.length * 4, 64);
            Shortcut.shortcutANdhwc(o, ndhwc(arena, x, n, cin, d * h * w), n, d, h, w, cin, (int) y[2], (int) y[3],
                    (int) y[4], cout, s);
            // A copy of every s-th voxel and zeros: exact.
            assertArrayEquals(expected, toNcdhw(o, n, cout, (int) (y[2] * y[3] * y[4])), "shortcut A");
        }
    }

    @Test
    void layoutPadsChannelsWithZeros() {
        try (Arena arena = Arena.ofConfined()) {
            float[] x = random(2 * 3 * 5, 7);
            MemorySegment in = arena.allocate(x.length * 4L, 64);
            MemorySegment.copy(x, 0, in, JAVA_FLOAT, 0, x.length);
            MemorySegment out = arena.allocate(2 * 5 * 8 * 4L, 64);
            Layout.ncdhwToNdhwc(out, in, 2, 3, 5, 8);
            for (int i = 0; i < 2; i++) {
                for (int s = 0; s < 5; s++) {
                    for (int c = 0; c < 8; c++) {
                        float e = c < 3 ? x[(i * 3 + c) * 5 + s] : 0f;
                        assertEquals(e, out.getAtIndex(JAVA_FLOAT, (i * 5L + s) * 8 + c), 0f);
                    }
                }
            }
        }
    }

    @Test
    void headTwinsMatchDefinitions() {
        int batch = 3;
        int inF = 37;
        int outF = 11;
        try (Arena arena = Arena.ofConfined()) {
            float[] x = random(batch * inF, 8);
            float[] w = random(outF * inF, 9);
            float[] b = random(outF, 10);
            MemorySegment xs = seg(arena, x);
            MemorySegment ws = seg(arena, w);
            MemorySegment bs = seg(arena, b);
            MemorySegment y = arena.allocate((long) batch * outF * 4, 64);
            Head.linear(y, xs, ws, batch, inF, outF, outF);
            Head.biasAct(y, bs, batch, outF, 1);
            float[] expected = new float[batch * outF];
            for (int r = 0; r < batch; r++) {
                for (int o = 0; o < outF; o++) {
                    double acc = b[o];
                    for (int i = 0; i < inF; i++) {
                        acc += (double) x[r * inF + i] * w[o * inF + i];
                    }
                    expected[r * outF + o] = (float) Math.max(acc, 0);
                }
            }
            assertClose(expected, y.toArray(JAVA_FLOAT), "linear + bias + relu");

            // Gate: 5 experts in the level, this gate mixes experts 4, 1, 2 (width 6), output row stride 9.
            int width = 6;
            int[] sel = {4, 1, 2};
            float[] logits = {0.3f, -1.2f, 2.0f, 50f, 51f, 49f, -3f, 0f, 0f};
            float[] experts = random(5 * batch * width, 11);
            MemorySegment out = arena.allocate((long) batch * 9 * 4, 64);
            MemorySegment selSeg = arena.allocate(sel.length * 4L, 64);
            MemorySegment.copy(sel, 0, selSeg, JAVA_INT, 0, sel.length);
            Head.gateSoftmaxMix(out, seg(arena, logits), seg(arena, experts), selSeg, batch, width, 3, 9);
            for (int r = 0; r < batch; r++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < 3; i++) {
                    max = Math.max(max, logits[r * 3 + i]);
                }
                double sum = 0;
                for (int i = 0; i < 3; i++) {
                    sum += Math.exp(logits[r * 3 + i] - max);
                }
                for (int j = 0; j < width; j++) {
                    double e = 0;
                    for (int i = 0; i < 3; i++) {
                        e += Math.exp(logits[r * 3 + i] - max) / sum * experts[(sel[i] * batch + r) * width + j];
                    }
                    assertEquals(e, out.getAtIndex(JAVA_FLOAT, r * 9L + j), 1e-5, "gate mix " + r + "," + j);
                }
            }

            float[] z = {-1000f, -30f, -1f, 0f, 1f, 30f, 1000f};
            MemorySegment p = arena.allocate(z.length * 4L, 64);
            Head.sigmoid(p, seg(arena, z), z.length);
            for (int i = 0; i < z.length; i++) {
                float v = p.getAtIndex(JAVA_FLOAT, i);
                assertTrue(Float.isFinite(v), "sigmoid finite at " + z[i]);
                assertEquals(1 / (1 + Math.exp(-z[i])), v, 1e-7, "sigmoid(" + z[i] + ")");
            }
        }
    }

    private static MemorySegment seg(Arena arena, float[] a) {
        MemorySegment s = arena.allocate(a.length * 4L, 64);
        MemorySegment.copy(a, 0, s, JAVA_FLOAT, 0, a.length);
        return s;
    }
}
