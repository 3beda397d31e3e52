package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.engine.BuiltinModels;
import org.renalmtl.weights.ConfigParser;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.SeededWeights;
import org.renalmtl.weights.WeightWriter;

/**
 * Training-time parity (issue 12, item 6): {@code predict --save-input} writes exactly what
 * {@code weights/export/renal_mtl/preprocess.py} computes from the same files, so a model trained on that
 * module's output sees at inference what it saw in training.
 *
 * <p>Three phases of the real CT ({@code testdata/ct}): the CT itself as the reference, and two copies on grids
 * of their own written by {@code parity_phases.py} (a rotated, x-reversed, shifted copy placed by its qform with
 * uint16 scaling, and an oblique 2 mm resampling with its sform in micrometres), so every phase but the first
 * is resampled in world space; and the phantom with its delayed phase on another grid (LPS, 0.8 × 0.8 × 2.5 mm).
 * The two rules of issue 12 item 5: the kidney mask stored on the venous copy's grid (rotated, x reversed), which
 * the engine resamples onto the CT by nearest neighbour ({@code mask_resampled}); and {@code --reorient ras} with
 * the CT and its mask re-stored as a PIL (sagittal-like) file as the reference, so the crop's axes are permuted
 * and flipped back to RAS.
 * The built-in model's z-score preprocessing (96³ at 1 mm, margin 10 mm) and a model with a window
 * normalisation, an anisotropic 24 × 40 × 32 grid of 2.5 × 1.5 × 2 mm and a 7 mm margin, which the kidney does
 * not fit (scaled to fit). Masks: the left kidney (one component), label 2 of TotalSegmentator's label map, and
 * the largest of that map's many components.
 *
 * <p>Tolerance: one float32 rounding of the interpolated HU value (the spacing of float32 at the window's
 * largest |HU|, divided by the normalisation's divisor) plus one of the output value. Both sides widen the same
 * float32 voxels to float64, compose the same affines with the same operation order and round to float32 at the
 * same two points, so identical bits are expected (and found: {@code differing} is 0 everywhere); the bound
 * says what a reordering that changes one rounding may cost, while any geometric slip (half a voxel, a
 * transposed axis, nibabel's µm affine taken as mm) is off by whole HU. The report's {@code roi} object (mask
 * box, world box, spacing, scaling, component count, coverage, reorientation, network axes, mask resampled) must
 * equal preprocess.py's exactly.
 */
class PreprocessParityTest {
    static final Path CT = RealCtTest.CT;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    static Path builtin;
    static Path window;
    static Path venous;
    static Path delayed;

    @BeforeAll
    static void files() throws IOException, URISyntaxException {
        builtin = dir.resolve("builtin.h5");
        BuiltinModels.write(BuiltinModels.Kind.MTDL, 2026, builtin);
        window = dir.resolve("window.h5");
        ObjectNode c = (ObjectNode) JSON.readTree(BuiltinModels.config(BuiltinModels.Kind.MTDL).json());
        ObjectNode in = c.putObject("input");
        in.set("size", JSON.createArrayNode().add(24).add(40).add(32));
        in.set("spacing_mm", JSON.createArrayNode().add(2.5).add(1.5).add(2.0));
        in.put("margin_mm", 7.0);
        ObjectNode pre = c.putObject("preprocessing");
        pre.set("hu_window", JSON.createArrayNode().add(-150.0).add(250.0));
        pre.put("normalisation", "window");
        ModelConfig config = ConfigParser.parse(c.toString(), window);
        try (Arena arena = Arena.ofConfined()) {
            WeightWriter.write(window, config.json(), SeededWeights.generate(config, 7, arena));
        }
        Path script = Path.of(PreprocessParityTest.class.getResource("/parity_phases.py").toURI());
        Cli.Run py = Cli.exec(dir, List.of("/usr/bin/python3", script.toString(), CT.resolve("example_ct_sm.nii.gz").toString(),
                CT.resolve("example_seg_fast_kidney_left.nii.gz").toString(), dir.toString()));
        assertEquals(0, py.code(), py::toString);
        venous = dir.resolve("venous.nii.gz");
        delayed = dir.resolve("delayed.nii.gz");
    }

    @Test
    void realCtWithResampledPhasesZScore() throws IOException, URISyntaxException {
        JsonNode roi = parity("kidney", builtin, CT.resolve("example_seg_fast_kidney_left.nii.gz"), null);
        assertFalse(roi.get("scaled_to_fit").asBoolean(), roi::toString);
        // The kidney reaches the scan's first slice: part of the grid lies outside every phase (fill value).
        for (JsonNode cov : roi.get("phase_coverage")) {
            assertTrue(cov.asDouble() > 0.5 && cov.asDouble() < 1.01, roi::toString);
        }
    }

    @Test
    void realCtLabelOfALabelMapWindowScaledToFit() throws IOException, URISyntaxException {
        JsonNode roi = parity("label2", window, CT.resolve("example_seg_fast.nii.gz"), 2);
        assertTrue(roi.get("scaled_to_fit").asBoolean(), roi::toString);
        assertEquals(1, roi.get("mask_components").asInt());
    }

    @Test
    void realCtLargestOfManyComponents() throws IOException, URISyntaxException {
        JsonNode roi = parity("largest", window, CT.resolve("example_seg_fast.nii.gz"), null);
        assertTrue(roi.get("mask_components").asInt() > 1, roi::toString);
    }

    @Test
    void realCtMaskOnTheVenousGrid() throws IOException, URISyntaxException {
        JsonNode roi = parity("mask-grid", builtin, dir.resolve("mask_venous.nii.gz"), null);
        assertTrue(roi.get("mask_resampled").asBoolean(), roi::toString);
        assertEquals("none", roi.get("reorientation").asText());
    }

    @Test
    void realCtStoredSagittalReorientRas() throws IOException, URISyntaxException {
        Path save = Files.createDirectory(dir.resolve("save-ras"));
        JsonNode roi = run(window, dir.resolve("mask_sagittal.nii.gz"), null, "ras", save,
                List.of(dir.resolve("sagittal.nii.gz"), venous, delayed));
        assertEquals("ras", roi.get("reorientation").asText());
        assertEquals("RAS", roi.get("network_axes").asText(), roi::toString);
        assertFalse(roi.get("mask_resampled").asBoolean(), roi::toString);
    }

    @Test
    void phantomWithShiftedDelayedPhase() throws IOException, URISyntaxException {
        Path ph = Files.createDirectory(dir.resolve("phantom"));
        Cli.ok("phantom", "--out", ph, "--seed", 5, "--shifted-delayed");
        Path save = Files.createDirectory(dir.resolve("save-phantom"));
        JsonNode roi = run(builtin, ph.resolve("mask.nii.gz"), null, "none", save,
                List.of(ph.resolve("arterial.nii.gz"), ph.resolve("venous.nii.gz"), ph.resolve("delayed.nii.gz")));
        assertEquals(1.0, roi.get("phase_coverage").get(0).asDouble(), roi::toString);
    }

    /** The real CT as arterial, its two regridded copies as venous and delayed. */
    private static JsonNode parity(String name, Path model, Path mask, Integer label) throws IOException, URISyntaxException {
        Path save = Files.createDirectory(dir.resolve("save-" + name));
        return run(model, mask, label, "none", save, List.of(CT.resolve("example_ct_sm.nii.gz"), venous, delayed));
    }

    /** predict --save-input --reorient R, then preprocess_parity.py on the same files; returns the report's roi. */
    private static JsonNode run(Path model, Path mask, Integer label, String reorient, Path save, List<Path> phases)
            throws IOException, URISyntaxException {
        Path out = save.resolve("result.json");
        List<Object> args = new ArrayList<>(List.of("predict", "--model", model, "--arterial", phases.get(0),
                "--venous", phases.get(1), "--delayed", phases.get(2), "--mask", mask, "--out", out,
                "--save-input", save, "--reorient", reorient, "--device", "cpu"));
        if (label != null) {
            args.addAll(List.of("--label", label));
        }
        Cli.ok(args.toArray());
        Path script = Path.of(PreprocessParityTest.class.getResource("/preprocess_parity.py").toURI());
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", script.toString(),
                DemoInspectTest.exportDir().toString(), model.toString(), save.toString(), mask.toString(),
                String.valueOf(label == null ? 0 : label), reorient));
        List<String> names = List.of("arterial", "venous", "delayed");
        for (int p = 0; p < 3; p++) {
            cmd.add(names.get(p) + "=" + phases.get(p));
        }
        Cli.Run py = Cli.exec(dir, cmd);
        assertEquals(0, py.code(), py::toString);
        JsonNode f = JSON.readTree(py.out());
        JsonNode report = JSON.readTree(out.toFile());
        assertEquals(report.get("roi"), f.get("roi"), () -> "report vs preprocess.py:\n" + report.get("roi") + "\n" + f);
        JsonNode size = report.get("roi").get("network_size_dhw");
        assertEquals(List.of(3, size.get(0).asInt(), size.get(1).asInt(), size.get(2).asInt()),
                JSON.convertValue(f.get("shape"), List.class), f::toString);
        for (int p = 0; p < 3; p++) {
            double diff = f.get("max_abs_diff").get(p).asDouble();
            double bound = f.get("bound").get(p).asDouble();
            assertTrue(diff <= bound, () -> names + ": max |engine - preprocess.py| above one float32 rounding: " + f);
        }
        // The saved header holds the network grid's affine as float32: within half a float32 spacing per entry.
        assertTrue(f.get("affine_ulps").asDouble() <= 0.5, f::toString);
        System.out.println("preprocess parity " + save.getFileName() + ": " + f.get("max_abs_diff") + " max |diff|, "
                + f.get("differing") + " values not bit-identical, bound " + f.get("bound"));
        return report.get("roi");
    }
}
