package org.renalmtl.engine;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.renalmtl.weights.SegmentationConfig;
import org.renalmtl.weights.SegmentationConfigParser;
import org.renalmtl.weights.SegmentationLayout;
import org.renalmtl.weights.Tensor;

/**
 * nnU-Net's default 3d_fullres network, built in for timing without a trained model: the 6-stage PlainConvUNet
 * (32…320 features, strides [1,2,2,2,2,2], InstanceNorm, LeakyReLU, 128³ patch, 4 classes) that
 * {@code nnUNetv2_plan_and_preprocess} plans for a CT at about 1 mm, with seeded weights. {@code bench --config
 * seg-nnunet-default} and the engine's {@code UNetTiming} time it; the weights are random, so its labels mean
 * nothing.
 */
public final class BuiltinUNets {
    private BuiltinUNets() {}

    /** @return the network's config ({@code nnunet-default-3d-fullres.json}) */
    public static SegmentationConfig nnunetDefault() {
        try (InputStream in = BuiltinUNets.class.getResourceAsStream("nnunet-default-3d-fullres.json")) {
            return SegmentationConfigParser.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8),
                    Path.of("builtin:nnunet-default-3d-fullres"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Seeded weights: convolutions uniform with a He-like scale (activations neither vanish nor explode through 12
     * stages of InstanceNorm), norm weights about 1, everything else small.
     *
     * @param config the network
     * @param seed   the random seed
     * @param arena  owns the tensors' memory
     * @return every tensor the config expects, by name
     */
    public static Map<String, Tensor> seeded(SegmentationConfig config, long seed, Arena arena) {
        SplittableRandom rnd = new SplittableRandom(seed);
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
