package org.renalmtl.engine.cpu;

import static org.bytedeco.dnnl.global.dnnl.*;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;
import org.renalmtl.engine.graph.OpCases;
import org.renalmtl.engine.graph.OracleBound;
import org.renalmtl.engine.graph.Reference;

/**
 * The per-op oracle on the CPU backend (ggml's {@code test-backend-ops}): every case of {@link OpCases}
 * through its oneDNN (or Java) kernel against the plain Java {@link Reference}, with plain inputs and,
 * for volumes whose channel count allows it, inputs in oneDNN's blocked nCdhw16c and nCdhw8c formats
 * (the layouts convs hand on in a real network), so each kernel is checked on what it will meet.
 */
class CpuOpsOracleTest {
    /** One table: every op's bound ({@link OracleBound}) and its reason; the reference accumulates in double. */
    static OracleBound bound(Op op) {
        return switch (op) {
            case Op.Conv3d c -> new OracleBound(1e-5, 1e-6, "fp32 sums of up to 17·27 = 459 products in oneDNN's order "
                    + "(~√K·2⁻²⁴ relative each, bounded by 1e-5 of the largest output); sigmoid/tanh post-ops are "
                    + "oneDNN polynomial approximations within ~1e-6");
            case Op.ConvTranspose3d t -> new OracleBound(1e-5, 1e-6, "as a conv: fp32 sums of ≤ 32·8 products");
            case Op.InstanceNorm3d n -> new OracleBound(1e-5, 1e-5, "fp32 mean and variance over ≤ 210 voxels, outputs ~N(0,1)");
            case Op.BatchNorm b -> new OracleBound(1e-6, 1e-6, "one fp32 multiply-add per element after an fp32 rsqrt");
            case Op.MaxPool3d m -> new OracleBound(0, 0, "a max selects an input exactly");
            case Op.GlobalAvgPool g -> new OracleBound(1e-6, 0, "fp32 mean of ≤ 60 values");
            case Op.ShortcutA s -> new OracleBound(0, 0, "a copy of every other voxel and zeros");
            case Op.Linear l -> new OracleBound(1e-5, 1e-6, "fp32 dot products of ≤ 64 terms; sigmoid/tanh approximations");
            case Op.GateMix g -> new OracleBound(1e-6, 1e-6, "fp32 softmax of 3 logits and a 3-term mix, as PyTorch's float");
            case Op.Add a -> new OracleBound(0, 0, "one correctly rounded fp32 add, as the reference's one rounding");
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
            float[] expected = Reference.run(c.graph(), c.inputs()).values().iterator().next();
            for (int tag : inputTags(c)) {
                String layout = tag == dnnl_nCdhw16c ? " [nCdhw16c input]" : tag == dnnl_nCdhw8c ? " [nCdhw8c input]"
                        : tag == dnnl_ndhwc ? " [ndhwc input]" : "";
                tests.add(DynamicTest.dynamicTest(c.name() + layout, () -> {
                    float[] got = run(c, tag);
                    bound(c.node().op()).check(c.name() + layout, "cpu", expected, got);
                }));
            }
        }
        return tests.stream();
    }

    /**
     * Plain always; blocked formats where the op reads a volume whose channels fill the blocks; for the
     * instance norm, a Java kernel that reads any layout, also padded blocks and channels-last.
     */
    private static int[] inputTags(OpCases.Case c) {
        Node n = c.node();
        if (n.op() instanceof Op.InstanceNorm3d) {
            return new int[] {dnnl_ncdhw, dnnl_nCdhw16c, dnnl_nCdhw8c, dnnl_ndhwc};
        }
        boolean volume = c.graph().value(n.input(0)).rank() == 5;
        boolean layoutFree = !(n.op() instanceof Op.Slice || n.op() instanceof Op.Reshape || n.op() instanceof Op.Concat);
        if (!volume || !layoutFree) {
            return new int[] {dnnl_ncdhw};
        }
        long channels = c.graph().value(n.input(0)).dim(1);
        return channels % 16 == 0 ? new int[] {dnnl_ncdhw, dnnl_nCdhw16c, dnnl_nCdhw8c}
                : channels % 8 == 0 ? new int[] {dnnl_ncdhw, dnnl_nCdhw8c} : new int[] {dnnl_ncdhw};
    }

    /** Runs the case's node on its CPU kernel, inputs in {@code tag} (5-D ones), the output read back plain. */
    private static float[] run(OpCases.Case c, int tag) {
        Graph g = c.graph();
        Node node = c.node();
        int arity = node.arity();
        dnnl_memory_desc[] mds = new dnnl_memory_desc[arity];
        MemorySegment[] segs = new MemorySegment[arity];
        List<dnnl_memory_desc> made = new ArrayList<>();
        try (Arena local = Arena.ofConfined()) {
            for (int i = 0; i < arity; i++) {
                long[] dims = g.value(node.input(i)).shape();
                String name = inputName(g, node.input(i));
                float[] data = c.inputs().get(name);
                MemorySegment plainSeg = local.allocate((long) data.length * Float.BYTES, 64);
                MemorySegment.copy(data, 0, plainSeg, ValueLayout.JAVA_FLOAT, 0, data.length);
                dnnl_memory_desc plainMd = Dnnl.md(dims, DnnlLayouts.plainTag(dims.length));
                made.add(plainMd);
                if (dims.length == 5 && tag != dnnl_ncdhw) {
                    mds[i] = Dnnl.md(dims, tag);
                    made.add(mds[i]);
                    segs[i] = local.allocate(dnnl_memory_desc_get_size(mds[i]), 64);
                    DnnlLayouts.reorder(plainMd, plainSeg, mds[i], segs[i]);
                } else {
                    mds[i] = plainMd;
                    segs[i] = plainSeg;
                }
            }
            try (CpuKernel k = CpuKernels.create(g, node, mds, null)) {
                dnnl_memory_desc outMd = k.outputMd();
                MemorySegment out = local.allocate(Math.max(dnnl_memory_desc_get_size(outMd), 64), 64);
                MemorySegment ws = local.allocate(Math.max(k.workspaceBytes(), 64), 64);
                out.fill((byte) 0xff); // NaN in every lane, padded ones included
                if (node.op() instanceof Op.Conv3d conv && conv.residual()) {
                    MemorySegment.copy(segs[1], 0, out, 0, segs[1].byteSize()); // written in place over its residual
                    segs[1] = out;
                }
                k.bind(segs, out, ws);
                k.execute();
                Dnnl.check(dnnl_stream_wait(Dnnl.stream()), "stream wait");
                if (node.op() instanceof Op.InstanceNorm3d) {
                    // oneDNN's blocked layouts need zeros in the padded channels: the Java kernel writes them
                    for (long e = 0; e < dnnl_memory_desc_get_size(outMd) / Float.BYTES; e++) {
                        assertFalse(Float.isNaN(out.getAtIndex(ValueLayout.JAVA_FLOAT, e)), "lane " + e + " not written");
                    }
                }
                long[] dims = g.value(node.output()).shape();
                dnnl_memory_desc plainOut = Dnnl.md(dims, DnnlLayouts.plainTag(dims.length));
                made.add(plainOut);
                MemorySegment plain = local.allocate(g.value(node.output()).bytes(), 64);
                if (dims.length == 5) {
                    DnnlLayouts.reorder(outMd, out, plainOut, plain);
                } else {
                    MemorySegment.copy(out, 0, plain, 0, plain.byteSize());
                }
                return plain.toArray(ValueLayout.JAVA_FLOAT);
            } finally {
                made.forEach(m -> dnnl_memory_desc_destroy(m));
            }
        }
    }

    private static String inputName(Graph g, int value) {
        for (Map.Entry<String, Integer> e : g.inputs().entrySet()) {
            if (e.getValue() == value) {
                return e.getKey();
            }
        }
        throw new IllegalArgumentException("value " + value + " is not a graph input");
    }
}
