package org.renalmtl.engine;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Op;
import org.renalmtl.engine.graph.OpCases;
import org.renalmtl.engine.graph.OracleBound;
import org.renalmtl.engine.graph.Reference;

/**
 * {@link Graphs#compile}: any graph of the IR through the public entry point, on the device {@code auto}
 * resolves to (the CPU here, the GPU where one is usable), against the float64 reference; and a closed
 * compiled graph refuses to run.
 */
class GraphsTest {
    /** The convolution-family bound of both backends' per-op oracles: fp32 sums of ≤ 459 products. */
    private static final OracleBound BOUND = new OracleBound(1e-5, 1e-6, "fp32 sums of up to 459 products");

    @Test
    void everyUNetOpRunsThroughTheEntryPoint() {
        try (Arena arena = Arena.ofConfined()) {
            int ran = 0;
            for (OpCases.Case c : OpCases.all(arena)) {
                Op op = c.node().op();
                if (!(op instanceof Op.ConvTranspose3d || op instanceof Op.InstanceNorm3d || op instanceof Op.Concat
                        || op instanceof Op.Conv3d)) {
                    continue;
                }
                float[] expected = Reference.run(c.graph(), c.inputs()).values().iterator().next();
                try (CompiledGraph g = Graphs.compile(c.graph(), Device.AUTO, Precision.FP32)) {
                    BOUND.check(c.name(), "compiled", expected, run(g, c.graph(), c.inputs(), arena));
                }
                ran++;
            }
            assertTrue(ran >= 10, "U-Net op cases found: " + ran);
        }
    }

    @Test
    void aClosedGraphRefusesToRun() {
        try (Arena arena = Arena.ofConfined()) {
            OpCases.Case c = OpCases.all(arena).getFirst();
            CompiledGraph g = Graphs.compile(c.graph(), Device.CPU, Precision.FP32);
            g.close();
            g.close(); // idempotent
            assertThrows(IllegalStateException.class, () -> run(g, c.graph(), c.inputs(), arena));
        }
    }

    private static float[] run(CompiledGraph g, Graph graph, Map<String, float[]> inputs, Arena arena) {
        MemorySegment[] in = new MemorySegment[graph.inputs().size()];
        int k = 0;
        for (String name : graph.inputs().keySet()) {
            in[k++] = arena.allocateFrom(ValueLayout.JAVA_FLOAT, inputs.get(name));
        }
        int y = graph.outputs().values().iterator().next();
        MemorySegment out = arena.allocate(graph.value(y).bytes(), 64);
        g.run(in, new MemorySegment[] {out});
        return out.toArray(ValueLayout.JAVA_FLOAT);
    }
}
