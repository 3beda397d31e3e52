package org.renalmtl.engine.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.bytedeco.cuda.global.cudart.cudaDeviceSynchronize;
import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaSetDevice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.renalmtl.engine.cpu.Copy;
import org.renalmtl.engine.cpu.Elementwise;
import org.renalmtl.engine.cpu.Head;
import org.renalmtl.engine.cpu.Norm;
import org.renalmtl.engine.cpu.Pooling;
import org.renalmtl.engine.cpu.Shortcut;

/**
 * Every kernel of the fatbin, launched the way {@link CudaGraph} launches it (the typed launches of
 * {@link Kernels}: host argument cells, grid from {@code KernelImage.gridSize}), against its CPU twin in
 * {@code cpu/} (same name, same argument order). Outputs are poisoned with NaN first, so an unwritten
 * element fails. Shapes include odd channel counts (the scalar paths) and a row stride wider than the
 * row. Data movement (copies, max-pool, shortcut) and ReLU / leaky ReLU epilogues must match bit for
 * bit, except that {@code affine_act} with scale and shift is one {@code fmaf} where the twin rounds a
 * double once (≤ 1 ulp: 1e-6 of the data scale); sums (average pool, instance norm, gate mix) run in
 * another order than the twins' double sums, so they get 1e-5 of the data scale; sigmoid and tanh
 * 1e-6 absolute (IEEE expf vs Math.exp).
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
        RequireGpu.device();
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
    void maxpool3dNdhwc() {
        // (n, d, h, w, c, kd, kh, kw, sd, sh, sw, pd, ph, pw): the ResNet stem's pool, then anisotropic ones.
        int[][] shapes = {{2, 9, 10, 11, 8, 3, 3, 3, 2, 2, 2, 1, 1, 1}, {1, 7, 6, 5, 3, 3, 3, 3, 2, 2, 2, 1, 1, 1},
            {3, 4, 4, 4, 64, 3, 3, 3, 2, 2, 2, 1, 1, 1}, {1, 5, 8, 9, 5, 1, 2, 3, 1, 2, 2, 0, 1, 1}};
        for (int[] sh : shapes) {
            int n = sh[0];
            int d = sh[1];
            int h = sh[2];
            int w = sh[3];
            int c = sh[4];
            int od = (d + 2 * sh[11] - sh[5]) / sh[8] + 1;
            int oh = (h + 2 * sh[12] - sh[6]) / sh[9] + 1;
            int ow = (w + 2 * sh[13] - sh[7]) / sh[10] + 1;
            long outN = (long) n * od * oh * ow * c;
            try (Arena a = Arena.ofConfined();
                    DeviceBuffer in = GpuFixtures.upload(GpuFixtures.randomFloats(a, (long) n * d * h * w * c, 2));
                    DeviceBuffer out = DeviceBuffer.allocate(outN * 4, "out")) {
                MemorySegment hostIn = GpuFixtures.download(a, in.address(), (long) n * d * h * w * c * 4);
                GpuFixtures.poison(a, out.address(), outN * 4);
                kernels.maxpool3dNdhwc(out.address(), in.address(), n, d, h, w, c, od, oh, ow, sh[5], sh[6], sh[7], sh[8],
                        sh[9], sh[10], sh[11], sh[12], sh[13]).enqueue(DEFAULT_STREAM);
                sync();
                MemorySegment expected = a.allocate(outN * 4, 64);
                Pooling.maxpool3dNdhwc(expected, hostIn, n, d, h, w, c, od, oh, ow, sh[5], sh[6], sh[7], sh[8], sh[9],
                        sh[10], sh[11], sh[12], sh[13]);
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
                kernels.globalAvgPoolNdhwc(out.address(), in.address(), n, spatial, c, stride).enqueue(DEFAULT_STREAM);
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
                kernels.shortcutANdhwc(out.address(), in.address(), n, d, h, w, cin, od, oh, ow, cout, s)
                        .enqueue(DEFAULT_STREAM);
                sync();
                MemorySegment expected = a.allocate(outN * 4, 64);
                Shortcut.shortcutANdhwc(expected, hostIn, n, d, h, w, cin, od, oh, ow, cout, s);
                assertClose(expected, GpuFixtures.download(a, out.address(), outN * 4), outN, 0, "shortcut_a_ndhwc");
            }
        }
    }

    @Test
    void copyNd() {
        // (n, c, d, h, w) NCDHW → NDHWC, then back with another shape's dims (a reshape between layouts).
        int[][] shapes = {{2, 3, 4, 5, 6}, {1, 17, 3, 1, 9}, {3, 1, 7, 7, 7}};
        for (int[] sh : shapes) {
            int n = sh[0];
            int c = sh[1];
            int d = sh[2];
            int h = sh[3];
            int w = sh[4];
            long count = (long) n * c * d * h * w;
            long[] ncdhw = {(long) c * d * h * w, (long) d * h * w, (long) h * w, w, 1};
            long[] ndhwc = {(long) d * h * w * c, 1, (long) h * w * c, (long) w * c, c};
            try (Arena a = Arena.ofConfined();
                    DeviceBuffer in = GpuFixtures.upload(GpuFixtures.randomFloats(a, count, 11));
                    DeviceBuffer out = DeviceBuffer.allocate(count * 4, "out")) {
                MemorySegment hostIn = GpuFixtures.download(a, in.address(), count * 4);
                GpuFixtures.poison(a, out.address(), count * 4);
                kernels.copyNd(out.address(), in.address(), count, n, c, d, h, w, ndhwc[0], ndhwc[1], ndhwc[2], ndhwc[3],
                        ndhwc[4], n, c, d, h, w, ncdhw[0], ncdhw[1], ncdhw[2], ncdhw[3], ncdhw[4]).enqueue(DEFAULT_STREAM);
                sync();
                MemorySegment expected = a.allocate(count * 4, 64);
                Copy.copyNd(expected, hostIn, count, n, c, d, h, w, ndhwc[0], ndhwc[1], ndhwc[2], ndhwc[3], ndhwc[4], n, c,
                        d, h, w, ncdhw[0], ncdhw[1], ncdhw[2], ncdhw[3], ncdhw[4]);
                assertClose(expected, GpuFixtures.download(a, out.address(), count * 4), count, 0, "copy_nd to NDHWC");
                // Read the NDHWC result as (n·c, d·h·w) row-major into (n, c·d·h·w) row-major: a reshape.
                try (DeviceBuffer back = DeviceBuffer.allocate(count * 4, "back")) {
                    GpuFixtures.poison(a, back.address(), count * 4);
                    int rows = n * c;
                    int cols = d * h * w;
                    kernels.copyNd(back.address(), out.address(), count, 1, 1, 1, n, c * cols, 0, 0, 0, (long) c * cols,
                            1, 1, 1, 1, rows, cols, 0, 0, 0, cols, 1).enqueue(DEFAULT_STREAM);
                    sync();
                    MemorySegment twin = a.allocate(count * 4, 64);
                    Copy.copyNd(twin, expected, count, 1, 1, 1, n, c * cols, 0, 0, 0, (long) c * cols, 1, 1, 1, 1, rows,
                            cols, 0, 0, 0, cols, 1);
                    assertClose(twin, GpuFixtures.download(a, back.address(), count * 4), count, 0, "copy_nd reshape");
                }
            }
        }
    }

    @Test
    void affineAct() {
        // (rows, cols, scale?, shift?, act): every activation, with and without scale and shift, odd widths.
        int[][] shapes = {{8, 256, 1, 1, 1}, {3, 7, 0, 1, 2}, {1, 64, 1, 0, 3}, {8, 3, 0, 0, 4}, {5, 33, 1, 1, 0}};
        for (int[] sh : shapes) {
            int rows = sh[0];
            int cols = sh[1];
            int act = sh[4];
            float slope = act == 2 ? 0.01f : 0f;
            long n = (long) rows * cols;
            try (Arena a = Arena.ofConfined();
                    DeviceBuffer x = GpuFixtures.upload(GpuFixtures.randomFloats(a, n, 5));
                    DeviceBuffer scale = GpuFixtures.upload(GpuFixtures.randomFloats(a, cols, 6));
                    DeviceBuffer shift = GpuFixtures.upload(GpuFixtures.randomFloats(a, cols, 7));
                    DeviceBuffer out = DeviceBuffer.allocate(n * 4, "out")) {
                GpuFixtures.poison(a, out.address(), n * 4);
                kernels.affineAct(out.address(), x.address(), sh[2] == 1 ? scale.address() : 0,
                        sh[3] == 1 ? shift.address() : 0, rows, cols, act, slope).enqueue(DEFAULT_STREAM);
                sync();
                MemorySegment expected = a.allocate(n * 4, 64);
                Elementwise.affineAct(expected, GpuFixtures.download(a, x.address(), n * 4),
                        sh[2] == 1 ? GpuFixtures.download(a, scale.address(), cols * 4L) : MemorySegment.NULL,
                        sh[3] == 1 ? GpuFixtures.download(a, shift.address(), cols * 4L) : MemorySegment.NULL, rows, cols,
                        act, slope);
                assertClose(expected, GpuFixtures.download(a, out.address(), n * 4), n, 1e-6, "affine_act act " + act);
            }
        }
    }

    @Test
    void addAct() {
        for (int act = 0; act <= 4; act++) {
            long n = 1001 + act;
            float slope = act == 2 ? 0.01f : 0f;
            try (Arena a = Arena.ofConfined();
                    DeviceBuffer x = GpuFixtures.upload(GpuFixtures.randomFloats(a, n, 12));
                    DeviceBuffer y = GpuFixtures.upload(GpuFixtures.randomFloats(a, n, 13));
                    DeviceBuffer out = DeviceBuffer.allocate(n * 4, "out")) {
                GpuFixtures.poison(a, out.address(), n * 4);
                kernels.addAct(out.address(), x.address(), y.address(), n, act, slope).enqueue(DEFAULT_STREAM);
                sync();
                MemorySegment expected = a.allocate(n * 4, 64);
                Elementwise.addAct(expected, GpuFixtures.download(a, x.address(), n * 4),
                        GpuFixtures.download(a, y.address(), n * 4), n, act, slope);
                assertClose(expected, GpuFixtures.download(a, out.address(), n * 4), n, act >= 3 ? 1e-6 : 0,
                        "add_act act " + act);
            }
        }
    }

    @Test
    void instanceNormNdhwc() {
        // (n, spatial, c, affine, act): nnU-Net's leaky ReLU, odd channel counts, a single-voxel-tile tail.
        int[][] shapes = {{2, 343, 32, 1, 2}, {1, 1000, 5, 0, 0}, {3, 27, 17, 1, 1}, {1, 4096, 64, 1, 2}};
        for (int[] sh : shapes) {
            int n = sh[0];
            int spatial = sh[1];
            int c = sh[2];
            int act = sh[4];
            float slope = act == 2 ? 0.01f : 0f;
            long count = (long) n * spatial * c;
            try (Arena a = Arena.ofConfined();
                    DeviceBuffer x = GpuFixtures.upload(GpuFixtures.randomFloats(a, count, 14));
                    DeviceBuffer scale = GpuFixtures.upload(GpuFixtures.randomFloats(a, c, 15));
                    DeviceBuffer shift = GpuFixtures.upload(GpuFixtures.randomFloats(a, c, 16));
                    DeviceBuffer out = DeviceBuffer.allocate(count * 4, "out")) {
                GpuFixtures.poison(a, out.address(), count * 4);
                boolean affine = sh[3] == 1;
                kernels.instanceNormNdhwc(out.address(), x.address(), affine ? scale.address() : 0,
                        affine ? shift.address() : 0, n, spatial, c, 1e-5f, act, slope).enqueue(DEFAULT_STREAM);
                sync();
                MemorySegment expected = a.allocate(count * 4, 64);
                Norm.instanceNormNdhwc(expected, GpuFixtures.download(a, x.address(), count * 4),
                        affine ? GpuFixtures.download(a, scale.address(), c * 4L) : MemorySegment.NULL,
                        affine ? GpuFixtures.download(a, shift.address(), c * 4L) : MemorySegment.NULL, n, spatial, c,
                        1e-5f, act, slope);
                assertClose(expected, GpuFixtures.download(a, out.address(), count * 4), count, 1e-5,
                        "instance_norm_ndhwc " + java.util.Arrays.toString(sh));
            }
        }
    }

    @Test
    void gateMix() {
        int[][] shapes = {{8, 128, 7}, {1, 16, 3}, {3, 5, 2}};
        for (int[] sh : shapes) {
            int batch = sh[0];
            int width = sh[1];
            int e = sh[2];
            long rows = (long) batch * width;
            try (Arena a = Arena.ofConfined();
                    DeviceBuffer logits = GpuFixtures.upload(GpuFixtures.randomFloats(a, (long) batch * e, 7));
                    DeviceBuffer ex = GpuFixtures.upload(GpuFixtures.randomFloats(a, e * rows, 8));
                    DeviceBuffer table = GpuFixtures.upload(addresses(a, ex.address(), e, rows * 4));
                    DeviceBuffer out = DeviceBuffer.allocate(rows * 4, "out")) {
                GpuFixtures.poison(a, out.address(), rows * 4);
                kernels.gateMix(out.address(), logits.address(), table.address(), batch, width, e).enqueue(DEFAULT_STREAM);
                sync();
                MemorySegment hostExperts = GpuFixtures.download(a, ex.address(), e * rows * 4);
                MemorySegment[] experts = new MemorySegment[e];
                for (int i = 0; i < e; i++) {
                    experts[i] = hostExperts.asSlice(i * rows * 4, rows * 4);
                }
                MemorySegment expected = a.allocate(rows * 4, 64);
                Head.gateMix(expected, GpuFixtures.download(a, logits.address(), (long) batch * e * 4), experts, batch,
                        width, e);
                assertClose(expected, GpuFixtures.download(a, out.address(), rows * 4), rows, 1e-5, "gate_mix");
            }
        }
    }

    /** @return e device addresses, {@code step} bytes apart from {@code base}, as a host array of pointers */
    private static MemorySegment addresses(Arena a, long base, int e, long step) {
        MemorySegment s = a.allocate((long) e * Long.BYTES, 64);
        for (int i = 0; i < e; i++) {
            s.setAtIndex(JAVA_LONG, i, base + i * step);
        }
        return s;
    }
}
