package org.renalmtl.engine.graph;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.renalmtl.weights.SegmentationConfig;
import org.renalmtl.weights.SegmentationConfigParser;
import org.renalmtl.weights.SegmentationLayout;
import org.renalmtl.weights.Tensor;

/** Small nnU-Net configs that reach every branch of {@link UNetBuilder}, with seeded weights. */
final class TinyUNets {
    private TinyUNets() {}

    /**
     * A PlainConvUNet: 2 input channels, 3 classes, anisotropic first stage ([1,3,3] kernel, padding
     * [0,1,1]), anisotropic strides, uneven convs per stage, biased convs, affine norm.
     */
    static SegmentationConfig plain() {
        return config("PlainConvUNet", 2, 3, "[4, 6, 8]", "[[1, 3, 3], [3, 3, 3], [3, 3, 3]]",
                "[[1, 1, 1], [1, 2, 2], [2, 2, 2]]", "[2, 1, 2]", "[1, 2]", true, true, "[4, 8, 8]");
    }

    /**
     * A ResidualEncoderUNet whose blocks take every skip: none (stage 0), a 1³ projection (stage 1), an
     * AvgPool3d then projection (stage 2, stride [1,2,2]), an AvgPool3d alone (stage 3, 8 → 8, stride 2);
     * convs without bias, two blocks in stage 1.
     */
    static SegmentationConfig residual() {
        return config("ResidualEncoderUNet", 1, 2, "[4, 6, 8, 8]", "[[3, 3, 3], [1, 3, 3], [3, 3, 3], [3, 3, 3]]",
                "[[1, 1, 1], [1, 1, 1], [1, 2, 2], [2, 2, 2]]", "[1, 2, 1, 1]", "[1, 1, 1]", false, true, "[4, 8, 8]");
    }

    /** As {@link #plain} without affine norms and conv biases. */
    static SegmentationConfig plainNoAffine() {
        return config("PlainConvUNet", 1, 2, "[3, 5]", "[[3, 3, 3], [3, 3, 3]]", "[[1, 1, 1], [2, 2, 2]]", "[1, 1]",
                "[1]", false, false, "[4, 4, 4]");
    }

    static SegmentationConfig config(String cls, int in, int classes, String features, String kernels, String strides,
            String convs, String decoder, boolean bias, boolean affine, String patch) {
        StringBuilder labels = new StringBuilder("\"background\": 0");
        for (int c = 1; c < classes; c++) {
            labels.append(", \"").append(c == 1 ? "tumor" : "label" + c).append("\": ").append(c);
        }
        StringBuilder channels = new StringBuilder();
        for (int c = 0; c < in; c++) {
            channels.append(c == 0 ? "" : ", ").append("{\"name\": \"ch").append(c)
                    .append("\", \"normalization\": \"ZScoreNormalization\", \"use_mask_for_norm\": false}");
        }
        String json = """
                {"format": "renal-mtl-segmentation", "format_version": 1, "producer": "test", "name": "tiny",
                 "source": {"dataset": "Dataset999_Tiny", "trainer": "nnUNetTrainer", "plans": "nnUNetPlans",
                            "configuration": "3d_fullres", "fold": 0, "checkpoint": "checkpoint_final.pth"},
                 "network": {"class": "%s", "input_channels": %d, "num_classes": %d, "features_per_stage": %s,
                             "kernel_sizes": %s, "strides": %s, "n_conv_per_stage": %s, "n_conv_per_stage_decoder": %s,
                             "conv_bias": %b, "norm": {"type": "InstanceNorm3d", "eps": 1e-05, "affine": %b},
                             "nonlin": {"type": "LeakyReLU", "negative_slope": 0.01}},
                 "patch_size": %s, "spacing": [1.0, 1.0, 1.0], "transpose_forward": [0, 1, 2], "transpose_backward": [0, 1, 2],
                 "channels": [%s],
                 "resampling": {"data": {"order": 3, "order_z": 0, "force_separate_z": null, "separate_z_anisotropy_threshold": 3.0},
                                "probabilities": {"order": 1, "order_z": 0, "force_separate_z": null, "separate_z_anisotropy_threshold": 3.0}},
                 "labels": {%s}, "regions_class_order": null, "mirroring_axes": [0, 1, 2]}
                """.formatted(cls, in, classes, features, kernels, strides, convs, decoder, bias, affine, patch, channels, labels);
        return SegmentationConfigParser.parse(json, Path.of("tiny.h5"));
    }

    /**
     * Seeded weights: conv weights uniform in ±1/√fan_in (PyTorch's default scale), biases ±0.1, norm
     * weights 1 ± 0.2 and biases ±0.1.
     */
    static Map<String, Tensor> weights(SegmentationConfig config, Arena arena, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, Tensor> out = new LinkedHashMap<>();
        SegmentationLayout.expected(config).forEach((name, shape) -> {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            MemorySegment data = arena.allocate(n * Float.BYTES, 64);
            double scale = shape.length == 5 ? 1 / Math.sqrt((double) n / shape[name.startsWith("decoder.transpconvs") ? 1 : 0])
                    : 0.1;
            for (long i = 0; i < n; i++) {
                double u = rnd.nextDouble(-1, 1);
                double v = name.endsWith(".norm.weight") ? 1 + 0.2 * u : u * scale;
                data.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) v);
            }
            out.put(name, new Tensor(name, shape, data));
        });
        return out;
    }

    /** @return n values uniform in ±2, seeded */
    static float[] input(long n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[Math.toIntExact(n)];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextDouble(-2, 2);
        }
        return x;
    }
}
