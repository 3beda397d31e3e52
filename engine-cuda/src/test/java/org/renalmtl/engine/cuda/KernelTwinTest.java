package org.renalmtl.engine.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.bytedeco.cuda.global.cudart.cudaDeviceSynchronize;
import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaSetDevice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.renalmtl.engine.cpu.Head;
import org.renalmtl.engine.cpu.Layout;
import org.renalmtl.engine.cpu.Pooling;
import org.renalmtl.engine.cpu.Shortcut;

/**
 * Every kernel of the fatbin, launched the way {@link CudaPlan} launches it ({@link Kernels}: host
 * argument cells, grid from {@code KernelImage.gridSize}), against its CPU twin in {@code cpu/}
 * (same name, same argument order). Outputs are poisoned with NaN first, so an unwritten element
 * fails. Shapes include odd channel counts (the scalar paths) and a row stride wider than the row.
 * Data movement (layout, max-pool, shortcut, bias+ReLU) must match bit for bit; the average pool
 * and the gate mix sum in a different order than the twins (which accumulate in double), so they
 * get 1e-5 relative to the data scale; sigmoid 1e-6 absolute (IEEE expf vs Math.exp).
 */
class KernelTwinTest {
    private static Kernels kernels;
    private static final CUstream_st DEFAULT_STREAM = null;

    @BeforeAll
    static void load() {
        if (CudaRuntime.available()) {
            Cuda.check(cudaSetDevice(0), "cudaSetDevice");
            Cuda.check(cudaFree(null), "create the CUDA context"); // cuModuleLoadData needs a current context
            kernels = new Kernels(0);
        }
    }

    /** Per test, so each one is reported as skipped with the reason (a class-level abort shows as 0 tests). */
    @BeforeEach
    void gpu() {
        Assumptions.assumeTrue(CudaRuntime.available(), "no GPU: " + CudaRuntime.reason());
    }

    @AfterAll
    static void unload() {
        if (kernels != null) {
            kernels.close();
        }
    }

    private static void sync() {
        Cuda.check(cudaDeviceSynchronize(), "kernel");
    }

    private static void assertClose(MemorySegment expected, MemorySegment actual, long n, double tol, String what) {
        for (long i = 0; i < n; i++) {
            float e = expected.getAtIndex(JAVA_FLOAT, i);
            float a = actual.getAtIndex(JAVA_FLOAT, i);
            if (tol == 0) {
                assertEquals(Float.floatToIntBits(e), Float.floatToIntBits(a), what + " element " + i + ": " + e + " vs " + a);
            } else {
                assertEquals(e, a, tol, what + " element " + i);
            }
        }
    }

    @Test
    void ncdhwToNdhwc() {
        int[][] shapes = {{3, 1, 1000, 8}, {2, 3, 777, 8}, {1, 40, 100, 40}, {2, 5, 33, 7}};
        for (int[] sh : shapes) {
            int n = sh[0];
            int c = sh[1];
            int spatial = sh[2];
            int cpad = sh[3];
            try (Arena a = Arena.ofConfined(); DeviceBuffer in = GpuFixtures.upload(
                    GpuFixtures.randomFloats(a, (long) n * c * spatial, 1));
                    DeviceBuffer out = DeviceBuffer.allocate((long) n * spatial * cpad * 4, "out")) {
                MemorySegment hostIn = GpuFixtures.download(a, in.address(), (long) n * c * spatial * 4);
                GpuFixtures.poison(a, out.address(), out.bytes());
                long work = cpad <= 16 ? (long) n * spatial : (long) n * ((spatial + 31) / 32) * ((cpad + 31) / 32) * 256;
                kernels.launch("ncdhw_to_ndhwc", work).ptr(out.address()).ptr(in.address()).i32(n).i32(c).i32(spatial)
                        .i32(cpad).enqueue(DEFAULT_STREAM);
                sync();
                MemorySegment expected = a.allocate((long) n * spatial * cpad * 4, 64);
                Layout.ncdhwToNdhwc(expected, hostIn, n, c, spatial, cpad);
                assertClose(expected, GpuFixtures.download(a, out.address(), expected.byteSize()),
                        (long) n * spatial * cpad, 0, "ncdhw_to_ndhwc " + java.util.Arrays.toString(sh));
            }
        }
    }

    @Test
    void maxpool3dNdhwc() {
        int[][] shapes = {{2, 9, 10, 11, 8}, {1, 7, 6, 5, 3}, {3, 4, 4, 4, 64}};
        for (int[] sh : shapes) {
            int n = sh[0];
            int d = sh[1];
            int h = sh[2];
            int w = sh[3];
            int c = sh[4];
            int k = 3;
            int s = 2;
            int p = 1;
            int od = (d + 2 * p - k) / s + 1;
            int oh = (h + 2 * p - k) / s + 1;
            int ow = (w + 2 * p - k) / s + 1;
            long outN = (long) n * od * oh * ow * c;
            try (Arena a = Arena.ofConfined();
                    DeviceBuffer in = GpuFixtures.upload(GpuFixtures.randomFloats(a, (long) n * d * h * w * c, 2));
                    DeviceBuffer out = DeviceBuffer.allocate(outN * 4, "out")) {
                MemorySegment hostIn = GpuFixtures.download(a, in.address(), (long) n * d * h * w * c * 4);
                GpuFixtures.poison(a, out.address(), outN * 4);
                kernels.launch("maxpool3d_ndhwc", outN).ptr(out.address()).ptr(in.address()).i32(n).i32(d).i32(h)
                        .i32(w).i32(c).i32(od).i32(oh).i32(ow).i32(k).i32(s).i32(p).enqueue(DEFAULT_STREAM);
                sync();
                MemorySegment expected = a.allocate(outN * 4, 64);
                Pooling.maxpool3dNdhwc(expected, hostIn, n, d, h, w, c, od, oh, ow, k, s, p);
                assertClose(expected, GpuFixtures.download(a, out.address(), outN * 4), outN, 0, "maxpool3d_ndhwc");
            }
        }
    }

    @Test
    void globalAvgPoolNdhwc() {
        int[][] shapes = {{2, 27, 24, 24}, {3, 1000, 37, 80}, {1, 5, 512, 512}};
        for (int[] sh : shapes) {
            int n = sh[0];
            int spatial = sh[1];
            int c = sh[2];
            int stride = sh[3];
            try (Arena a = Arena.ofConfined();
                    DeviceBuffer in = GpuFixtures.upload(GpuFixtures.randomFloats(a, (long) n * spatial * c, 3));
                    DeviceBuffer out = DeviceBuffer.allocate((long) n * stride * 4, "out")) {
                MemorySegment hostIn = GpuFixtures.download(a, in.address(), (long) n * spatial * c * 4);
                GpuFixtures.poison(a, out.address(), (long) n * stride * 4);
                kernels.launch("global_avg_pool_ndhwc", (long) n * ((c + 31) / 32) * 256).ptr(out.address())
                        .ptr(in.address()).i32(n).i32(spatial).i32(c).i32(stride).enqueue(DEFAULT_STREAM);
                sync();
                MemorySegment expected = GpuFixtures.download(a, out.address(), (long) n * stride * 4); // keeps the poison
                MemorySegment got = GpuFixtures.download(a, out.address(), (long) n * stride * 4);
                Pooling.globalAvgPoolNdhwc(expected, hostIn, n, spatial, c, stride);
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < stride; j++) {
                        float e = expected.getAtIndex(JAVA_FLOAT, (long) i * stride + j);
                        float g = got.getAtIndex(JAVA_FLOAT, (long) i * stride + j);
                        if (j >= c) {
                            assertTrue(Float.isNaN(g), "outside the row slice must be untouched");
                        } else {
                            assertEquals(e, g, 1e-5, "mean of sample " + i + " channel " + j);
                        }
                    }
                }
            }
        }
    }

    @Test
    void shortcutANdhwc() {
        int[][] shapes = {{2, 8, 8, 8, 16, 32, 2}, {1, 5, 6, 7, 3, 5, 2}, {2, 4, 4, 4, 8, 8, 1}};
        for (int[] sh : shapes) {
            int n = sh[0];
            int d = sh[1];
            int h = sh[2];
            int w = sh[3];
            int cin = sh[4];
            int cout = sh[5];
            int s = sh[6];
            int od = (d - 1) / s + 1;
            int oh = (h - 1) / s + 1;
            int ow = (w - 1) / s + 1;
            long outN = (long) n * od * oh * ow * cout;
            try (Arena a = Arena.ofConfined();
                    DeviceBuffer in = GpuFixtures.upload(GpuFixtures.randomFloats(a, (long) n * d * h * w * cin, 4));
                    DeviceBuffer out = DeviceBuffer.allocate(outN * 4, "out")) {
                MemorySegment hostIn = GpuFixtures.download(a, in.address(), (long) n * d * h * w * cin * 4);
                GpuFixtures.poison(a, out.address(), outN * 4);
                kernels.launch("shortcut_a_ndhwc", outN).ptr(out.address()).ptr(in.address()).i32(n).i32(d).i32(h)
                        .i32(w).i32(cin).i32(od).i32(oh).i32(ow).i32(cout).i32(s).enqueue(DEFAULT_STREAM);
                sync();
                MemorySegment expected = a.allocate(outN * 4, 64);
                Shortcut.shortcutANdhwc(expected, hostIn, n, d, h, w, cin, od, oh, ow, cout, s);
                assertClose(expected, GpuFixtures.download(a, out.address(), outN * 4), outN, 0, "shortcut_a_ndhwc");
            }
        }
    }

    @Test
    void biasAct() {
        int[][] shapes = {{8, 256, 1}, {3, 7, 0}, {1, 64, 1}, {8, 3, 0}};
        for (int[] sh : shapes) {
            int rows = sh[0];
            int cols = sh[1];
            int relu = sh[2];
            try (Arena a = Arena.ofConfined();
                    DeviceBuffer x = GpuFixtures.upload(GpuFixtures.randomFloats(a, (long) rows * cols, 5));
                    DeviceBuffer b = GpuFixtures.upload(GpuFixtures.randomFloats(a, cols, 6))) {
                MemorySegment expected = GpuFixtures.download(a, x.address(), (long) rows * cols * 4);
                MemorySegment bias = GpuFixtures.download(a, b.address(), (long) cols * 4);
                kernels.launch("bias_act", (long) rows * cols).ptr(x.address()).ptr(b.address()).i32(rows).i32(cols)
                        .i32(relu).enqueue(DEFAULT_STREAM);
                sync();
                Head.biasAct(expected, bias, rows, cols, relu);
                assertClose(expected, GpuFixtures.download(a, x.address(), (long) rows * cols * 4), (long) rows * cols, 0,
                        "bias_act");
            }
        }
    }

    @Test
    void gateSoftmaxMix() {
        int[][] shapes = {{8, 128, 4, 7, 128}, {1, 16, 3, 3, 16}, {3, 5, 2, 4, 9}};
        for (int[] sh : shapes) {
            int batch = sh[0];
            int width = sh[1];
            int nsel = sh[2];
            int experts = sh[3];
            int stride = sh[4];
            int[] sel = new int[nsel];
            for (int i = 0; i < nsel; i++) {
                sel[i] = (i * 3 + 1) % experts;
            }
            try (Arena a = Arena.ofConfined();
                    DeviceBuffer logits = GpuFixtures.upload(GpuFixtures.randomFloats(a, (long) batch * nsel, 7));
                    DeviceBuffer ex = GpuFixtures.upload(GpuFixtures.randomFloats(a, (long) experts * batch * width, 8));
                    DeviceBuffer selDev = GpuFixtures.upload(ints(a, sel));
                    DeviceBuffer out = DeviceBuffer.allocate((long) batch * stride * 4, "out")) {
                GpuFixtures.poison(a, out.address(), (long) batch * stride * 4);
                MemorySegment expected = GpuFixtures.download(a, out.address(), (long) batch * stride * 4);
                kernels.launch("gate_softmax_mix", (long) batch * width).ptr(out.address()).ptr(logits.address())
                        .ptr(ex.address()).ptr(selDev.address()).i32(batch).i32(width).i32(nsel).i32(stride)
                        .enqueue(DEFAULT_STREAM);
                sync();
                Head.gateSoftmaxMix(expected, GpuFixtures.download(a, logits.address(), (long) batch * nsel * 4),
                        GpuFixtures.download(a, ex.address(), (long) experts * batch * width * 4), ints(a, sel), batch,
                        width, nsel, stride);
                MemorySegment got = GpuFixtures.download(a, out.address(), (long) batch * stride * 4);
                for (long i = 0; i < (long) batch * stride; i++) {
                    float e = expected.getAtIndex(JAVA_FLOAT, i);
                    float g = got.getAtIndex(JAVA_FLOAT, i);
                    if (Float.isNaN(e)) {
                        assertTrue(Float.isNaN(g), "outside the row slice must be untouched");
                    } else {
                        assertEquals(e, g, 1e-5, "gate mix element " + i);
                    }
                }
            }
        }
    }

    @Test
    void sigmoid() {
        float[] special = {0f, 1f, -1f, 30f, -30f, 100f, -100f, 1e30f, -1e30f, Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY};
        int n = 1000 + special.length;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = GpuFixtures.randomFloats(a, n, 9);
            for (int i = 0; i < special.length; i++) {
                host.setAtIndex(JAVA_FLOAT, 1000 + i, special[i]);
            }
            try (DeviceBuffer in = GpuFixtures.upload(host); DeviceBuffer out = DeviceBuffer.allocate(n * 4L, "out")) {
                GpuFixtures.poison(a, out.address(), n * 4L);
                kernels.launch("sigmoid", n).ptr(out.address()).ptr(in.address()).i32(n).enqueue(DEFAULT_STREAM);
                sync();
                MemorySegment expected = a.allocate(n * 4L, 64);
                Head.sigmoid(expected, host, n);
                assertClose(expected, GpuFixtures.download(a, out.address(), n * 4L), n, 1e-6, "sigmoid");
            }
        }
    }

    private static MemorySegment ints(Arena a, int[] v) {
        MemorySegment s = a.allocate((long) v.length * Integer.BYTES, 64);
        MemorySegment.copy(v, 0, s, JAVA_INT, 0, v.length);
        return s;
    }
}
