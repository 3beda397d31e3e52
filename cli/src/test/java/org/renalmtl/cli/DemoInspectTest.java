package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.loader.NiftiReader;
import org.renalmtl.loader.NiftiWriter;
import org.renalmtl.loader.Volume;
import org.renalmtl.weights.WeightFile;

/**
 * {@code demo} end to end, {@code inspect} of the model it saves against the PyTorch definition, and
 * {@code predict} with that file reproducing the demo's probabilities.
 */
class DemoInspectTest {
    @TempDir
    static Path dir;

    static Path demoDir;
    static Path model;
    static Cli.Run demo;

    @BeforeAll
    static void runDemo() {
        demoDir = dir.resolve("demo");
        model = dir.resolve("M.h5");
        demo = Cli.ok("demo", "--out", demoDir, "--save-model", model, "--runs", 1, "--device", "cpu");
    }

    @Test
    void demoPrintsThreeProbabilities() throws IOException {
        Matcher m = Pattern.compile("(?m)^\\s+(ccrcc|stage|renal)\\s+p = (\\d\\.\\d{4})\\s+-> ").matcher(demo.out());
        List<String> tasks = new ArrayList<>();
        while (m.find()) {
            tasks.add(m.group(1));
            double p = Double.parseDouble(m.group(2));
            assertTrue(p >= 0 && p <= 1, demo::toString);
        }
        assertEquals(List.of("ccrcc", "stage", "renal"), tasks, demo::toString);
        assertTrue(demo.out().contains("model written: " + model), demo::toString);
        assertTrue(Files.isRegularFile(demoDir.resolve("report.json")), demo::toString);
        for (Path f : List.of(model, demoDir.resolve("report.json"))) {
            assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)), f.toString());
        }
        // The tumour is the built-in phantom nnU-Net's (phantom-seg.README.md: Dice 0.966 in PyTorch, 20.40 ml),
        // measured on its segmentation: within 10% of the phantom's true 19.70 ml, and its Dice printed.
        Matcher dice = Pattern.compile("Dice (\\d\\.\\d{3}) against the phantom's truth").matcher(demo.out());
        assertTrue(dice.find(), demo::toString);
        assertTrue(Double.parseDouble(dice.group(1)) >= 0.9, demo::toString);
        Matcher ml = Pattern.compile("(?m)^tumour: (\\d+\\.\\d) ml").matcher(demo.out());
        assertTrue(ml.find(), demo::toString);
        assertEquals(19.70, Double.parseDouble(ml.group(1)), 1.97, demo::toString);
        assertTrue(Files.isRegularFile(demoDir.resolve("segmentation.nii.gz")), demo::toString);
        assertTrue(Files.notExists(demoDir.resolve("phantom-seg.h5")), "the extracted weights are removed");
    }

    @Test
    void inspectAgreesWithThePyTorchDefinition() throws IOException, URISyntaxException {
        Cli.Run r = Cli.ok("inspect", model);
        Path script = Path.of(DemoInspectTest.class.getResource("/model_facts.py").toURI());
        Cli.Run py = Cli.exec(dir, List.of("/usr/bin/python3", script.toString(), exportDir().toString()));
        assertEquals(0, py.code(), py::toString);
        JsonNode f = new ObjectMapper().readTree(py.out());
        // ENGINEERING.md §1: R18-3P-96 = 33.16 M parameters (the 3D ResNet-18 backbone), 79.5 GFLOP per case.
        assertEquals(33_160_000, f.get("backbone_parameters").asLong());
        assertTrue(r.out().contains(String.format(Locale.ROOT, "backbone parameters: %,d (33.16 M)",
                f.get("backbone_parameters").asLong())), r::toString);
        assertTrue(r.out().contains(String.format(Locale.ROOT, "parameters: %,d (%.2f M) + %,d BatchNorm running statistics",
                f.get("parameters").asLong(), f.get("parameters").asLong() / 1e6, f.get("buffers").asLong())), r::toString);
        Matcher g = Pattern.compile("FLOPs per case: (\\d+\\.\\d\\d) GFLOP").matcher(r.out());
        assertTrue(g.find(), r::toString);
        double gflop = Double.parseDouble(g.group(1));
        // Printed to 0.01 GFLOP: half a unit of the last digit; the head adds ~0.01 to the backbone's 79.5.
        assertEquals(f.get("gflop").asDouble(), gflop, 0.005 + 1e-9, r::toString);
        assertEquals(79.5, gflop, 0.05);
        assertTrue(r.out().contains("phases: arterial, venous, delayed"), r::toString);
        assertTrue(r.out().contains("head: PLE, 2 level(s), 2 task + 2 shared experts [256, 128]"), r::toString);
    }

    @Test
    void savedConfigIsTheExportersR18Config() throws IOException {
        Cli.Run py = Cli.exec(dir, List.of("/usr/bin/python3", exportDir().resolve("export.py").toString(), "--print-config",
                "r18_3p_96_mtdl"));
        assertEquals(0, py.code(), py::toString);
        ObjectMapper json = new ObjectMapper();
        ObjectNode want = (ObjectNode) json.readTree(py.out());
        ObjectNode got;
        try (WeightFile wf = WeightFile.load(model)) {
            got = (ObjectNode) json.readTree(wf.config().json());
        }
        // Only the producer string differs (the exporter names its torch version).
        want.remove("producer");
        got.remove("producer");
        assertEquals(want, got);
    }

    @Test
    void predictWithTheSavedModelReproducesTheDemo() throws IOException {
        Path out = dir.resolve("predict.json");
        Cli.ok("predict", "--model", model, "--arterial", demoDir.resolve("arterial.nii.gz"), "--venous",
                demoDir.resolve("venous.nii.gz"), "--delayed", demoDir.resolve("delayed.nii.gz"), "--mask",
                demoDir.resolve("segmentation.nii.gz"), "--out", out, "--device", "cpu");
        ObjectMapper json = new ObjectMapper();
        JsonNode a = json.readTree(demoDir.resolve("report.json").toFile());
        JsonNode b = json.readTree(out.toFile());
        for (String task : List.of("ccrcc", "stage", "renal")) {
            // Same seeded float32 weights (the file round-trips them exactly), same input, same CPU kernels:
            // the only freedom is oneDNN's reduction order between two plans of the same shapes, far below 1e-6.
            assertEquals(a.get("tasks").get(task).get("probability").asDouble(),
                    b.get("tasks").get(task).get("probability").asDouble(), 1e-6, task);
        }
        assertEquals(a.get("tumour"), b.get("tumour"), "same files, same measurements");
        assertTrue(a.get("model").get("file").asText().startsWith("builtin:"));
        assertEquals(model.toString(), b.get("model").get("file").asText());
    }

    /** weights/export of this repository (found by walking up from the working directory). */
    static Path exportDir() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path e = p.resolve("weights/export");
            if (Files.isRegularFile(e.resolve("renal_mtl/model.py"))) {
                return e;
            }
        }
        throw new AssertionError("weights/export not found above " + Path.of("").toAbsolutePath());
    }

    /** The built-in phantom nnU-Net as a file, as a user would pass it. */
    private static Path phantomSegModel() throws IOException {
        Path f = dir.resolve("phantom-seg.h5");
        if (!Files.exists(f)) {
            try (InputStream in = DemoCommand.class.getResourceAsStream("phantom-seg.h5")) {
                Files.copy(in, f);
            }
        }
        return f;
    }

    @Test
    void predictWithASegmentationModelFindsTheTumourItself() throws IOException {
        Path out = dir.resolve("predict-seg.json");
        Path mask = dir.resolve("found.nii.gz");
        Cli.Run r = Cli.ok("predict", "--model", model, "--arterial", demoDir.resolve("arterial.nii.gz"), "--venous",
                demoDir.resolve("venous.nii.gz"), "--delayed", demoDir.resolve("delayed.nii.gz"), "--seg-model",
                phantomSegModel(), "--save-mask", mask, "--out", out, "--device", "cpu");
        ObjectMapper json = new ObjectMapper();
        JsonNode a = json.readTree(demoDir.resolve("report.json").toFile());
        JsonNode b = json.readTree(out.toFile());
        // The demo segmented the same venous phase with the same model: the same mask, the same probabilities.
        for (String task : List.of("ccrcc", "stage", "renal")) {
            assertEquals(a.get("tasks").get(task).get("probability").asDouble(),
                    b.get("tasks").get(task).get("probability").asDouble(), 1e-6, task);
        }
        JsonNode seg = b.get("segmentation");
        assertEquals("[\"venous\"]", seg.get("phases").toString(), r::toString);
        assertEquals(1, seg.get("tumour_components").asInt(), r::toString);
        assertEquals(19.70, seg.get("tumour_ml").asDouble(), 1.97, "the phantom's true tumour is 19.70 ml");
        assertTrue(seg.get("kidney_ml").asDouble() > 50, r::toString);
        // The phantom has one kidney, on the patient's right (RAS world x > 0 on its LPS grid), in a body
        // centred on x = 0: the side comes from the CT's body centroid. The tumour sits on that kidney, so the
        // kidney holding it is all (or nearly all, a speck elsewhere aside) of the kidney found.
        assertEquals("right", seg.get("tumour_side").asText(), r::toString);
        assertEquals("body", seg.get("side_from").asText(), r::toString);
        double holding = seg.get("tumour_kidney_ml").asDouble();
        assertTrue(holding <= seg.get("kidney_ml").asDouble() && holding > 0.95 * seg.get("kidney_ml").asDouble(),
                r::toString);
        assertTrue(r.out().contains("; the largest in the right kidney ("), r::toString);
        assertTrue(Files.isRegularFile(mask), r::toString);
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().startsWith(".renal-mtl-mask")),
                    "the temporary mask is removed");
        }
    }

    @Test
    void aSegmentationThatCannotRunLeavesNothingBehind() throws IOException {
        // The classifier file as a segmentation model: refused by name before anything is written.
        Path out = dir.resolve("refused.json");
        Path mask = dir.resolve("refused-mask.nii.gz");
        Cli.assertInputError(Cli.run("predict", "--model", model, "--arterial", demoDir.resolve("arterial.nii.gz"),
                "--venous", demoDir.resolve("venous.nii.gz"), "--delayed", demoDir.resolve("delayed.nii.gz"),
                "--seg-model", model, "--save-mask", mask, "--out", out, "--device", "cpu"), model + ": ",
                "renal-mtl-segmentation");
        assertNothingWritten(out, mask);
    }

    @Test
    void aScanWithoutTumourStopsPredictWithNothingWritten() throws IOException {
        // The demo's venous phase with the tumour filled with kidney (its mask's voxels set to 160 HU, between the
        // phantom's cortex and medulla): a kidney with nothing in it for the phantom U-Net to find. (A constant or
        // a soft-tissue body would not do: CT normalisation clips to the training foreground's 93..188 HU.)
        Path blank = dir.resolve("no-tumour-venous.nii.gz");
        try (Volume venous = NiftiReader.read(demoDir.resolve("venous.nii.gz"));
             Volume truth = NiftiReader.read(demoDir.resolve("mask.nii.gz"))) {
            for (long i = 0; i < venous.voxelCount(); i++) {
                if (truth.get(i) != 0) {
                    venous.set(i, 160f);
                }
            }
            NiftiWriter.writeFloat(venous, blank);
        }
        Path out = dir.resolve("no-tumour.json");
        Path mask = dir.resolve("no-tumour-mask.nii.gz");
        Cli.assertInputError(Cli.run("predict", "--model", model, "--arterial", demoDir.resolve("arterial.nii.gz"),
                "--venous", blank, "--delayed", demoDir.resolve("delayed.nii.gz"), "--seg-model", phantomSegModel(),
                "--save-mask", mask, "--out", out, "--device", "cpu"), phantomSegModel() + ": ", "no tumour found in [venous]");
        assertNothingWritten(out, mask);
    }

    /** A refused predict --seg-model leaves no report, no --save-mask and no temporary mask. */
    private static void assertNothingWritten(Path out, Path mask) throws IOException {
        assertTrue(Files.notExists(out) && Files.notExists(mask));
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().startsWith(".renal-mtl-mask")),
                    "no temporary mask is left behind");
        }
    }

    @Test
    void aSegmentationModelTakesNoMask() throws IOException {
        Path out = dir.resolve("none.json");
        Cli.assertInputError(Cli.run("predict", "--model", model, "--venous", demoDir.resolve("venous.nii.gz"),
                "--seg-model", phantomSegModel(), "--mask", demoDir.resolve("mask.nii.gz"), "--out", out),
                "--seg-model finds the tumour itself");
        assertTrue(Files.notExists(out));
    }
}
