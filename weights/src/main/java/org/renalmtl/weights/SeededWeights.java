package org.renalmtl.weights;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Deterministic random weights for a config (the demo model and tests that need a full-size model
 * without a file). Conv and Linear weights follow He initialisation, scaled so activations stay
 * O(1) through deep stacks; BatchNorm statistics are mildly perturbed from identity so that folding
 * them is exercised. Not a trained model: its probabilities mean nothing clinically.
 */
public final class SeededWeights {
    private SeededWeights() {}

    /**
     * @param config the model config
     * @param seed random seed
     * @param arena owner of the tensors' memory
     * @return name → tensor for every tensor in {@link TensorLayout#expected}
     */
    public static Map<String, Tensor> generate(ModelConfig config, long seed, Arena arena) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : TensorLayout.expected(config).entrySet()) {
            String name = e.getKey();
            long[] shape = e.getValue();
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            MemorySegment seg = arena.allocate(n * Float.BYTES, 64);
            long fanIn = n / shape[0];
            for (long i = 0; i < n; i++) {
                seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) value(name, shape, fanIn, rnd));
            }
            out.put(name, new Tensor(name, shape, seg));
        }
        return out;
    }

    private static double value(String name, long[] shape, long fanIn, SplittableRandom rnd) {
        if (name.endsWith("running_mean")) {
            return 0.1 * rnd.nextGaussian();
        }
        if (name.endsWith("running_var")) {
            return 0.8 + 0.4 * rnd.nextDouble();
        }
        boolean vector = shape.length == 1;
        if (vector && name.endsWith(".weight")) {
            return 0.9 + 0.2 * rnd.nextDouble(); // BatchNorm gamma
        }
        if (vector) {
            return 0.05 * rnd.nextGaussian(); // biases and BatchNorm beta
        }
        // He-normal; the 0.7 keeps residual sums from growing stage after stage.
        return 0.7 * rnd.nextGaussian() * Math.sqrt(2.0 / fanIn);
    }
}
