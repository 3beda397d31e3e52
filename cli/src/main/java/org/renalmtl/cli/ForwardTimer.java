package org.renalmtl.cli;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.renalmtl.engine.Model;

/** Wall-clock timing of warm forward passes on a seeded input of the model's configured size. */
final class ForwardTimer {
    private ForwardTimer() {}

    /**
     * @param batch cases per forward
     * @param warmup untimed forwards first (the first one also builds the plan)
     * @param runs timed forwards
     * @return the timed forwards in ms, sorted ascending
     */
    static double[] time(Model model, int batch, int warmup, int runs) {
        int[] s = model.inputSize();
        long n = (long) batch * model.config().phases().size() * s[0] * s[1] * s[2];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate(n * Float.BYTES, 64); // (batch, phases, D, H, W)
            SplittableRandom rnd = new SplittableRandom(42);
            for (long i = 0; i < n; i++) {
                in.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextGaussian());
            }
            MemorySegment probs = arena.allocate((long) batch * model.config().tasks().size() * Float.BYTES, 64);
            for (int i = 0; i < warmup; i++) {
                model.forward(in, batch, probs);
            }
            double[] t = new double[runs];
            for (int i = 0; i < runs; i++) {
                long a = System.nanoTime();
                model.forward(in, batch, probs);
                t[i] = (System.nanoTime() - a) / 1e6;
            }
            Arrays.sort(t);
            return t;
        }
    }

    /** Nearest-rank percentile of sorted values. */
    static double percentile(double[] sorted, double q) {
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }
}
