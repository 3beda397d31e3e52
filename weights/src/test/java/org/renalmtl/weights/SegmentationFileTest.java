package org.renalmtl.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The segmentation config parser's refusals (one line naming the file and the problem) and
 * {@link SegmentationFile} on files written by {@link WeightWriter}: a round trip, and the reader's
 * tensor checks shared with {@link WeightFile}.
 */
class SegmentationFileTest {
    private static final Path FILE = Path.of("seg.h5");

    /** FORMAT.md's example, label-based (the KiTS23 example is region-based), with a ResidualEncoderUNet switchable. */
    static String config(String cls, String labels, String order) {
        return """
                {"format": "renal-mtl-segmentation", "format_version": 1, "producer": "test",
                 "name": "Dataset220_KiTS2023 nnUNetTrainer__nnUNetPlans__3d_fullres fold 0",
                 "source": {"dataset": "Dataset220_KiTS2023", "trainer": "nnUNetTrainer", "plans": "nnUNetPlans",
                            "configuration": "3d_fullres", "fold": 0, "checkpoint": "checkpoint_final.pth"},
                 "network": {"class": "%s", "input_channels": 1, "num_classes": 3, "features_per_stage": [2, 4, 4],
                             "kernel_sizes": [[1, 3, 3], [3, 3, 3], [3, 3, 3]], "strides": [[1, 1, 1], [1, 2, 2], [2, 2, 2]],
                             "n_conv_per_stage": [2, 2, 1], "n_conv_per_stage_decoder": [1, 1], "conv_bias": true,
                             "norm": {"type": "InstanceNorm3d", "eps": 1e-05, "affine": true},
                             "nonlin": {"type": "LeakyReLU", "negative_slope": 0.01}},
                 "patch_size": [4, 8, 8], "spacing": [3.0, 0.78125, 0.78125],
                 "transpose_forward": [2, 0, 1], "transpose_backward": [1, 2, 0],
                 "channels": [{"name": "CT", "normalization": "CTNormalization", "use_mask_for_norm": false,
                               "mean": 103.0, "std": 73.3, "percentile_00_5": -58.0, "percentile_99_5": 302.0}],
                 "resampling": {"data": {"order": 3, "order_z": 0, "force_separate_z": null, "separate_z_anisotropy_threshold": 3.0},
                                "probabilities": {"order": 1, "order_z": 0, "force_separate_z": false, "separate_z_anisotropy_threshold": 3.0}},
                 "labels": %s, "regions_class_order": %s, "mirroring_axes": [1, 2]}
                """.formatted(cls, labels, order);
    }

    static String plain() {
        return config("PlainConvUNet", "{\"background\": 0, \"kidney\": 1, \"tumor\": 2}", "null");
    }

    @Test
    void theExampleParsesWithItsDefaults() {
        SegmentationConfig c = SegmentationConfigParser.parse(plain(), FILE);
        assertEquals(SegmentationConfig.Architecture.PLAIN_CONV_UNET, c.network().architecture());
        assertArrayEquals(new int[] {2, 4, 4}, c.network().totalStride());
        assertEquals(SegmentationConfig.Normalization.CT, c.channels().getFirst().normalization());
        assertNull(c.resampling().data().forceSeparateZ());
        assertEquals(Boolean.FALSE, c.resampling().probabilities().forceSeparateZ());
        assertNull(c.regionsClassOrder());
        assertEquals(new SegmentationConfig.RenalMtl("tumor", "kidney", List.of()), c.renalMtl());
        SegmentationConfig r = SegmentationConfigParser.parse(config("ResidualEncoderUNet",
                "{\"background\": 0, \"kidney\": [1, 2, 3], \"masses\": [2, 3], \"tumor\": 2}", "[1, 2, 3]"), FILE);
        assertTrue(r.regionBased());
        assertArrayEquals(new int[] {1, 2, 3}, r.regionsClassOrder());
        assertArrayEquals(new int[] {2, 3}, r.label("masses").values());
    }

    /** Each edit of the example, and the one problem it must be refused with. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "\"format\": \"renal-mtl-segmentation\"|\"format\": \"renal-mtl-weights\"|config 'format' is 'renal-mtl-weights' (a classifier weight file), expected 'renal-mtl-segmentation'",
        "\"format_version\": 1|\"format_version\": 1.0|unsupported format_version 1.0",
        "\"PlainConvUNet\"|\"ResidualUNet\"|network 'class' 'ResidualUNet' is not supported",
        "\"InstanceNorm3d\"|\"BatchNorm3d\"|network 'norm' type 'BatchNorm3d' is not supported",
        "\"LeakyReLU\"|\"ReLU\"|network 'nonlin' type 'ReLU' is not supported",
        "[[1, 3, 3], [3, 3, 3]|[[1, 3, 3], [3, 4, 3]|has an even size",
        "[[1, 3, 3], [3, 3, 3]|[[1, 3, 3], [3, 9, 3]|network 'kernel_sizes'[1][1] must be ≤ 7, got 9",
        "\"strides\": [[1, 1, 1]|\"strides\": [[1, 1, 5]|network 'strides'[0][2] must be ≤ 4, got 5",
        "\"patch_size\": [4, 8, 8]|\"patch_size\": [4, 8, 6]|is not a multiple of the strides' product [2, 4, 4] on axis 2",
        "\"patch_size\": [4, 8, 8]|\"patch_size\": [4, 8, 1024]|config 'patch_size'[2] must be ≤ 512, got 1024",
        "\"features_per_stage\": [2, 4, 4]|\"features_per_stage\": [2, 4, 4096]|network 'features_per_stage'[2] must be ≤ 2048, got 4096",
        "\"n_conv_per_stage\": [2, 2, 1]|\"n_conv_per_stage\": [2, 2]|network 'n_conv_per_stage' must be an array of 3 integers",
        "\"num_classes\": 3|\"num_classes\": 4|config 'labels' values [0, 1, 2] must be 0 … num_classes - 1 = 3",
        "\"num_classes\": 3|\"num_classes\": 65|network 'num_classes' must be ≤ 64, got 65",
        "\"CTNormalization\"|\"RescaleTo01Normalization\"|normalization 'RescaleTo01Normalization' is not supported",
        "\"mean\": 103.0,|\"mean\": \"103\",|'mean' must be a finite number, got \"103\"",
        "\"transpose_backward\": [1, 2, 0]|\"transpose_backward\": [2, 0, 1]|is not the inverse of 'transpose_forward'",
        "\"mirroring_axes\": [1, 2]|\"mirroring_axes\": [1, 1]|config 'mirroring_axes' [1, 1] has duplicates",
        "\"regions_class_order\": null|\"regions_class_order\": [1, 2]|config 'regions_class_order' is given but no label is a region",
        "\"force_separate_z\": null|\"force_separate_z\": \"no\"|'force_separate_z' must be true, false or null",
        "\"fold\": 0|\"fold\": \"0\"|source 'fold' must be a non-negative integer or \"all\"",
        "\"mirroring_axes\": [1, 2]}|\"mirroring_axes\": [1, 2], \"renal_mtl\": {\"phases\": [\"venous\", \"arterial\"]}}|renal_mtl 'phases' has 2 entries, the network 1 input channel(s)",
        "\"mirroring_axes\": [1, 2]}|\"mirroring_axes\": [1, 2]} {}|config is not valid JSON",
        "\"producer\": \"test\"|\"producer\": \"test\", \"producer\": \"x\"|config is not valid JSON: Duplicate field 'producer'",
    })
    void aBrokenConfigIsRefusedNamingTheFileAndTheProblem(String from, String to, String problem) {
        String json = plain();
        assertTrue(json.contains(from), from);
        WeightFormatException e = assertThrows(WeightFormatException.class,
                () -> SegmentationConfigParser.parse(json.replace(from, to), FILE));
        assertTrue(e.getMessage().startsWith("seg.h5: ") && e.getMessage().contains(problem), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line");
    }

    @Test
    void aRegionModelNeedsItsClassOrderAndOneChannelPerRegion() {
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> SegmentationConfigParser.parse(
                config("PlainConvUNet", "{\"background\": 0, \"kidney\": [1, 2], \"tumor\": 2, \"cyst\": 3}", "null"), FILE));
        assertTrue(e.getMessage().contains("config 'labels' has 3 region(s), the network 3 output channel(s)")
                || e.getMessage().contains("'regions_class_order' is missing"), e.getMessage());
        assertTrue(e.getMessage().contains("'regions_class_order' is missing"), e.getMessage());
    }

    @Test
    void aFileRoundTripsThroughTheWriterAndTheReader(@TempDir Path dir) {
        for (String cls : List.of("PlainConvUNet", "ResidualEncoderUNet")) {
            String json = config(cls, "{\"background\": 0, \"kidney\": 1, \"tumor\": 2}", "null");
            SegmentationConfig c = SegmentationConfigParser.parse(json, FILE);
            Path file = dir.resolve(cls + ".h5");
            try (Arena arena = Arena.ofConfined()) {
                Map<String, Tensor> tensors = tensors(c, arena);
                WeightWriter.write(file, json, tensors);
                try (SegmentationFile sf = SegmentationFile.load(file)) {
                    assertEquals(tensors.keySet(), sf.tensors().keySet());
                    for (Tensor t : tensors.values()) {
                        assertArrayEquals(t.toArray(), sf.tensor(t.name()).toArray(), t.name());
                    }
                }
                // The classifier reader refuses it by name, and the other way round.
                WeightFormatException e = assertThrows(WeightFormatException.class, () -> WeightFile.load(file));
                assertTrue(e.getMessage().contains("is 'renal-mtl-segmentation' (a segmentation model), expected 'renal-mtl-weights'"),
                        e.getMessage());
            }
        }
        assertTrue(SegmentationLayout.expected(SegmentationConfigParser.parse(
                config("ResidualEncoderUNet", "{\"background\": 0, \"kidney\": 1, \"tumor\": 2}", "null"), FILE))
                .containsKey("encoder.stages.1.blocks.0.skip.1.conv.weight"), "AvgPool then projection: skip.1");
    }

    @Test
    void missingUnexpectedAndNonFiniteTensorsAreReportedInOneLine(@TempDir Path dir) {
        String json = plain();
        SegmentationConfig c = SegmentationConfigParser.parse(json, FILE);
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> tensors = tensors(c, arena);
            tensors.remove("decoder.seg_layers.1.bias");
            long[] one = {1};
            tensors.put("decoder.seg_layers.0.bias", new Tensor("decoder.seg_layers.0.bias", one, arena.allocate(4)));
            Path file = dir.resolve("broken.h5");
            WeightWriter.write(file, json, tensors);
            WeightFormatException e = assertThrows(WeightFormatException.class, () -> SegmentationFile.load(file));
            assertTrue(e.getMessage().startsWith(file + ": 1 missing tensor(s): decoder.seg_layers.1.bias; "
                    + "1 unexpected tensor(s): decoder.seg_layers.0.bias"), e.getMessage());

            Map<String, Tensor> nan = tensors(c, arena);
            nan.get("encoder.stages.0.0.convs.0.norm.weight").data().setAtIndex(ValueLayout.JAVA_FLOAT, 1, Float.NaN);
            Path nanFile = dir.resolve("nan.h5");
            WeightWriter.write(nanFile, json, nan);
            e = assertThrows(WeightFormatException.class, () -> SegmentationFile.load(nanFile));
            assertEquals(nanFile + ": non-finite values (NaN or Inf) in encoder.stages.0.0.convs.0.norm.weight", e.getMessage());
        }
    }

    private static Map<String, Tensor> tensors(SegmentationConfig c, Arena arena) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        int[] k = {0};
        SegmentationLayout.expected(c).forEach((name, shape) -> {
            long n = TensorLayout.elements(shape);
            MemorySegment m = arena.allocate(n * Float.BYTES, 64);
            for (long i = 0; i < n; i++) {
                m.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) ((k[0]++ % 17) - 8) / 8f);
            }
            out.put(name, new Tensor(name, shape, m));
        });
        return out;
    }
}
