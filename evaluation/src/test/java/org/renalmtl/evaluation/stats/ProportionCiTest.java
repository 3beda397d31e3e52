package org.renalmtl.evaluation.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Binomial intervals and Holm's adjustment against independent values. The intervals are SciPy 1.10's
 * {@code scipy.stats.binomtest(x, n).proportion_ci(level, method)} ('exact' is Clopper–Pearson, as R's
 * {@code binom.test}; 'wilson' is without continuity correction, as {@code prop.test(correct = FALSE)}).
 * Tolerance 1e-12: both sides invert a regularised incomplete beta or solve a quadratic in double.
 */
class ProportionCiTest {

    private static final double TOL = 1e-12;

    // x, n, exact low, exact high, wilson low, wilson high (95%)
    private static final double[][] SCIPY = {
        {20, 21, 0.761840090063179, 0.9987951165516293, 0.7733063992587744, 0.9915440121901736},
        {0, 10, 0.0, 0.30849710781876294, 0.0, 0.27753279986288926},
        {10, 10, 0.6915028921812371, 1.0, 0.7224672001371109, 1.0},
        {14, 23, 0.38541895738885146, 0.8029235760309856, 0.40785522391381707, 0.7784237720752205},
        {26, 41, 0.46936254803330757, 0.7787721379389346, 0.4812070108791201, 0.7641016898031056},
        {3, 7, 0.09898827844243689, 0.81594843235993, 0.1582198552514697, 0.7495416354723428},
    };

    @Test
    void clopperPearsonAndWilsonMatchScipy() {
        for (double[] r : SCIPY) {
            int x = (int) r[0];
            int n = (int) r[1];
            ProportionCi.Interval e = ProportionCi.of(x, n, 0.95, ProportionCi.Method.CLOPPER_PEARSON);
            ProportionCi.Interval w = ProportionCi.of(x, n, 0.95, ProportionCi.Method.WILSON);
            assertEquals(r[2], e.low(), TOL, x + "/" + n);
            assertEquals(r[3], e.high(), TOL, x + "/" + n);
            assertEquals(r[4], w.low(), TOL, x + "/" + n);
            assertEquals(r[5], w.high(), TOL, x + "/" + n);
            assertEquals(x / (double) n, e.estimate(), 0);
        }
        ProportionCi.Interval ninety = ProportionCi.of(26, 41, 0.90, ProportionCi.Method.CLOPPER_PEARSON);
        assertEquals(0.49387569038708673, ninety.low(), TOL);
        assertEquals(0.7591910402508432, ninety.high(), TOL);
        assertEquals(Double.NaN, ProportionCi.of(0, 0, 0.95, ProportionCi.Method.WILSON).estimate());
    }

    /** R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") = 0.03 0.06 0.06 0.02 (worked by hand from its definition). */
    @Test
    void holmAsRsPAdjust() {
        assertArrayEquals(new double[]{0.03, 0.06, 0.06, 0.02}, Holm.adjust(new double[]{0.01, 0.04, 0.03, 0.005}), 1e-15);
        assertArrayEquals(new double[]{1, 1}, Holm.adjust(new double[]{0.7, 0.9}), 0);
    }
}
