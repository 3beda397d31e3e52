package org.renalmtl.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The format-version-2 head fields (FORMAT.md, "Heads"): a hidden activation, per-level expert widths and
 * BatchNorm in gate hidden layers are read from version-2 configs, refused by name in version-1 configs
 * (an older reader would ignore them and run another model), and shape the tensor layout.
 */
class HeadParserTest {
    private static final Path FILE = Path.of("model.h5");
    private static final String EXPERTS = "\"expert_hidden\": [8], \"expert_bn\": false";
    private static final String GATE = "\"gate\": {\"hidden\": [], \"bias\": true, \"bn\": false}";
    private static final String V1_HEAD = EXPERTS + ", " + GATE + ",";

    /** TinyModel's config at this version with the PLE head's expert and gate fields replaced by {@code head}. */
    private static String config(int version, String head) {
        String json = TinyModel.config("batch", 10, "[\"ccrcc\", \"stage\", \"renal\"]", version)
                .replaceAll("\\s+", " ");
        assertTrue(json.contains(V1_HEAD), "TinyModel's head changed");
        return json.replace(V1_HEAD, head);
    }

    private static WeightFormatException refused(String json) {
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> ConfigParser.parse(json, FILE));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e;
    }

    @Test
    void version1HeadsAreReluWithTheSameWidthsAtEveryLevel() {
        ModelConfig.Ple ple = (ModelConfig.Ple) ConfigParser.parse(TinyModel.config(), FILE).networks().getFirst().head();
        assertEquals(ModelConfig.HiddenActivation.RELU, ple.activation());
        assertArrayEquals(new int[][] {{8}, {8}}, ple.expertHidden());
        assertTrue(ple.uniformExperts());
        assertFalse(ple.gate().hiddenBn());
    }

    @Test
    void version2FieldsAreRead() {
        String head = "\"expert_hidden\": [[12, 10], [6]], \"expert_bn\": true, \"activation\": \"leaky_relu\", "
                + "\"negative_slope\": 0.2, \"gate\": {\"hidden\": [5], \"hidden_bn\": true, \"bias\": false, \"bn\": false},";
        ModelConfig c = ConfigParser.parse(config(2, head), FILE);
        assertEquals(2, c.formatVersion());
        ModelConfig.Ple ple = (ModelConfig.Ple) c.networks().getFirst().head();
        assertEquals(new ModelConfig.HiddenActivation(ModelConfig.HiddenActivation.Kind.LEAKY_RELU, 0.2), ple.activation());
        assertArrayEquals(new int[][] {{12, 10}, {6}}, ple.expertHidden());
        assertFalse(ple.uniformExperts());
        assertEquals(10, ple.expertWidth(0));
        assertEquals(6, ple.expertWidth());
        assertTrue(ple.gate().hiddenBn());
        Map<String, long[]> layout = TensorLayout.expected(c);
        int fused = 3 * 8; // three phases of widths[3] = 8
        assertArrayEquals(new long[] {12, fused}, layout.get("head.levels.0.task_experts.0.0.layers.0.weight"));
        assertArrayEquals(new long[] {10, 12}, layout.get("head.levels.0.shared_experts.0.layers.1.weight"));
        assertArrayEquals(new long[] {6, 10}, layout.get("head.levels.1.task_experts.2.1.layers.0.weight"));
        assertArrayEquals(new long[] {5, 10}, layout.get("head.levels.1.task_gates.1.hidden.0.weight"));
        assertArrayEquals(new long[] {5}, layout.get("head.levels.0.shared_gate.norms.0.running_var"));
        assertArrayEquals(new long[] {4, 6}, layout.get("head.towers.2.hidden.0.weight")); // tower [4] reads width 6
        assertFalse(layout.containsKey("head.levels.1.task_experts.0.0.layers.1.weight"));
    }

    @Test
    void everyActivationIsReadAndTheSlopeDefaultsToPyTorchs() {
        for (String name : new String[] {"relu", "sigmoid", "tanh", "leaky_relu"}) {
            ModelConfig c = ConfigParser.parse(config(2, V1_HEAD + " \"activation\": \"" + name + "\","), FILE);
            ModelConfig.HiddenActivation a = ((ModelConfig.Ple) c.networks().getFirst().head()).activation();
            assertEquals(name, a.configName());
            assertEquals(name.equals("leaky_relu") ? 0.01 : 0.0, a.negativeSlope());
        }
    }

    @Test
    void version2FieldsInAVersion1FileAreRefusedByName() {
        WeightFormatException e = refused(config(1, "\"expert_hidden\": [[8], [8]], \"expert_bn\": false, \"activation\": "
                + "\"sigmoid\", \"gate\": {\"hidden\": [], \"hidden_bn\": false, \"bias\": true, \"bn\": false},"));
        for (String w : new String[] {"network 'mtdl' PLE per-level 'expert_hidden' needs format_version 2",
                "network 'mtdl' PLE 'activation' needs format_version 2",
                "network 'mtdl' PLE gate 'hidden_bn' needs format_version 2"}) {
            assertTrue(e.problems().stream().anyMatch(p -> p.startsWith(w)), "missing '" + w + "' in " + e.problems());
        }
    }

    @Test
    void badVersion2FieldsAreRefused() {
        WeightFormatException e = refused(config(2, V1_HEAD + " \"activation\": \"prelu\","));
        assertTrue(e.problems().contains(
                "network 'mtdl' PLE 'activation' must be relu, leaky_relu, sigmoid or tanh, got 'prelu'"), e.getMessage());
        e = refused(config(2, V1_HEAD + " \"activation\": \"tanh\", \"negative_slope\": 0.1,"));
        assertTrue(e.problems().contains("network 'mtdl' PLE 'negative_slope' belongs to activation leaky_relu, not tanh"),
                e.getMessage());
        e = refused(config(2, V1_HEAD + " \"activation\": \"leaky_relu\", \"negative_slope\": \"0.1\","));
        assertTrue(e.problems().contains("network 'mtdl' PLE 'negative_slope' must be a finite number, got \"0.1\""),
                e.getMessage());
        e = refused(config(2, V1_HEAD.replace("\"expert_hidden\": [8]", "\"expert_hidden\": [[8], [8], [8]]")));
        assertTrue(e.problems().contains("network 'mtdl' PLE 'expert_hidden' has 3 lists of widths for 2 level(s)"),
                e.getMessage());
        e = refused(config(2, V1_HEAD.replace("\"expert_hidden\": [8]", "\"expert_hidden\": [[8], []]")));
        assertTrue(e.problems().contains("network 'mtdl' PLE 'expert_hidden'[1] must list at least one width"),
                e.getMessage());
    }
}
