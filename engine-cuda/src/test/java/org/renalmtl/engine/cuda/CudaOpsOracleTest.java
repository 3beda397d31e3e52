package org.renalmtl.engine.cuda;


import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Op;
import org.renalmtl.engine.graph.OpCases;
import org.renalmtl.engine.graph.OracleBound;
import org.renalmtl.engine.graph.Reference;

/**
 * The per-op oracle on the CUDA backend (ggml's {@code test-backend-ops}), the twin of the CPU's
 * {@code CpuOpsOracleTest}: every case of {@link OpCases} (every IR op, odd shapes and tails, batch 1
 * and N, every activation) compiled by {@link CudaGraph} and run on the GPU at strict fp32, against the
 * plain Java {@link Reference}. Graph inputs arrive row-major and volumes are copied to channels-last
 * on the way in and back on the way out, so every case also checks those copies; a residual conv's z
 * is a graph input, which the schedule cannot overwrite, so every residual case runs the copy of z into
 * y as well. Without a GPU every case is reported as skipped with the probe's reason.
 */
class CudaOpsOracleTest {
    /** One table: every op's bound ({@link OracleBound}) and its reason. The reference accumulates in double and rounds once. */
    static OracleBound bound(Op op) {
        return switch (op) {
            case Op.Conv3d c -> new OracleBound(1e-5, 1e-6, "fp32 FMA sums of up to 17·27 = 459 products in cuDNN's order "
                    + "(~√K·2⁻²⁴ relative each); sigmoid/tanh by CUDA's IEEE expf/tanhf (≤ 2 ulp)");
            case Op.ConvTranspose3d t -> new OracleBound(1e-5, 1e-6, "as a conv: fp32 FMA sums of ≤ 32·8 products");
            case Op.InstanceNorm3d n -> new OracleBound(1e-5, 1e-5, "fp32 mean and variance over ≤ 210 voxels in a tree "
                    + "reduction, outputs ~N(0,1)");
            case Op.BatchNorm b -> new OracleBound(1e-6, 1e-6, "one fp32 multiply-add per element after a double rsqrt");
            case Op.MaxPool3d m -> new OracleBound(0, 0, "a max selects an input exactly");
            case Op.GlobalAvgPool g -> new OracleBound(1e-6, 0, "fp32 tree sum of ≤ 60 values, one division");
            case Op.ShortcutA s -> new OracleBound(0, 0, "a copy of every other voxel and zeros");
            case Op.Linear l -> new OracleBound(1e-5, 1e-6, "cuBLAS fp32 dot products of ≤ 64 terms (default math: no "
                    + "TF32); sigmoid/tanh by expf/tanhf");
            case Op.GateMix g -> new OracleBound(1e-6, 1e-6, "fp32 softmax of 3 logits by expf and a 3-term mix");
            case Op.Add a -> new OracleBound(3e-7, 0, "a correctly rounded fp32 add, then the activation's own rounding "
                    + "(≤ 2 ulp of expf/tanhf on outputs ≤ 1)");
            case Op.Concat c -> new OracleBound(0, 0, "a copy");
            case Op.Slice s -> new OracleBound(0, 0, "a copy");
            case Op.Reshape r -> new OracleBound(0, 0, "a copy");
        };
    }

    private static Arena arena;

    @BeforeAll
    static void open() {
        arena = Arena.ofShared();
    }

    @AfterAll
    static void close() {
        arena.close();
    }

    @TestFactory
    Stream<DynamicTest> everyOpMatchesTheReference() {
        List<DynamicTest> tests = new ArrayList<>();
        for (OpCases.Case c : OpCases.all(arena)) {
            tests.add(DynamicTest.dynamicTest(c.name(), () -> {
                RequireGpu.device();
                float[] expected = Reference.run(c.graph(), c.inputs()).values().iterator().next();
                bound(c.node().op()).check(c.name(), "gpu", expected, run(c));
            }));
        }
        return tests.stream();
    }

    /** Runs the case's graph on device 0 at strict fp32; the output read back row-major. */
    private static float[] run(OpCases.Case c) {
        Graph g = c.graph();
        try (Arena local = Arena.ofConfined(); CudaGraphRunner r = new CudaGraphRunner(g, 0, Precision.FP32)) {
            MemorySegment[] in = new MemorySegment[g.inputs().size()];
            int k = 0;
            for (Map.Entry<String, Integer> e : g.inputs().entrySet()) {
                float[] data = c.inputs().get(e.getKey());
                in[k] = local.allocate((long) data.length * Float.BYTES, 64);
                MemorySegment.copy(data, 0, in[k], ValueLayout.JAVA_FLOAT, 0, data.length);
                k++;
            }
            int y = g.outputs().values().iterator().next();
            MemorySegment out = local.allocate(g.value(y).bytes(), 64);
            r.run(in, new MemorySegment[] {out});
            return out.toArray(ValueLayout.JAVA_FLOAT);
        }
    }
}
