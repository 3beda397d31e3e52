package org.renalmtl.engine.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.renalmtl.engine.BuiltinModels;
import org.renalmtl.engine.ModelRunException;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.SeededWeights;
import org.renalmtl.weights.Tensor;
import org.renalmtl.weights.TensorLayout;
import org.renalmtl.weights.WeightFile;

/**
 * The classifier graphs' structure: the graph as built reads exactly the tensors
 * {@link TensorLayout#expected} names; after {@link FoldBatchNorm} and {@link FuseResidual} no BatchNorm
 * or add is left; inputs, outputs and the phase fusion are wired as the config says. Variants: the
 * built-in R18-3P-96 models with seeded weights, a small matrix of ResNet and head variants with seeded
 * weights ({@link SmallModels}), and every model of the PyTorch fixture matrix with the exporter's
 * weights. What the graphs compute is checked against PyTorch ({@code PyTorchOracleTest},
 * {@code NodeByNodeTest}).
 */
class ClassifierGraphsTest {
    static Stream<Arguments> seeded() {
        List<Arguments> out = new ArrayList<>();
        for (BuiltinModels.Kind kind : BuiltinModels.Kind.values()) {
            ModelConfig c = BuiltinModels.config(kind);
            out.add(Arguments.of(Named.of(c.name(), c), 1, c.input().size()));
        }
        SmallModels.all().forEach((name, c) -> out.add(Arguments.of(Named.of(name, c), 2, c.input().size())));
        return out.stream();
    }

    @ParameterizedTest
    @MethodSource("seeded")
    void seededModelsAreWellFormed(ModelConfig config, int cases, int[] size) {
        try (Arena arena = Arena.ofConfined()) {
            assertWellFormed(config, SeededWeights.generate(config, 17, arena), cases, size);
        }
    }

    static Stream<Arguments> fixtures() throws IOException {
        Path dir = Path.of(System.getProperty("renalmtl.fixtures", "target/fixtures"));
        JsonNode manifest = new ObjectMapper().readTree(dir.resolve("manifest.json").toFile());
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : manifest.get("cases")) {
            JsonNode s = c.get("input_size");
            out.add(Arguments.of(Named.of(c.get("case").asText(), dir.resolve(c.get("model").asText())),
                    c.get("batch").asInt(), new int[] {s.get(0).asInt(), s.get(1).asInt(), s.get(2).asInt()}));
        }
        return out.stream();
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void exportedModelsAreWellFormed(Path model, int cases, int[] size) {
        try (WeightFile w = WeightFile.load(model)) {
            assertWellFormed(w.config(), w.tensors(), cases, size);
        }
    }

    @Test
    void typeAShortcutsAreShortcutAOps() {
        // In every stage kind: channel padding at stride 1 (R50's stage 1), and subsampling at stride 2.
        ModelConfig c = SmallModels.all().get("r50_a_batch");
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> t = SeededWeights.generate(c, 3, arena);
            ModelConfig.Network net = c.networks().getFirst();
            Graph raw = ClassifierGraphs.build(c, net, t, 1, c.input().size());
            Graph g = FuseResidual.apply(FoldBatchNorm.apply(raw, arena));
            List<String> shortcuts = g.nodes().stream().filter(n -> n.op() instanceof Op.ShortcutA)
                    .map(n -> n.name() + " " + n.op()).toList();
            assertEquals(List.of("backbone.layer1.0.downsample shortcut_a(stride 1, channels 16)",
                    "backbone.layer2.0.downsample shortcut_a(stride 2, channels 32)",
                    "backbone.layer3.0.downsample shortcut_a(stride 2, channels 32)",
                    "backbone.layer4.0.downsample shortcut_a(stride 2, channels 32)"), shortcuts);
        }
    }

    @Test
    void r18MtdlNodeCounts() {
        ModelConfig c = BuiltinModels.config(BuiltinModels.Kind.MTDL);
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> t = SeededWeights.generate(c, 1, arena);
            Graph raw = ClassifierGraphs.build(c, c.networks().getFirst(), t, 1, c.input().size());
            Graph folded = FoldBatchNorm.apply(raw, arena);
            Graph fused = FuseResidual.apply(folded);
            // Backbone: stem conv + bn + max-pool; 8 basic blocks of 2 conv + 2 bn + add; 3 downsamples of
            // conv + bn; avg-pool. Fusion: 2 reshapes. Head: 2 levels × (8 experts × 2 Linears + 3 gates ×
            // (Linear + mix)) + the shared gate's Linear + mix in level 0; 3 towers × 2 Linears; concat.
            assertEquals(Map.of("Reshape", 2, "Conv3d", 20, "BatchNorm", 20, "MaxPool3d", 1, "Add", 8,
                    "GlobalAvgPool", 1, "Linear", 45, "GateMix", 7, "Concat", 1), counts(raw));
            assertEquals(105, raw.nodes().size());
            assertEquals(85, folded.nodes().size()); // the 20 BatchNorms folded
            assertEquals(77, fused.nodes().size()); // the 8 adds fused into each block's last conv
            assertEquals(Map.of("Reshape", 2, "Conv3d", 20, "MaxPool3d", 1, "GlobalAvgPool", 1, "Linear", 45, "GateMix", 7,
                    "Concat", 1), counts(fused));
        }
    }

    @Test
    void anInputTooSmallForTheStridesIsAModelRunException() {
        // An unpadded 7³ stem: a 6³ input leaves nothing to convolve.
        ModelConfig c = SmallModels.unpaddedStem();
        int[] tiny = {6, 6, 6};
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> t = SeededWeights.generate(c, 5, arena);
            ModelConfig.Network net = c.networks().getFirst();
            ModelRunException e = assertThrows(ModelRunException.class, () -> ClassifierGraphs.build(c, net, t, 2, tiny));
            assertEquals("input too small for the network's strides: an activation would have shape [6, 4, 0, 0, 0]"
                    + " after backbone.conv1", e.getMessage());
            // One voxel more along each axis is enough.
            ClassifierGraphs.build(c, net, t, 2, new int[] {7, 7, 7});
        }
    }

    private static void assertWellFormed(ModelConfig config, Map<String, Tensor> tensors, int cases,
            int[] size) {
        int phases = config.phases().size();
        for (ModelConfig.Network net : config.networks()) {
            try (Arena arena = Arena.ofConfined()) {
                Graph raw = ClassifierGraphs.build(config, net, tensors, cases, size);
                assertEquals(expectedTensors(config, net), referenced(raw), "the tensors the graph reads");
                assertEquals(referenced(raw), new TreeSet<>(raw.constants().keySet()), "constants nobody reads");
                Graph g = FuseResidual.apply(FoldBatchNorm.apply(raw, arena));
                assertTrue(g.nodes().stream().noneMatch(n -> n.op() instanceof Op.BatchNorm || n.op() instanceof Op.Add),
                        "every BatchNorm folds and every add fuses:\n" + g);
                assertEquals(List.of(ClassifierGraphs.FEATURES, ClassifierGraphs.PROBABILITIES),
                        List.copyOf(g.outputs().keySet()));
                int features = g.outputs().get(ClassifierGraphs.FEATURES);
                assertArrayEquals(new long[] {cases, net.fusedFeatures(phases)}, g.value(features).shape());
                assertArrayEquals(new long[] {cases, net.tasks().size()},
                        g.value(g.outputs().get(ClassifierGraphs.PROBABILITIES)).shape());
                assertFusion(config, net, g, cases, size, features);
            }
        }
    }

    /** Each backbone fed and its features gathered as the fusion mode says. */
    private static void assertFusion(ModelConfig config, ModelConfig.Network net, Graph g, int cases, int[] size,
            int features) {
        int phases = config.phases().size();
        int input = g.inputs().get(ClassifierGraphs.INPUT);
        assertArrayEquals(new long[] {cases, phases, size[0], size[1], size[2]}, g.value(input).shape());
        int backbones = net.fusion() == ModelConfig.Fusion.SEPARATE ? phases : 1;
        int[] pooled = new int[backbones];
        for (int p = 0; p < backbones; p++) {
            String prefix = TensorLayout.backbonePrefix(net, p);
            int in = switch (net.fusion()) {
                case BATCH -> node(g, net.prefix() + "phases_as_batch",
                        new Op.Reshape(new long[] {(long) cases * phases, 1, size[0], size[1], size[2]}), input);
                case CHANNELS -> input;
                case SEPARATE -> node(g, prefix + ClassifierGraphs.INPUT, new Op.Slice(1, p, 1), input);
            };
            long samples = net.fusion() == ModelConfig.Fusion.BATCH ? (long) cases * phases : cases;
            Node stem = g.nodes().stream().filter(n -> n.name().equals(prefix + "conv1")).findFirst().orElseThrow();
            assertArrayEquals(new int[] {in}, stem.inputs(), prefix + "conv1 reads the network's input");
            assertEquals(samples, g.value(stem.output()).dim(0), prefix + "conv1's batch");
            pooled[p] = g.nodes().stream().filter(n -> n.name().equals(prefix + "avgpool")).findFirst().orElseThrow()
                    .output();
        }
        if (net.fusion() == ModelConfig.Fusion.CHANNELS || phases == 1 && net.fusion() == ModelConfig.Fusion.SEPARATE) {
            assertEquals(pooled[0], features);
        } else {
            Node fuse = g.nodes().get(g.producer(features));
            assertArrayEquals(pooled, fuse.inputs(), "the phases' features in phase order");
            Class<?> expected = net.fusion() == ModelConfig.Fusion.BATCH ? Op.Reshape.class : Op.Concat.class;
            assertEquals(expected, fuse.op().getClass());
        }
    }

    /** @return the output of node {@code name}, which must be {@code op} reading {@code in} alone */
    private static int node(Graph g, String name, Op op, int in) {
        Node n = g.nodes().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow();
        assertEquals(op, n.op(), name);
        assertArrayEquals(new int[] {in}, n.inputs(), name);
        return n.output();
    }

    private static Set<String> expectedTensors(ModelConfig config, ModelConfig.Network net) {
        List<String> mine = List.of(net.prefix() + "backbone.", net.prefix() + "backbones.", net.prefix() + "head.");
        return TensorLayout.expected(config).keySet().stream().filter(k -> mine.stream().anyMatch(k::startsWith))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    /** @return the names of the constants the graph's nodes read */
    static Set<String> referenced(Graph g) {
        Set<String> out = new LinkedHashSet<>();
        for (Node n : g.nodes()) {
            out.addAll(switch (n.op()) {
                case Op.Conv3d c -> Arrays.asList(c.weight(), c.bias());
                case Op.BatchNorm b -> List.of(b.scale(), b.bias(), b.mean(), b.variance());
                case Op.Linear l -> Arrays.asList(l.weight(), l.bias());
                default -> List.of();
            });
        }
        out.remove(null);
        return new TreeSet<>(out);
    }

    private static Map<String, Integer> counts(Graph g) {
        Map<String, Integer> out = new TreeMap<>();
        g.nodes().forEach(n -> out.merge(n.op().getClass().getSimpleName(), 1, Integer::sum));
        return out;
    }
}
