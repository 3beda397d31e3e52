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
                "task 'ccrcc' threshold 1.5 outside [0, 1]",
                "preprocessing 'normalisation' must be 'zscore' or 'window', got 'minmax'",
                "preprocessing 'hu_window' must be increasing",
                "input 'spacing_mm' must be positive",
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
}
