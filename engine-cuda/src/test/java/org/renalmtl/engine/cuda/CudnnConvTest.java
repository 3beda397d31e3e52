package org.renalmtl.engine.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.bytedeco.cuda.global.cudart.cudaDeviceSynchronize;
import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaMemcpy;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;
import static org.bytedeco.cuda.global.cudart.cudaSetDevice;
import static org.bytedeco.cuda.global.cudnn.CUDNN_DATA_FLOAT;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_NCHW;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_NHWC;
import static org.bytedeco.cuda.global.cudnn.cudnnCreate;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateTensorDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroy;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyTensorDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetTensorNdDescriptorEx;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.classifier.Op;
import org.renalmtl.engine.classifier.Value;
import org.renalmtl.engine.graph.Activation;
import org.renalmtl.engine.graph.Dims3;
import org.renalmtl.engine.graph.ReferenceConv;

/**
 * One {@link CudnnConv} on the GPU against the engine's float64 reference convolution
 * ({@code ReferenceConv}, proven against PyTorch): the layer chosen by the fused-call trial, and the
 * same layer switched to the plain path (β = 1 over y holding the residual, then {@code bias_act}),
 * for each epilogue; strict fp32 choosing only FMA math; one search for identical layers; and a
 * descriptor whose read-back differs from NDHWC being caught. Skipped without a GPU, with the reason.
 */
class CudnnConvTest {
    private static final CUstream_st STREAM = null; // the legacy default stream, the handle's default
    private static final long SCRATCH = 256L << 20;
    private static final int BATCH = 2;
    private static final int CIN = 8;
    private static final int COUT = 16;
    private static final Value IN = new Value(CIN, 5, 6, 7);
    private static final int[] STRIDE = {1, 2, 1};
    private static final Value OUT = new Value(COUT, 5, 3, 7); // kernel 3, padding 1
    private static Kernels kernels;
    private static cudnnContext dnn;

    @BeforeAll
    static void load() {
        if (CudaRuntime.available()) {
            Cuda.check(cudaSetDevice(0), "cudaSetDevice");
            Cuda.check(cudaFree(null), "create the CUDA context");
            kernels = new Kernels(0);
            cudnnContext h = new cudnnContext();
            Cuda.checkDnn(cudnnCreate(h), "cudnnCreate");
            dnn = h;
        }
    }

    /** Per test, so each one is reported as skipped with the reason (a class-level abort shows as 0 tests). */
    @BeforeEach
    void gpu() {
        Assumptions.assumeTrue(CudaRuntime.available(), "no GPU: " + CudaRuntime.reason());
    }

    @AfterAll
    static void unload() {
        if (dnn != null) {
            cudnnDestroy(dnn);
        }
        if (kernels != null) {
            kernels.close();
        }
    }

    private static ConvMath.Use use(Precision p) {
        ConvMath.Decision d = ConvMath.decide(p, CudaRuntime.cudnnVersion());
        Assumptions.assumeTrue(d instanceof ConvMath.Use, () -> p.label() + " refused on this cuDNN: " + d);
        return (ConvMath.Use) d;
    }

    private static Op.Conv op(boolean relu, boolean residual, long seed) {
        float[] w = GpuFixtures.randomFloats(Arena.ofAuto(), (long) COUT * CIN * 27, seed).toArray(JAVA_FLOAT);
        for (int i = 0; i < w.length; i++) {
            w[i] *= 0.2f; // ~unit-variance outputs over 216 taps
        }
        float[] bias = GpuFixtures.randomFloats(Arena.ofAuto(), COUT, seed + 1).toArray(JAVA_FLOAT);
        int[] one = {1, 1, 1};
        return new Op.Conv("conv", 1, 2, residual ? 2 : -1, CIN, COUT, new int[] {3, 3, 3}, STRIDE, one, one, relu,
                false, w, bias);
    }

    /** One layer's device memory: input, weights, bias, output (holding z before each run), scratch. */
    private static final class Bound implements AutoCloseable {
        final Arena arena = Arena.ofConfined();
        final float[] x = GpuFixtures.randomFloats(arena, (long) BATCH * IN.spatial() * CIN, 7).toArray(JAVA_FLOAT);
        final float[] z = GpuFixtures.randomFloats(arena, (long) BATCH * OUT.spatial() * COUT, 8).toArray(JAVA_FLOAT);
        final DeviceBuffer xd = upload(arena, x);
        final DeviceBuffer yd = upload(arena, z);
        final DeviceBuffer scratch = DeviceBuffer.allocate(SCRATCH, "scratch");
        final DeviceBuffer wd;
        final DeviceBuffer bd;
        final CudnnConv conv;

        Bound(String name, Op.Conv op, ConvMath.Use use) {
            wd = upload(arena, CudnnBackbone.ndhwcWeights(op, CIN));
            bd = upload(arena, op.bias());
            conv = new CudnnConv(name, op, BATCH, CIN, IN, OUT);
            conv.bind(kernels, xd.address(), yd.address(), wd.address(), bd.address(), use.mathType());
        }

        /** Puts z back in y (the choice's trials wrote there), runs the layer as chosen, returns y. */
        float[] run() {
            MemorySegment host = arena.allocateFrom(JAVA_FLOAT, z);
            Cuda.check(cudaMemcpy(Cuda.at(yd.address()), Cuda.at(host.address()), host.byteSize(),
                    cudaMemcpyHostToDevice), "restore z");
            conv.enqueue(dnn, STREAM, Cuda.at(scratch.address()), scratch.bytes());
            Cuda.check(cudaDeviceSynchronize(), "convolution");
            return GpuFixtures.download(arena, yd.address(), host.byteSize()).toArray(JAVA_FLOAT);
        }

        @Override
        public void close() {
            conv.close();
            for (DeviceBuffer b : new DeviceBuffer[] {xd, yd, scratch, wd, bd}) {
                b.close();
            }
            arena.close();
        }
    }

    private static DeviceBuffer upload(Arena arena, float[] a) {
        return GpuFixtures.upload(arena.allocateFrom(JAVA_FLOAT, a));
    }

    /** The layer in float64 by the engine's reference, in NDHWC. */
    private static float[] reference(Op.Conv op, float[] xNdhwc, float[] zNdhwc) {
        long[] xShape = {BATCH, CIN, IN.d(), IN.h(), IN.w()};
        long[] yShape = {BATCH, COUT, OUT.d(), OUT.h(), OUT.w()};
        var ref = new org.renalmtl.engine.graph.Op.Conv3d("w", "b", Dims3.of(op.stride()), Dims3.of(op.padding()),
                Dims3.of(op.dilation()), op.residual() >= 0, op.relu() ? Activation.RELU : Activation.NONE);
        float[] y = ReferenceConv.conv3d(toNcdhw(xNdhwc, xShape), xShape, op.weight(), new long[] {COUT, CIN, 3, 3, 3},
                op.bias(), ref, op.residual() >= 0 ? toNcdhw(zNdhwc, yShape) : null);
        return toNdhwc(y, yShape);
    }

    private static float[] toNcdhw(float[] a, long[] shape) {
        return permute(a, shape, false);
    }

    private static float[] toNdhwc(float[] a, long[] shape) {
        return permute(a, shape, true);
    }

    /** Between NCDHW and NDHWC: the same walk, reading one order and writing the other. */
    private static float[] permute(float[] a, long[] shape, boolean toChannelsLast) {
        float[] out = new float[a.length];
        int c = (int) shape[1];
        int s = a.length / (int) shape[0] / c;
        for (int n = 0; n < shape[0]; n++) {
            for (int i = 0; i < s; i++) {
                for (int k = 0; k < c; k++) {
                    int last = (n * s + i) * c + k;
                    int first = (n * c + k) * s + i;
                    out[toChannelsLast ? last : first] = a[toChannelsLast ? first : last];
                }
            }
        }
        return out;
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        double scale = 0;
        for (float e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        // fp32 FMA: a few ulps per accumulation over 216 taps, relative to the output's scale.
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-5 * scale, what + " element " + i);
        }
    }

    @ParameterizedTest(name = "relu {0}, residual {1}")
    @CsvSource({"true, true", "true, false", "false, false", "false, true"})
    void chosenAndPlainPathsBothMatchTheReference(boolean relu, boolean residual) {
        ConvMath.Use fp32 = use(Precision.FP32);
        Op.Conv op = op(relu, residual, 40);
        try (Bound b = new Bound("test/conv", op, fp32)) {
            b.conv.choose(dnn, STREAM, b.scratch.address(), b.scratch.bytes(), new FindExCache(), fp32);
            ConvChoice chosen = b.conv.choice();
            float[] expected = reference(op, b.x, b.z);
            assertClose(expected, b.run(), "as chosen (" + chosen + ")");
            // The plain path, whatever the trial chose: β = 1 must keep the residual, bias_act the ReLU.
            b.conv.use(ConvChoice.Mode.UNFUSED, chosen.candidate());
            assertClose(expected, b.run(), "plain convolution + bias_act (" + b.conv.choice() + ")");
        }
    }

    @Test
    void everyPrecisionChoosesOnlyMathTypesItAccepts() {
        for (Precision p : new Precision[] {Precision.FP32, Precision.TF32, Precision.FP16}) {
            ConvMath.Decision d = ConvMath.decide(p, CudaRuntime.cudnnVersion());
            if (d instanceof ConvMath.Use u) {
                try (Bound b = new Bound("test/" + p.label(), op(true, true, 50), u)) {
                    b.conv.choose(dnn, STREAM, b.scratch.address(), b.scratch.bytes(), new FindExCache(), u);
                    int math = b.conv.choice().candidate().mathType();
                    assertTrue(u.accepted().contains(math), p + " chose " + b.conv.choice());
                }
            }
        }
    }

    @Test
    void identicalLayersShareOneSearch() {
        ConvMath.Use fp32 = use(Precision.FP32);
        FindExCache cache = new FindExCache();
        // Two backbones' layers: same shapes, other weights.
        Op.Conv second = op(true, false, 61);
        try (Bound a = new Bound("renal/arterial/conv1", op(true, false, 60), fp32);
                Bound b = new Bound("renal/venous/conv1", second, fp32)) {
            a.conv.choose(dnn, STREAM, a.scratch.address(), a.scratch.bytes(), cache, fp32);
            b.conv.choose(dnn, STREAM, b.scratch.address(), b.scratch.bytes(), cache, fp32);
            assertEquals(1, cache.searches());
            assertClose(reference(second, b.x, b.z), b.run(), "the layer that reused the search");
        }
        ConvMath.Use tf32 = use(Precision.TF32);
        try (Bound c = new Bound("mtdl/conv1", op(true, false, 62), tf32)) {
            c.conv.choose(dnn, STREAM, c.scratch.address(), c.scratch.bytes(), cache, tf32);
            assertEquals(2, cache.searches(), "another precision is another search");
        }
    }

    @Test
    void aDescriptorReadBackOtherThanNdhwcIsCaught() {
        int[] dims = {BATCH, CIN, IN.d(), IN.h(), IN.w()};
        cudnnTensorStruct t = new cudnnTensorStruct();
        Cuda.checkDnn(cudnnCreateTensorDescriptor(t), "create tensor descriptor");
        try {
            Cuda.checkDnn(cudnnSetTensorNdDescriptorEx(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 5, dims),
                    "NCDHW descriptor");
            CudaException e = assertThrows(CudaException.class, () -> CudnnConv.checkTensor("probe/conv", "x", t, dims));
            assertTrue(e.getMessage().contains("probe/conv") && e.getMessage().contains("x tensor")
                    && e.getMessage().contains("strides"), e.getMessage());
            Cuda.checkDnn(cudnnSetTensorNdDescriptorEx(t, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 5, dims),
                    "NDHWC descriptor");
            assertDoesNotThrow(() -> CudnnConv.checkTensor("probe/conv", "x", t, dims));
        } finally {
            cudnnDestroyTensorDescriptor(t);
        }
    }

    @Test
    void bindingReadsEveryDescriptorBackAsSet() {
        // Tensors, filter, convolution, activation and math type: bind throws on any difference.
        for (Precision p : new Precision[] {Precision.FP32, Precision.TF32}) {
            ConvMath.Use u = use(p);
            assertDoesNotThrow(() -> new Bound("probe/" + p.label(), op(true, true, 70), u).close());
        }
    }
}
