package org.renalmtl.engine.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.renalmtl.engine.graph.Activation;
import org.renalmtl.engine.graph.Dims3;
import org.renalmtl.engine.graph.Op;
import org.renalmtl.engine.graph.Reference;
import org.renalmtl.engine.graph.ReferenceConv;
import org.renalmtl.engine.graph.ReferenceLayout;
import org.renalmtl.engine.graph.ReferenceNorm;

/**
 * The plain Java twins of our CUDA kernels (llm.c's rule: same name, same argument order; they are the
 * oracle {@code KernelTwinTest} holds the GPU kernels to) against the graph {@code Reference} and the
 * definitions, so the twins are proven on a machine without a GPU: NDHWC max-pool, global average pool
 * and type-A shortcut, the strided copy (layout changes, slices, concat, reshape), affine + activation
 * (also after the head's Linear, the cuBLAS GEMM's twin), add + activation, instance norm and the
 * pointer-array gate mix. Max-pool, shortcut and copy are copies (exact); twins that do the
 * reference's double arithmetic in the reference's order are exact; the rest is fp32 against double:
 * 1e-5 of the largest |output| (sums of ≤ 512 terms).
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

    /** NCDHW → NDHWC in plain loops, independent of the twins (the inverse of {@link #toNcdhw}). */
    private static MemorySegment ndhwc(Arena arena, float[] ncdhw, int n, int c, int spatial) {
        MemorySegment out = arena.allocate((long) ncdhw.length * 4, 64);
        for (int i = 0; i < n; i++) {
            for (int s = 0; s < spatial; s++) {
                for (int ch = 0; ch < c; ch++) {
                    out.setAtIndex(JAVA_FLOAT, ((long) i * spatial + s) * c + ch, ncdhw[(i * c + ch) * spatial + s]);
                }
            }
        }
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

    @ParameterizedTest(name = "maxpool n={0} c={1} {2}x{3}x{4} k{5}{6}{7} s{8}{9}{10} p{11}{12}{13}")
    @CsvSource({"2, 19, 9, 8, 7, 3, 3, 3, 2, 2, 2, 1, 1, 1", "1, 64, 48, 48, 48, 3, 3, 3, 2, 2, 2, 1, 1, 1",
        "3, 5, 2, 3, 1, 3, 3, 3, 2, 2, 2, 1, 1, 1", "2, 7, 6, 9, 10, 1, 2, 2, 1, 2, 2, 0, 0, 0",
        "1, 3, 9, 5, 8, 3, 1, 2, 2, 1, 3, 1, 0, 1", "2, 4, 7, 8, 6, 2, 3, 1, 1, 2, 2, 1, 1, 0"})
    void maxPoolTwinMatchesReference(int n, int c, int d, int h, int w, int kd, int kh, int kw, int sd, int sh, int sw,
            int pd, int ph, int pw) {
        float[] x = random(n * c * d * h * w, 4);
        x[x.length / 3] = Float.NaN; // NaN propagates through the window(s) holding it
        Op.MaxPool3d op = new Op.MaxPool3d(new Dims3(kd, kh, kw), new Dims3(sd, sh, sw), new Dims3(pd, ph, pw));
        long[] y = op.outputShape(new long[][] {{n, c, d, h, w}}, name -> null);
        float[] expected = ReferenceConv.maxPool3d(x, new long[] {n, c, d, h, w}, op);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate((long) expected.length * 4, 64);
            Pooling.maxpool3dNdhwc(o, ndhwc(arena, x, n, c, d * h * w), n, d, h, w, c, (int) y[2], (int) y[3], (int) y[4],
                    kd, kh, kw, sd, sh, sw, pd, ph, pw);
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

    /** Strides (in elements) of a dense row-major tensor of these dims. */
    private static long[] denseStrides(int... dims) {
        long[] s = new long[dims.length];
        long v = 1;
        for (int k = dims.length - 1; k >= 0; k--) {
            s[k] = v;
            v *= dims[k];
        }
        return s;
    }

    /** NDHWC strides of a tensor (n, c, d, h, w), in that (logical NCDHW) axis order. */
    private static long[] ndhwcStrides(int n, int c, int d, int h, int w) {
        return new long[] {(long) d * h * w * c, 1, (long) h * w * c, (long) w * c, c};
    }

    /** Copy.copyNd with rank-5 dims/strides (pass leading 1s for a lower rank). */
    private static void copy(MemorySegment out, int[] od, long[] os, MemorySegment in, int[] id, long[] is) {
        long count = 1;
        for (int v : od) {
            count *= v;
        }
        Copy.copyNd(out, in, count, od[0], od[1], od[2], od[3], od[4], os[0], os[1], os[2], os[3], os[4], id[0], id[1], id[2],
                id[3], id[4], is[0], is[1], is[2], is[3], is[4]);
    }

    @ParameterizedTest(name = "copy_nd layout n={0} c={1} {2}x{3}x{4}")
    @CsvSource({"1, 1, 9, 8, 7", "2, 5, 7, 6, 5", "3, 32, 4, 3, 5"})
    void copyNdChangesLayoutSlicesAndReshapes(int n, int c, int d, int h, int w) {
        int sp = d * h * w;
        int[] dims = {n, c, d, h, w};
        long[] shape = {n, c, d, h, w};
        float[] x = random(n * c * sp, 12);
        try (Arena arena = Arena.ofConfined()) {
            // NCDHW -> NDHWC through strides on the out side: the plain permutation, bit for bit.
            MemorySegment nd = arena.allocate(x.length * 4L, 64);
            copy(nd, dims, ndhwcStrides(n, c, d, h, w), seg(arena, x), dims, denseStrides(dims));
            assertArrayEquals(ndhwc(arena, x, n, c, sp).toArray(JAVA_FLOAT), nd.toArray(JAVA_FLOAT), "ncdhw -> ndhwc");
            // ... and back through strides on the in side.
            MemorySegment back = arena.allocate(x.length * 4L, 64);
            copy(back, dims, denseStrides(dims), nd, dims, ndhwcStrides(n, c, d, h, w));
            assertArrayEquals(x, back.toArray(JAVA_FLOAT), "ndhwc -> ncdhw");

            // Slice of the batch (a pointer offset and a dense copy) and of the channels (strided in side).
            Op.Slice batch = new Op.Slice(0, n - 1, 1);
            MemorySegment sb = arena.allocate((long) c * sp * 4, 64);
            copy(sb, new int[] {1, 1, 1, sp, c}, denseStrides(1, 1, 1, sp, c),
                    nd.asSlice((long) (n - 1) * sp * c * 4), new int[] {1, 1, 1, sp, c}, denseStrides(1, 1, 1, sp, c));
            assertArrayEquals(ReferenceLayout.slice(x, shape, batch), toNcdhw(sb, 1, c, sp), "slice of the batch");
            int start = c / 3;
            int len = c - start > 1 ? c - start - 1 : 1;
            Op.Slice channels = new Op.Slice(1, start, len);
            MemorySegment sc = arena.allocate((long) n * sp * len * 4, 64);
            copy(sc, new int[] {1, 1, n, sp, len}, denseStrides(1, 1, n, sp, len), nd.asSlice(start * 4L),
                    new int[] {1, 1, n, sp, len}, new long[] {0, 0, (long) sp * c, c, 1});
            assertArrayEquals(ReferenceLayout.slice(x, shape, channels), toNcdhw(sc, n, len, sp), "slice of the channels");

            // Reshape across layouts: NDHWC storage of (n, c, d, h, w) to the dense (n, c·d·h·w) of PyTorch's flatten.
            Op.Reshape flat = new Op.Reshape(new long[] {n, (long) c * sp});
            MemorySegment fl = arena.allocate(x.length * 4L, 64);
            copy(fl, new int[] {1, 1, 1, n, c * sp}, denseStrides(1, 1, 1, n, c * sp), nd, dims, ndhwcStrides(n, c, d, h, w));
            assertArrayEquals(ReferenceLayout.reshape(x, shape, flat), fl.toArray(JAVA_FLOAT), "flatten");
        }
    }

    @ParameterizedTest(name = "copy_nd concat n={0} {1}x{2}x{3}")
    @CsvSource({"1, 3, 4, 5", "2, 7, 1, 3"})
    void copyNdConcatenatesIntoChannelSlices(int n, int d, int h, int w) {
        int sp = d * h * w;
        int[] cs = {3, 8, 5};
        int total = 16;
        float[][] xs = new float[cs.length][];
        long[][] shapes = new long[cs.length][];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate((long) n * sp * total * 4, 64);
            int at = 0;
            for (int q = 0; q < cs.length; q++) {
                xs[q] = random(n * cs[q] * sp, 20 + q);
                shapes[q] = new long[] {n, cs[q], d, h, w};
                // Each NDHWC input into its channel slice [at, at + c_q) of the NDHWC output.
                copy(out.asSlice(at * 4L), new int[] {1, 1, n, sp, cs[q]}, new long[] {0, 0, (long) sp * total, total, 1},
                        ndhwc(arena, xs[q], n, cs[q], sp), new int[] {1, 1, n, sp, cs[q]}, denseStrides(1, 1, n, sp, cs[q]));
                at += cs[q];
            }
            assertArrayEquals(ReferenceLayout.concat(xs, shapes), toNcdhw(out, n, total, sp), "concat");
        }
    }

    @ParameterizedTest(name = "affine_act {0}")
    @CsvSource({"NONE", "RELU", "LEAKY_RELU", "SIGMOID", "TANH"})
    void affineActMatchesReference(Activation.Kind kind) {
        Activation act = kind == Activation.Kind.LEAKY_RELU ? Activation.leakyRelu(0.01f) : new Activation(kind, 0f);
        try (Arena arena = Arena.ofConfined()) {
            // 1. Bias + activation after a GEMM without bias (cuBLAS), in place, against Reference.linear.
            int batch = 3;
            int inF = 37;
            int outF = 11;
            float[] x = random(batch * inF, 30);
            float[] wt = random(outF * inF, 31);
            float[] b = random(outF, 32);
            MemorySegment y = arena.allocate((long) batch * outF * 4, 64);
            Head.linear(y, seg(arena, x), seg(arena, wt), batch, inF, outF, outF);
            Elementwise.affineAct(y, y, MemorySegment.NULL, seg(arena, b), batch, outF, kind.ordinal(), act.slope());
            // The GEMM's sum is rounded to float before the bias is added (the reference rounds once): 1e-5
            // of the largest |y|.
            assertClose(Reference.linear(x, new long[] {batch, inF}, wt, new long[] {outF, inF}, b,
                    new Op.Linear("w", "b", act)), y.toArray(JAVA_FLOAT), "linear + bias + " + act);

            // 2. An unfolded BatchNorm on NDHWC (host folds to scale, shift), batch 2, 13 channels, odd volume.
            int n = 2;
            int c = 13;
            int sp = 5 * 3 * 7;
            float[] v = random(n * c * sp, 33);
            float[] gamma = random(c, 34);
            float[] beta = random(c, 35);
            float[] mean = random(c, 36);
            float[] var = new float[c];
            float[] scale = new float[c];
            float[] shift = new float[c];
            float eps = 1e-5f;
            for (int ch = 0; ch < c; ch++) {
                var[ch] = 0.5f + ch * 0.1f;
                double s = gamma[ch] / Math.sqrt(var[ch] + (double) eps);
                scale[ch] = (float) s;
                shift[ch] = (float) (beta[ch] - mean[ch] * s);
            }
            MemorySegment bn = arena.allocate(v.length * 4L, 64);
            Elementwise.affineAct(bn, ndhwc(arena, v, n, c, sp), seg(arena, scale), seg(arena, shift), (long) n * sp, c,
                    kind.ordinal(), act.slope());
            // Folding rounds scale and shift to float: a few ulps of the largest term, far inside 1e-5 of max |y|.
            assertClose(ReferenceNorm.batchNorm(v, new long[] {n, c, 5, 3, 7}, gamma, beta, mean, var,
                    new Op.BatchNorm("g", "b", "m", "v", eps, act)), toNcdhw(bn, n, c, sp), "batch norm + " + act);

            // 3. The activation alone (no scale, no shift) is the reference's add of zero: the same double, exact.
            float[] z = random(257, 37);
            z[5] = 1000f;
            z[6] = -1000f;
            MemorySegment za = arena.allocate(z.length * 4L, 64);
            Elementwise.affineAct(za, seg(arena, z), null, null, 1, z.length, kind.ordinal(), act.slope());
            assertArrayEquals(Reference.add(z, new float[z.length], new long[] {z.length}, new Op.Add(act)),
                    za.toArray(JAVA_FLOAT), "standalone " + act);
        }
    }

    @ParameterizedTest(name = "add_act {0}")
    @CsvSource({"NONE", "RELU", "LEAKY_RELU", "SIGMOID", "TANH"})
    void addActMatchesReference(Activation.Kind kind) {
        Activation act = kind == Activation.Kind.LEAKY_RELU ? Activation.leakyRelu(0.01f) : new Activation(kind, 0f);
        float[] a = random(4099, 40);
        float[] b = random(4099, 41);
        a[1] = Float.NaN;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment as = seg(arena, a);
            // In place into a (the residual add): the twin does the reference's double add and activation, exact.
            Elementwise.addAct(as, as, seg(arena, b), a.length, kind.ordinal(), act.slope());
            assertArrayEquals(Reference.add(a, b, new long[] {a.length}, new Op.Add(act)), as.toArray(JAVA_FLOAT),
                    "add + " + act);
        }
    }

    @ParameterizedTest(name = "instance norm n={0} c={1} {2}x{3}x{4} affine={5}")
    @CsvSource({"1, 5, 3, 4, 5, true", "2, 13, 7, 6, 5, false", "3, 32, 4, 4, 4, true", "1, 3, 1, 1, 1, true"})
    void instanceNormTwinMatchesReference(int n, int c, int d, int h, int w, boolean affine) {
        int sp = d * h * w;
        float[] x = random(n * c * sp, 50);
        for (int i = 0; i < x.length; i++) {
            x[i] = x[i] * 3 + 10; // |mean| > std: a naive E[x²] − E[x]² would cancel
        }
        float[] gamma = affine ? random(c, 51) : null;
        float[] beta = affine ? random(c, 52) : null;
        Op.InstanceNorm3d op = new Op.InstanceNorm3d(affine ? "g" : null, affine ? "b" : null, 1e-5f,
                Activation.leakyRelu(0.01f));
        float[] expected = ReferenceNorm.instanceNorm3d(x, new long[] {n, c, d, h, w}, gamma, beta, op);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate(x.length * 4L, 64);
            Norm.instanceNormNdhwc(o, ndhwc(arena, x, n, c, sp), affine ? seg(arena, gamma) : MemorySegment.NULL,
                    affine ? seg(arena, beta) : MemorySegment.NULL, n, sp, c, 1e-5f, Activation.Kind.LEAKY_RELU.ordinal(), 0.01f);
            // The reference's two double passes and formula in the reference's order: exact.
            assertArrayEquals(expected, toNcdhw(o, n, c, sp), "instance norm");
        }
    }

    @ParameterizedTest(name = "gate mix batch={0} width={1} e={2}")
    @CsvSource({"1, 6, 3", "4, 16, 5", "2, 7, 1"})
    void gateMixTwinMatchesReference(int batch, int width, int e) {
        float[] logits = random(batch * e, 60);
        logits[0] = 60f; // a large logit: the max-subtraction must keep exp finite
        float[][] experts = new float[e][];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment[] segs = new MemorySegment[e];
            for (int i = 0; i < e; i++) {
                experts[i] = random(batch * width, 61 + i);
                segs[i] = seg(arena, experts[i]);
            }
            MemorySegment o = arena.allocate((long) batch * width * 4, 64);
            Head.gateMix(o, seg(arena, logits), segs, batch, width, e);
            // The reference's double softmax and sum in the reference's order: exact.
            assertArrayEquals(Reference.gateMix(logits, new long[] {batch, e}, experts, new long[] {batch, width}),
                    o.toArray(JAVA_FLOAT), "gate mix");
        }
    }

    private static MemorySegment seg(Arena arena, float[] a) {
        MemorySegment s = arena.allocate(a.length * 4L, 64);
        MemorySegment.copy(a, 0, s, JAVA_FLOAT, 0, a.length);
        return s;
    }
}
