package org.renalmtl.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.renalmtl.engine.cpu.CpuGraph;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.OracleBound;
import org.renalmtl.engine.graph.UNetBuilder;
import org.renalmtl.weights.SegmentationFile;
import org.renalmtl.weights.hdf5.Hdf5File;

/**
 * Every segmentation fixture of {@code make_seg_fixtures.py} (nnU-Net networks exported by
 * {@code export.py --nnunet}, with PyTorch's float64 answers) through {@link SegmentationFile},
 * {@link UNetBuilder} and {@link Graphs#compile} on the CPU: the logits of a batch of one and of two
 * against PyTorch, and every block PyTorch recorded against the node of that name.
 */
class UNetPyTorchTest {
    /**
     * Logits within 1e-4 of the largest |logit| (element-wise max error): float32 through ≈20 layers
     * whose InstanceNorms renormalise, so rounding adds rather than grows; PyTorch's own float32
     * forward lands ≈1e-6 relative from its float64 (the manifest's {@code pytorch_f32_max_abs_error_n1}),
     * and oneDNN sums in other orders and blockings. Measured: 4.9e-6 and 6.6e-6 (plain4, N = 1, 2), 1.1e-6 and 8.0e-7
     * (resenc4_regions), 6.2e-6 and 5.6e-6 (plain5_2ch). A
     * wrong padding, a swapped concat or a missing bias misses by orders of magnitude.
     */
    private static final double LOGITS_REL = 1e-4;
    /** Each block's output within 1e-4 relative L2 of PyTorch's (same reasoning, per block). */
    private static final double BLOCK_REL_L2 = 1e-4;

    static Path fixtures() {
        String dir = System.getProperty("renalmtl.segFixtures");
        if (dir == null) {
            throw new IllegalStateException("system property renalmtl.segFixtures is not set (Maven sets it)");
        }
        return Path.of(dir);
    }

    static Stream<Arguments> cases() throws IOException {
        JsonNode manifest = new ObjectMapper().readTree(fixtures().resolve("manifest.json").toFile());
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : manifest.get("cases")) {
            out.add(Arguments.of(Named.of(c.get("case").asText(), c)));
        }
        assertTrue(out.size() >= 3, "the fixtures hold " + out.size() + " cases");
        return out.stream();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void logitsMatchPyTorch(JsonNode c) {
        Path dir = fixtures();
        try (SegmentationFile sf = SegmentationFile.load(dir.resolve(c.get("files").get("weights").asText()));
                Hdf5File io = Hdf5File.open(dir.resolve(c.get("files").get("io").asText()));
                Arena arena = Arena.ofConfined()) {
            assertEquals(c.get("class").asText(), sf.config().network().architecture().className());
            for (int n : new int[] {1, 2}) {
                float[] x = io.readFloats("input_n" + n);
                float[] expected = io.readFloats("logits_n" + n);
                Graph g = UNetBuilder.build(sf.config(), sf.tensors(), n);
                MemorySegment out = arena.allocate(g.value(g.outputs().get(UNetBuilder.OUTPUT)).bytes(), 64);
                try (CompiledGraph cg = Graphs.compile(g, Device.CPU, Precision.FP32)) {
                    cg.run(new MemorySegment[] {arena.allocateFrom(ValueLayout.JAVA_FLOAT, x)}, new MemorySegment[] {out});
                }
                float[] got = out.toArray(ValueLayout.JAVA_FLOAT);
                assertEquals(expected.length, got.length);
                double scale = 0;
                double worst = 0;
                for (int i = 0; i < got.length; i++) {
                    scale = Math.max(scale, Math.abs(expected[i]));
                    worst = Math.max(worst, Math.abs((double) got[i] - expected[i]));
                }
                double rel = worst / scale;
                System.out.printf("%s N=%d: max |logit error| %.3g of max |logit| %.3g (%.3g relative)%n",
                        c.get("case").asText(), n, worst, scale, rel);
                assertTrue(rel <= LOGITS_REL, c.get("case").asText() + " N=" + n + ": logits off by " + rel
                        + " of the largest (bound " + LOGITS_REL + ")");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void everyBlockMatchesPyTorch(JsonNode c) {
        JsonNode layersFile = c.get("files").get("layers");
        if (layersFile == null || layersFile.isNull()) {
            return; // plain5_2ch: its blocks are plain4's kinds (make_seg_fixtures.py keeps the fixtures small)
        }
        Path dir = fixtures();
        try (SegmentationFile sf = SegmentationFile.load(dir.resolve(c.get("files").get("weights").asText()));
                Hdf5File io = Hdf5File.open(dir.resolve(c.get("files").get("io").asText()));
                Hdf5File layers = Hdf5File.open(dir.resolve(layersFile.asText()));
                Arena arena = Arena.ofConfined()) {
            Graph g = UNetBuilder.build(sf.config(), sf.tensors(), 1);
            // A golden per module path; a block's skip (a Sequential) is the add's second input.
            Map<Integer, String> golden = new HashMap<>();
            for (JsonNode name : c.get("layers")) {
                String s = name.asText();
                int value = -1;
                for (Node n : g.nodes()) {
                    if (n.name().equals(s)) {
                        value = n.output();
                    } else if (s.endsWith(".skip") && n.name().equals(s.substring(0, s.length() - 5))) {
                        value = n.input(1);
                    }
                }
                assertTrue(value >= 0, "no node for PyTorch's " + s);
                golden.put(value, s);
            }
            int[] compared = {0};
            try (CpuGraph cpu = CpuGraph.compile(g)) {
                cpu.runVisiting(new MemorySegment[] {arena.allocateFrom(ValueLayout.JAVA_FLOAT, io.readFloats("input_n1"))},
                        (i, out) -> {
                            String name = golden.get(g.nodes().get(i).output());
                            if (name != null) {
                                double rel = OracleBound.relativeL2(out, layers.readFloats(name));
                                assertTrue(rel <= BLOCK_REL_L2, c.get("case").asText() + ": " + name + " relative L2 " + rel);
                                compared[0]++;
                            }
                            return true;
                        });
            }
            assertEquals(golden.size(), compared[0], "blocks compared");
        }
    }
}
