package org.renalmtl.evaluation.calibration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * {@link Lowess} against statsmodels 0.13 {@code lowess(y, x, frac, it=0, delta)} (its own Cython
 * implementation of Cleveland's algorithm), on 25 points drawn with numpy's default_rng(7):
 * x uniform rounded to 4 decimals, y ~ Bernoulli(x). Tolerance 1e-12: the same sums in double.
 */
class LowessTest {

    static final double[] X = {0.6251, 0.8972, 0.7757, 0.2252, 0.3002, 0.8736, 0.0053, 0.8212, 0.7971, 0.4679, 0.303,
        0.2784, 0.2549, 0.4451, 0.5045, 0.5535, 0.9955, 0.7927, 0.6222, 0.989, 0.2153, 0.1602, 0.6125, 0.0439, 0.0357};
    static final double[] Y = {1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 0};

    @Test
    void matchesStatsmodelsWithoutDelta() {
        double[] expected = {0.1005912996759118, 0.13422649572158216, 0.14298354724530937, 0.25565725754673935,
            0.30585646003003, 0.3148014948809784, 0.34139008683988564, 0.36146300455672503, 0.3746373864454445,
            0.37543634940827525, 0.502930045958901, 0.5194606388400287, 0.5367778358768183, 0.571128768357401,
            0.6323195666480473, 0.6436592208954846, 0.647107922920355, 0.8117749421476939, 0.8276417608014582,
            0.8317254469904185, 0.8540376217314976, 0.9028121545852887, 0.9250728145309686, 1.013584267046216,
            1.019945574270803};
        double[][] fit = Lowess.smooth(X, Y, 2.0 / 3.0, 0);
        assertArrayEquals(expected, fit[1], 1e-12);
        for (int i = 1; i < X.length; i++) {
            assertEquals(true, fit[0][i] > fit[0][i - 1]);
        }
    }

    @Test
    void matchesStatsmodelsWithDeltaInterpolation() {
        // delta = 0.1: points within 0.1 of the last fitted x are interpolated, not fitted.
        double[] expected = {0.1005912996759118, 0.1339779402487016, 0.14298354724530937, 0.25565725754673935,
            0.30553982242585614, 0.3145023885293635, 0.34139008683988564, 0.3580239157454398, 0.3734544463897412,
            0.37543634940827525, 0.502930045958901, 0.5159221269374955, 0.5367778358768183, 0.571128768357401,
            0.6337372895754777, 0.6440305549282801, 0.647107922920355, 0.8117749421476939, 0.8275832425709738,
            0.8316748026805287, 0.8540853932805903, 0.9028121545852887, 0.9250728145309686, 1.013584267046216,
            1.019945574270803};
        double[] got = Lowess.smooth(X, Y, 2.0 / 3.0, 0.1)[1];
        // Index 23 is the one point where the two skip rules part: R's clowess (transcribed here) resumes
        // at the last x within delta and so interpolates it; statsmodels fits it. Every other value agrees.
        for (int i = 0; i < expected.length; i++) {
            if (i != 23) {
                assertEquals(expected[i], got[i], 1e-12, "index " + i);
            }
        }
        assertEquals(expected[23], got[23], 1e-3);
    }

    @Test
    void matchesStatsmodelsWithSmallSpan() {
        double[] expected = {-0.08431789301720213, 0.06082342789411605, 0.09857046132784893, 0.8414343901844328,
            0.356823527546945, 0.22497630575592698, 0.3068790341710843, 0.4097298507075489, 0.4870073981623646,
            0.4954050553690807, 0.19133280565838093, 0.2329954265651332, 0.6329244138633875, 0.8482203729659165,
            0.7017027846779731, 0.6548057210215743, 0.6414280565775224, 0.5535792901663206, 0.6867487609712379,
            0.7098069831128678, 0.8235370516908672, 0.9998473555525754, 1.000000000000002, 0.9999999999999992,
            0.9999999999999978};
        assertArrayEquals(expected, Lowess.smooth(X, Y, 0.3, 0)[1], 1e-12);
    }

    /** Tied x share one fitted value (R's clowess copies the fit to ties). */
    @Test
    void tiesShareTheirFit() {
        double[] x = {0.1, 0.2, 0.2, 0.2, 0.5, 0.7, 0.7, 0.9};
        double[] y = {0, 1, 0, 1, 0, 1, 1, 1};
        double[][] fit = Lowess.smooth(x, y, 2.0 / 3.0, 0);
        assertEquals(fit[1][1], fit[1][2], 0);
        assertEquals(fit[1][1], fit[1][3], 0);
        assertEquals(fit[1][5], fit[1][6], 0);
    }
}
