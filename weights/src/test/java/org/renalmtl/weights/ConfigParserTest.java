package org.renalmtl.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link ConfigParser}: a valid config parses; an invalid one reports every problem in one exception. */
class ConfigParserTest {
    private static final Path FILE = Path.of("model.h5");

    @Test
    void validConfigParses() {
        ModelConfig c = ConfigParser.parse(TinyModel.config(), FILE);
        assertEquals(List.of("arterial", "venous", "delayed"), c.phases());
        assertEquals(List.of("ccrcc", "stage", "renal"), c.tasks().stream().map(ModelConfig.Task::name).toList());
        assertEquals(ModelConfig.Fusion.BATCH, c.networks().getFirst().fusion());
        assertEquals(8 * 3, c.networks().getFirst().fusedFeatures(3)); // widths[3] = 8, BasicBlock, 3 phases
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        String json = TinyModel.config()
                .replace("\"phases\": [\"arterial\", \"venous\", \"delayed\"]", "\"phases\": [\"arterial\", \"arterial\", \"delayed\"]")
                .replace("\"threshold\": 0.5}", "\"threshold\": 1.5}")
                .replace("\"normalisation\": \"zscore\"", "\"normalisation\": \"minmax\"")
                .replace("\"hu_window\": [-200.0, 300.0]", "\"hu_window\": [300.0, -200.0]")
                .replace("\"spacing_mm\": [1.0, 1.0, 1.0]", "\"spacing_mm\": [1.0, 0.0, 1.0]")
                .replace("\"levels\": 2", "\"levels\": 0")
                .replace("\"tasks\": [\"ccrcc\", \"stage\", \"renal\"]", "\"tasks\": [\"ccrcc\", \"stage\", \"grade\"]");
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> ConfigParser.parse(json, FILE));
        List<String> want = List.of("config 'phases' has duplicates",
                "task 'ccrcc' 'threshold' 1.5 is outside [0, 1]",
                "preprocessing 'normalisation' must be 'zscore' or 'window', got 'minmax'",
                "preprocessing 'hu_window' must be increasing",
                "input 'spacing_mm'[1] 0 is outside [0.001, 1000]",
                "network 'mtdl' PLE 'levels' must be ≥ 1",
                "network 'mtdl' predicts unknown task 'grade'",
                "task 'renal' is predicted by no network");
        for (String w : want) {
            assertTrue(e.problems().contains(w), "missing problem '" + w + "' in " + e.problems());
        }
        assertTrue(e.getMessage().startsWith("model.h5: "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        for (String w : want) {
            assertTrue(e.getMessage().contains(w), e.getMessage());
        }
    }

    @Test
    void semanticErrorsInTwoNetworksAreBothReported() {
        String json = TinyModel.config("late", 20, "[\"ccrcc\", \"stage\", \"renal\"]", 1);
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> ConfigParser.parse(json, FILE));
        assertTrue(e.problems().contains("network 'mtdl' 'fusion' must be batch, channels or separate"), e.getMessage());
    }

    @Test
    void wrongFormatNameIsRefusedFirst() {
        String json = TinyModel.config().replace("\"renal-mtl-weights\"", "\"onnx\"");
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> ConfigParser.parse(json, FILE));
        assertEquals("model.h5: config 'format' is 'onnx', expected 'renal-mtl-weights'", e.getMessage());
    }

    @Test
    void jsonThatIsNotAnObject() {
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> ConfigParser.parse("[1, 2]", FILE));
        assertEquals("model.h5: config is not a JSON object", e.getMessage());
    }

    /** Parses a TinyModel config with each (from, to) edit applied; every edit must apply. */
    private static WeightFormatException refused(String... edits) {
        String json = TinyModel.config();
        for (int i = 0; i < edits.length; i += 2) {
            assertTrue(json.contains(edits[i]), "edit does not apply: " + edits[i]);
            json = json.replace(edits[i], edits[i + 1]);
        }
        String text = json;
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> ConfigParser.parse(text, FILE));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e;
    }

    private static void refusedWith(String problem, String... edits) {
        WeightFormatException e = refused(edits);
        assertTrue(e.problems().contains(problem), "missing problem '" + problem + "' in " + e.problems());
    }

    @Test
    void wrongJsonTypesAreRefusedNotCoerced() {
        refusedWith("input 'margin_mm' must be a finite number, got \"ten\"", "\"margin_mm\": 10.0", "\"margin_mm\": \"ten\"");
        refusedWith("task 'ccrcc' 'threshold' must be a finite number, got \"0.5\"",
                "\"threshold\": 0.5}", "\"threshold\": \"0.5\"}");
        refusedWith("network 'mtdl' PLE 'levels' must be an integer, got 2.0", "\"levels\": 2", "\"levels\": 2.0");
        refusedWith("network 'mtdl' backbone 'widths'[1] must be an integer, got 8.5", "[4, 8, 8, 8]", "[4, 8.5, 8, 8]");
        refusedWith("network 'mtdl' PLE 'expert_bn' must be true or false, got \"false\"",
                "\"expert_bn\": false", "\"expert_bn\": \"false\"");
        refusedWith("network 'mtdl' backbone depth \"10\" is not one of 10, 18, 34, 50", "\"depth\": 10", "\"depth\": \"10\"");
        refusedWith("config 'phases' entry must be a string, got 1", "\"arterial\", \"venous\"", "1, \"venous\"");
    }

    @Test
    void formatVersionMustBeTheInteger1Or2() {
        for (String v : new String[] {"1.0", "1.5", "2.0", "0", "3", "100000000000000000000"}) {
            WeightFormatException e = refused("\"format_version\": 1", "\"format_version\": " + v);
            assertEquals("model.h5: unsupported format_version " + v + " (this engine reads versions 1 to 2)",
                    e.getMessage());
        }
        WeightFormatException e = refused("\"format_version\": 1", "\"format_version\": true");
        assertEquals("model.h5: config 'format_version' must be an integer from 1 to 2, got true", e.getMessage());
        assertEquals(2, ConfigParser.parse(TinyModel.config().replace("\"format_version\": 1", "\"format_version\": 2"),
                FILE).formatVersion());
    }

    @Test
    void jsonMustBeOneObjectWithoutDuplicateKeys() {
        String junk = TinyModel.config() + "]";
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> ConfigParser.parse(junk, FILE));
        assertTrue(e.getMessage().contains("config is not valid JSON"), e.getMessage());
        e = refused("\"producer\"", "\"name\": \"x\", \"producer\"");
        assertTrue(e.getMessage().contains("Duplicate field 'name'"), e.getMessage());
    }

    @Test
    void duplicateNamesAreRefused() {
        refusedWith("task name 'stage' is used twice", "{\"name\": \"renal\"", "{\"name\": \"stage\"");
        refusedWith("network 'mtdl' 'prefix' must be \"\" or identifiers each followed by '.' (not backbone, backbones,"
                + " head), got 'a/b.'", "\"prefix\": \"\"", "\"prefix\": \"a/b.\"");
    }

    @Test
    void geometryThatLaterCodeCannotUseIsRefused() {
        refusedWith("input 'margin_mm' -1 is outside [0, 1000]", "\"margin_mm\": 10.0", "\"margin_mm\": -1");
        refusedWith("input 'spacing_mm'[0] 5000 is outside [0.001, 1000]", "[1.0, 1.0, 1.0]", "[5000, 1.0, 1.0]");
        refusedWith("input 'size'[2] must be ≤ 1024, got 2048", "\"size\": [16, 16, 16]", "\"size\": [16, 16, 2048]");
        refusedWith("network 'mtdl' backbone stem stride 4 on axis 0 exceeds the kernel or the input size",
                "\"stride\": [2, 2, 2]", "\"stride\": [4, 2, 2]");
        refusedWith("network 'mtdl' backbone stem padding 2 on axis 1 exceeds half the kernel",
                "\"padding\": [1, 1, 1]", "\"padding\": [1, 2, 1]");
        refusedWith("network 'mtdl' backbone stem kernel 15 on axis 2 is larger than the padded input",
                "\"kernel\": [3, 3, 3]", "\"kernel\": [3, 3, 15]", "\"size\": [16, 16, 16]", "\"size\": [16, 16, 8]");
        refusedWith("network 'mtdl' backbone 'strides'[3] must be ≤ 4, got 5", "\"strides\": [1, 2, 2, 2]",
                "\"strides\": [1, 2, 2, 5]");
        refusedWith("preprocessing 'std' must be ≥ 0.001, got 1.0E-9", "\"std\": 80.0", "\"std\": 1e-9");
    }

    @Test
    void sizesAndCountsAreBounded() {
        refusedWith("network 'mtdl' PLE 'shared_experts' must be ≤ 32, got 33", "\"shared_experts\": 1",
                "\"shared_experts\": 33");
        refusedWith("network 'mtdl' PLE 'expert_hidden' must be an array of at most 8 integers",
                "\"expert_hidden\": [8]", "\"expert_hidden\": [8, 8, 8, 8, 8, 8, 8, 8, 8]");
        refusedWith("network 'mtdl' backbone 'widths'[3] must be ≤ 65536, got 65537", "[4, 8, 8, 8]", "[4, 8, 8, 65537]");
        // Within every per-field bound, but 40000² · 27 parameters in one conv: the model total is bounded too.
        WeightFormatException e = refused("[4, 8, 8, 8]", "[4, 8, 40000, 40000]");
        assertTrue(e.getMessage().contains("parameters (at most 2147483647)"), e.getMessage());
    }

    @Test
    void controlCharactersInNamesAreRefusedAndMessagesStayOneLine() {
        WeightFormatException e = refused("\"name\": \"ccrcc\"", "\"name\": \"cc\\nrcc\"");
        assertTrue(e.getMessage().contains("tasks[0] 'name' must be 1 to 64 printable characters"), e.getMessage());
        assertTrue(e.getMessage().contains("\\u000a"), "the line break must be shown escaped: " + e.getMessage());
    }
}
