package org.renalmtl.cli.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.renalmtl.weights.SegmentationConfig;
import org.renalmtl.weights.SegmentationConfigParser;
import org.renalmtl.weights.SegmentationLayout;
import org.renalmtl.weights.Tensor;

/**
 * The segmentation networks {@code bench --config seg-…} measures: {@code seg-phantom}, the built-in phantom
 * nnU-Net the demo segments with (the cli resource {@code phantom-seg.h5}), and {@code seg-nnunet-default},
 * nnU-Net's default 3d_fullres 6-stage PlainConvUNet (32…320 features, 128³ patch, 4 classes) with seeded
 * weights, the network of the engine's {@code UNetTiming}.
 */
final class SegNetworks {
    /** The segmentation configs {@code bench} accepts. */
    static final List<String> CONFIGS = List.of("seg-phantom", "seg-nnunet-default");
    /** The phantom model's file name among the cli's resources. */
    static final String PHANTOM_RESOURCE = "phantom-seg.h5";
    private static final String DEFAULT_JSON = """
            {"format": "renal-mtl-segmentation", "format_version": 1, "producer": "bench", "name": "seg-nnunet-default",
             "source": {"dataset": "D", "trainer": "nnUNetTrainer", "plans": "nnUNetPlans", "configuration": "3d_fullres",
                        "fold": 0, "checkpoint": "checkpoint_final.pth"},
             "network": {"class": "PlainConvUNet", "input_channels": 1, "num_classes": 4,
                         "features_per_stage": [32, 64, 128, 256, 320, 320],
                         "kernel_sizes": [[3, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]],
                         "strides": [[1, 1, 1], [2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2]],
                         "n_conv_per_stage": [2, 2, 2, 2, 2, 2], "n_conv_per_stage_decoder": [2, 2, 2, 2, 2],
                         "conv_bias": true, "norm": {"type": "InstanceNorm3d", "eps": 1e-05, "affine": true},
                         "nonlin": {"type": "LeakyReLU", "negative_slope": 0.01}},
             "patch_size": [128, 128, 128], "spacing": [1, 1, 1], "transpose_forward": [0, 1, 2], "transpose_backward": [0, 1, 2],
             "channels": [{"name": "CT", "normalization": "NoNormalization", "use_mask_for_norm": false}],
             "resampling": {"data": {"order": 3, "order_z": 0, "force_separate_z": null, "separate_z_anisotropy_threshold": 3},
                            "probabilities": {"order": 1, "order_z": 0, "force_separate_z": null, "separate_z_anisotropy_threshold": 3}},
             "labels": {"background": 0, "kidney": 1, "tumor": 2, "cyst": 3}, "regions_class_order": null, "mirroring_axes": []}
            """;

    private SegNetworks() {}

    /** @return whether {@code config} names a segmentation network */
    static boolean isSeg(String config) {
        return CONFIGS.contains(config);
    }

    /** Copies the phantom model out of the class path (the engine reads weight files by path). */
    static void copyPhantom(Path to) {
        try (InputStream in = SegNetworks.class.getResourceAsStream("/org/renalmtl/cli/" + PHANTOM_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the built-in phantom segmentation model is missing from the class path");
            }
            Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @return the default nnU-Net's config */
    static SegmentationConfig defaultConfig() {
        return SegmentationConfigParser.parse(DEFAULT_JSON, Path.of("seg-nnunet-default"));
    }

    /**
     * Seeded weights for {@code config}: convolutions uniform with He-like scale, norm weights about 1.
     *
     * @param arena owns the tensors' memory
     * @return every tensor the config expects, by name
     */
    static Map<String, Tensor> seeded(SegmentationConfig config, Arena arena) {
        SplittableRandom rnd = new SplittableRandom(1);
        Map<String, Tensor> w = new LinkedHashMap<>();
        SegmentationLayout.expected(config).forEach((name, shape) -> {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            MemorySegment m = arena.allocate(n * Float.BYTES, 64);
            double scale = shape.length == 5 ? Math.sqrt(3.0 * shape[0] / n) : 0.1;
            double offset = name.endsWith("norm.weight") ? 1 : 0;
            for (long i = 0; i < n; i++) {
                m.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (rnd.nextDouble(-1, 1) * scale + offset));
            }
            w.put(name, new Tensor(name, shape, m));
        });
        return w;
    }
}
