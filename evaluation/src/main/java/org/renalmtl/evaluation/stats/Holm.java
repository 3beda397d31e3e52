package org.renalmtl.evaluation.stats;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * Holm's step-down adjustment of p-values for multiple comparisons, as R's
 * {@code p.adjust(p, method = "holm")}: the i-th smallest of k p-values is multiplied by k − i + 1,
 * made non-decreasing in that order by a running maximum, and capped at 1.
 */
public final class Holm {

    private Holm() {
    }

    /** Adjusted p-values, in the order of {@code p}. */
    public static double[] adjust(double[] p) {
        int k = p.length;
        Integer[] order = IntStream.range(0, k).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble(i -> p[i]));
        double[] out = new double[k];
        double running = 0;
        for (int i = 0; i < k; i++) {
            running = Math.max(running, Math.min(1, (k - i) * p[order[i]]));
            out[order[i]] = running;
        }
        return out;
    }
}
