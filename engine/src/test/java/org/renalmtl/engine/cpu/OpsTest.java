package org.renalmtl.engine.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.renalmtl.engine.classifier.BackboneGraph;
import org.renalmtl.engine.classifier.Op;
import org.renalmtl.engine.classifier.Value;

/**
 * Each CPU op against a plain reference written from the definition, with odd shapes and tails:
 * oneDNN convolution, max-pool, global average pool and the identity-conv shortcut through
 * {@link DnnlBackbone}; the head twins directly. The reference convolution accumulates in double.
 * Tolerance for fp32 ops against it: 1e-5 of the largest |output| (each output sums ≤ 1 000
 * products; fp32 reassociation costs ~1e-7 relative per term at worst).
 */
class OpsTest {
    private static final double REL = 1e-5;

    /** Runs a one-op graph through oneDNN; input and output are plain NCDHW. */
    private static float[] runDnnl(List<Value> values, Op op, int n, float[] input) {
        BackboneGraph g = BackboneGraph.of(values, List.of(op));
        Value out = values.get(values.size() - 1);
        try (DnnlBackbone b = new DnnlBackbone(g, n, (int) out.elements()); Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate((long) input.length * 4, 64);
            MemorySegment.copy(input, 0, in, JAVA_FLOAT, 0, input.length);
            MemorySegment o = arena.allocate(n * out.elements() * 4, 64);
            MemorySegment scratch = arena.allocate(Math.max(b.scratchBytes(), 64), 64);
            b.bind(arena.allocate(64, 64), new long[0], scratch, in, o);
            b.execute(in, o);
            return o.toArray(JAVA_FLOAT);
        }
    }

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    static int out(int in, int k, int s, int p, int d) {
        return Math.floorDiv(in + 2 * p - d * (k - 1) - 1, s) + 1;
    }

    /** Direct convolution from the definition, NCDHW, double accumulation. */
    static float[] referenceConv(float[] x, float[] w, float[] bias, int n, int cin, int cout, int[] in, int k, int s,
            int p, int d, boolean relu) {
        int od = out(in[0], k, s, p, d);
        int oh = out(in[1], k, s, p, d);
        int ow = out(in[2], k, s, p, d);
        float[] y = new float[n * cout * od * oh * ow];
        for (int i = 0; i < n; i++) {
            for (int co = 0; co < cout; co++) {
                for (int z = 0; z < od; z++) {
                    for (int yy = 0; yy < oh; yy++) {
                        for (int xx = 0; xx < ow; xx++) {
                            double acc = bias[co];
                            for (int ci = 0; ci < cin; ci++) {
                                for (int a = 0; a < k; a++) {
                                    int iz = z * s - p + a * d;
                                    if (iz < 0 || iz >= in[0]) {
                                        continue;
                                    }
                                    for (int b = 0; b < k; b++) {
                                        int iy = yy * s - p + b * d;
                                        if (iy < 0 || iy >= in[1]) {
                                            continue;
                                        }
                                        for (int c = 0; c < k; c++) {
                                            int ix = xx * s - p + c * d;
                                            if (ix < 0 || ix >= in[2]) {
                                                continue;
                                            }
                                            acc += (double) x[(((i * cin + ci) * in[0] + iz) * in[1] + iy) * in[2] + ix]
                                                    * w[(((co * cin + ci) * k + a) * k + b) * k + c];
                                        }
                                    }
                                }
                            }
                            y[(((i * cout + co) * od + z) * oh + yy) * ow + xx] = (float) (relu ? Math.max(acc, 0) : acc);
                        }
                    }
                }
            }
        }
        return y;
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

    @ParameterizedTest(name = "conv n={0} cin={1} cout={2} in={3}x{4}x{5} k={6} s={7} p={8} d={9} relu={10}")
    @CsvSource({
        "2, 3, 5, 7, 9, 11, 3, 2, 1, 2, true",
        "3, 1, 8, 13, 10, 9, 7, 2, 3, 1, true",
        "1, 16, 24, 5, 6, 7, 1, 2, 0, 1, false",
        "1, 17, 13, 6, 5, 4, 3, 1, 1, 1, true",
        "2, 9, 7, 8, 8, 8, 3, 1, 4, 4, false"
    })
    void convolutionMatchesDefinition(int n, int cin, int cout, int d, int h, int w, int k, int s, int p, int dil,
            boolean relu) {
        float[] x = random(n * cin * d * h * w, 1);
        float[] wt = random(cout * cin * k * k * k, 2);
        float[] bias = random(cout, 3);
        Value vin = new Value(cin, d, h, w);
        Value vout = new Value(cout, out(d, k, s, p, dil), out(h, k, s, p, dil), out(w, k, s, p, dil));
        int[] k3 = {k, k, k};
        Op.Conv op = new Op.Conv("conv", 0, 1, -1, cin, cout, k3, new int[] {s, s, s}, new int[] {p, p, p},
                new int[] {dil, dil, dil}, relu, false, wt, bias);
        float[] got = runDnnl(List.of(vin, vout), op, n, x);
        assertClose(referenceConv(x, wt, bias, n, cin, cout, new int[] {d, h, w}, k, s, p, dil, relu), got, "conv");
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
    void maxPoolMatchesTwin(int n, int c, int d, int h, int w) {
        float[] x = random(n * c * d * h * w, 4);
        Value vin = new Value(c, d, h, w);
        Value vout = new Value(c, out(d, 3, 2, 1, 1), out(h, 3, 2, 1, 1), out(w, 3, 2, 1, 1));
        float[] got = runDnnl(List.of(vin, vout), new Op.MaxPool(0, 1, 3, 2, 1), n, x);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate(n * vout.elements() * 4, 64);
            Pooling.maxpool3dNdhwc(o, ndhwc(arena, x, n, c, d * h * w), n, d, h, w, c, vout.d(), vout.h(), vout.w(), 3, 2, 1);
            // Max-pool picks one input: exact equality.
            assertClose(toNcdhw(o, n, c, (int) vout.spatial()), got, "maxpool");
        }
    }

    @ParameterizedTest(name = "gap n={0} c={1} {2}x{3}x{4}")
    @CsvSource({"2, 19, 3, 4, 5", "3, 512, 3, 3, 3", "1, 7, 1, 1, 1"})
    void globalAveragePoolMatchesTwin(int n, int c, int d, int h, int w) {
        float[] x = random(n * c * d * h * w, 5);
        Value vin = new Value(c, d, h, w);
        Value vout = new Value(c, 1, 1, 1);
        float[] got = runDnnl(List.of(vin, vout), new Op.GlobalAvgPool(0, 1), n, x);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate((long) n * c * 4, 64);
            Pooling.globalAvgPoolNdhwc(o, ndhwc(arena, x, n, c, d * h * w), n, d * h * w, c, c);
            assertClose(o.toArray(JAVA_FLOAT), got, "gap");
        }
    }

    @ParameterizedTest(name = "shortcut A n={0} cin={1} cout={2} {3}x{4}x{5} s={6}")
    @CsvSource({"2, 5, 12, 7, 6, 5, 2", "1, 8, 8, 4, 4, 4, 1", "1, 3, 16, 9, 9, 9, 2"})
    void identityShortcutMatchesTwin(int n, int cin, int cout, int d, int h, int w, int s) {
        float[] x = random(n * cin * d * h * w, 6);
        Value vin = new Value(cin, d, h, w);
        Value vout = new Value(cout, out(d, 1, s, 0, 1), out(h, 1, s, 0, 1), out(w, 1, s, 0, 1));
        float[] wt = new float[cout * cin];
        for (int c = 0; c < cin; c++) {
            wt[c * cin + c] = 1f;
        }
        int[] one = {1, 1, 1};
        Op.Conv op = new Op.Conv("shortcutA", 0, 1, -1, cin, cout, one, new int[] {s, s, s}, new int[3], one, false, true,
                wt, new float[cout]);
        float[] got = runDnnl(List.of(vin, vout), op, n, x);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate(n * vout.elements() * 4, 64);
            Shortcut.shortcutANdhwc(o, ndhwc(arena, x, n, cin, d * h * w), n, d, h, w, cin, vout.d(), vout.h(), vout.w(),
                    cout, s);
            float[] expected = toNcdhw(o, n, cout, (int) vout.spatial());
            for (int i = 0; i < expected.length; i++) {
                // Identity weights: every output is one input times 1 plus zeros, so exact.
                assertEquals(expected[i], got[i], 0f, "shortcut A [" + i + "]");
            }
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
