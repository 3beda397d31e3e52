package org.renalmtl.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.renalmtl.engine.cpu.CpuGraph;
import org.renalmtl.engine.graph.ClassifierGraphs;
import org.renalmtl.engine.graph.FoldBatchNorm;
import org.renalmtl.engine.graph.FuseResidual;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.OracleBound;
import org.renalmtl.engine.graph.Reference;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.WeightFile;
import org.renalmtl.weights.hdf5.Hdf5File;

/**
 * Every network of every PyTorch fixture, node by node: the CPU executor's output of each node against
 * the plain Java {@link Reference} of the same graph on the fixture's input, so that a model mismatch
 * names the first node that differs rather than only the final probabilities ({@link PyTorchOracleTest}
 * holds those to PyTorch, {@link PyTorchLayersTest} every node to PyTorch's own value of it). Each side runs the whole graph, so float32 rounding accumulates through the
 * layers before a node: the worst node measured is 4.0e-4 relative L2 in {@code r50_b} (50 layers of
 * random weights), 7.2e-5 in every other case. The bound, 1e-3 for every node, sits above that, while a
 * wrong kernel (a dropped bias, a shifted window) misses by orders of magnitude.
 */
class NodeByNodeTest {
    private static final double REL_L2 = 1e-3;

    @ParameterizedTest
    @MethodSource("org.renalmtl.engine.PyTorchOracleTest#cases")
    void everyNodeMatchesTheReference(JsonNode c) {
        Path dir = PyTorchOracleTest.fixtures();
        int batch = c.get("batch").asInt();
        int[] size = {c.get("input_size").get(0).asInt(), c.get("input_size").get(1).asInt(),
                c.get("input_size").get(2).asInt()};
        try (WeightFile wf = WeightFile.load(dir.resolve(c.get("model").asText()));
                Hdf5File io = Hdf5File.open(dir.resolve(c.get("io").asText()));
                Arena arena = Arena.ofConfined()) {
            float[] input = io.readFloats("input");
            MemorySegment in = arena.allocate((long) input.length * Float.BYTES, 64);
            MemorySegment.copy(input, 0, in, ValueLayout.JAVA_FLOAT, 0, input.length);
            ModelConfig config = wf.config();
            for (ModelConfig.Network net : config.networks()) {
                Graph g = FuseResidual.apply(FoldBatchNorm.apply(
                        ClassifierGraphs.build(config, net, wf.tensors(), batch, size), arena));
                float[][] expected = Reference.runAll(g, Map.of(ClassifierGraphs.INPUT, input));
                try (CpuGraph cpu = CpuGraph.compile(g)) {
                    cpu.runVisiting(new MemorySegment[] {in}, (i, out) -> {
                        Node n = g.nodes().get(i);
                        double rel = OracleBound.relativeL2(out, expected[n.output()]);
                        assertTrue(rel <= REL_L2, () -> c.get("case").asText() + ", network " + net.name()
                                + ": the first node that differs is " + n.name() + " (" + n.op() + "): relative L2 "
                                + rel + " > " + REL_L2);
                        return true;
                    });
                }
            }
        }
    }
}
