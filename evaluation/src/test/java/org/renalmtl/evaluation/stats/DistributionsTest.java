package org.renalmtl.evaluation.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Reference values of R's pnorm/qnorm/pt/qt/pf/pchisq, as printed by R, cross-checked with SciPy 1.17
 * (scipy.stats norm/t/f/chi2) to all printed digits.
 */
class DistributionsTest {

    @Test
    void normal() {
        assertEquals(1.959963984540054, Distributions.normalQuantile(0.975), 1e-14);
        assertEquals(-1.959963984540054, Distributions.normalQuantile(0.025), 1e-14);
        assertEquals(0.0249978951482204, Distributions.normalCdf(-1.96), 1e-15);
        assertEquals(0.841344746068543, Distributions.normalCdf(1), 1e-14);
        // far tail: pnorm(-10) = 7.61985302416047e-24
        assertEquals(7.61985302416047e-24, Distributions.normalCdf(-10), 1e-35);
        assertEquals(-4.753424308822899, Distributions.normalQuantile(1e-6), 1e-12);
    }

    @Test
    void studentT() {
        // qt(0.975, 10) = 2.228138851986274; pt(-2, 5) = 0.05096973941492914
        assertEquals(2.228138851986274, Distributions.studentTQuantile(0.975, 10), 1e-12);
        assertEquals(0.050969739414929174, Distributions.studentTCdf(-2, 5), 1e-14);
        assertEquals(2 * 0.050969739414929174, Distributions.twoSidedTP(2, 5), 1e-14);
    }

    @Test
    void fAndChiSquare() {
        // 1 - pf(4.484854, 1, 15.06611) = 0.05123303576804349 (scipy.stats.f.sf; the inputs are MRMCaov's
        // printed VanDyke F and df2, whose own printed p is 0.05123303).
        assertEquals(0.05123303576804349, Distributions.fUpperTail(4.484854, 1, 15.06611), 1e-13);
        // F(1, d) = T(d)²: the two routes must agree closely.
        assertEquals(Distributions.twoSidedTP(Math.sqrt(4.484854), 15.06611),
            Distributions.fUpperTail(4.484854, 1, 15.06611), 1e-13);
        // 1 - pchisq(5.475953, 1) = 0.01927984 (MRMCaov fixed-reader output); chi2(1) = z².
        assertEquals(Distributions.twoSidedNormalP(Math.sqrt(5.475953)),
            Distributions.chiSquareUpperTail(5.475953, 1), 1e-13);
        assertEquals(0.019279845745379668, Distributions.chiSquareUpperTail(5.475953, 1), 1e-13);
        // 1 - pchisq(7, 3) = 0.07189777249646509 (scipy.stats.chi2.sf(7, 3))
        assertEquals(0.07189777249646509, Distributions.chiSquareUpperTail(7, 3), 1e-13);
    }
}
