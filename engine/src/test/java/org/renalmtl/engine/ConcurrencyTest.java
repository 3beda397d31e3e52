package org.renalmtl.engine;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** One model shared by several threads gives each caller exactly what a lone caller gets. */
class ConcurrencyTest {
    @Test
    void concurrentPredictionsMatchSequentialOnes() throws Exception {
        int[][] sizes = {{32, 32, 32}, {24, 28, 20}};
        int inputs = 6;
        try (Model model = BuiltinModels.create(BuiltinModels.Kind.MTDL, 5, Device.CPU);
                Arena arena = Arena.ofShared()) {
            List<MemorySegment> in = new ArrayList<>();
            float[][] expected = new float[inputs][];
            for (int i = 0; i < inputs; i++) {
                int[] s = sizes[i % 2];
                long n = 3L * s[0] * s[1] * s[2];
                MemorySegment seg = arena.allocate(n * Float.BYTES, 64);
                SplittableRandom r = new SplittableRandom(i);
                for (long k = 0; k < n; k++) {
                    seg.setAtIndex(JAVA_FLOAT, k, (float) r.nextGaussian());
                }
                in.add(seg);
                expected[i] = run(model, seg, s, arena);
            }
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<float[]>> got = new ArrayList<>();
                for (int rep = 0; rep < 3; rep++) {
                    for (int i = 0; i < inputs; i++) {
                        int k = i;
                        got.add(pool.submit(() -> {
                            try (Arena local = Arena.ofConfined()) {
                                return run(model, in.get(k), sizes[k % 2], local);
                            }
                        }));
                    }
                }
                for (int j = 0; j < got.size(); j++) {
                    // Same plan, same primitives, same order of operations: bit-identical.
                    assertArrayEquals(expected[j % inputs], got.get(j).get(), 0f, "prediction " + j);
                }
            } finally {
                pool.shutdown();
            }
        }
    }

    private static float[] run(Model model, MemorySegment input, int[] size, Arena arena) {
        MemorySegment probs = arena.allocate(3 * Float.BYTES, 64);
        model.forward(input, 1, size, probs);
        return probs.toArray(JAVA_FLOAT);
    }
}
