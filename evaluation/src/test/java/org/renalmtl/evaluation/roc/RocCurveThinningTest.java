package org.renalmtl.evaluation.roc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** The thinned curve used by plots and metrics.json: bounded size, and close to the full curve. */
class RocCurveThinningTest {

    @Test
    void largeCurveIsBoundedAndWithinDeltaOfEveryPoint() {
        SplittableRandom rng = new SplittableRandom(3);
        int n = 100_000;
        double[] x = new double[n];
        boolean[] y = new boolean[n];
        for (int i = 0; i < n; i++) {
            y[i] = rng.nextDouble() < 0.3;
            x[i] = rng.nextGaussian() + (y[i] ? 1 : 0);
        }
        RocCurve curve = RocCurve.of(RocSample.of(x, y));
        List<RocCurve.OperatingPoint> all = curve.points();
        int max = 500;
        List<RocCurve.OperatingPoint> kept = curve.thinned(max);
        assertTrue(kept.size() <= max, "kept " + kept.size());
        assertTrue(kept.size() > max / 2, "the budget is used, not wasted: " + kept.size());
        assertSame(all.getFirst(), kept.getFirst());
        assertSame(all.getLast(), kept.getLast());
        // Walk the full curve: every point lies within delta of the last kept point at or before it.
        double delta = 2.0 / (max - 2);
        int k = 0;
        for (RocCurve.OperatingPoint p : all) {
            if (k + 1 < kept.size() && kept.get(k + 1) == p) {
                k++;
            }
            RocCurve.OperatingPoint q = kept.get(k);
            assertTrue(Math.abs(p.sensitivity() - q.sensitivity()) < delta + 1e-12
                && Math.abs(p.specificity() - q.specificity()) < delta + 1e-12, "point at threshold " + p.threshold());
        }
        assertEquals(kept.size() - 1, k, "kept points appear in curve order");
    }

    @Test
    void smallCurveIsUnchanged() {
        RocCurve curve = RocCurve.of(RocSample.of(new double[]{0.1, 0.4, 0.35, 0.8}, new boolean[]{false, false, true, true}));
        assertSame(curve.points(), curve.thinned(5));
    }
}
