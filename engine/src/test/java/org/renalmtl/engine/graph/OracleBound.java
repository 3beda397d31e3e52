package org.renalmtl.engine.graph;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A backend's bound for one op in the per-op oracle: {@code |backend - reference| ≤ rel · max|reference| + abs},
 * fixed per op from how the backend computes it, with the reason. Every backend's oracle test keeps
 * its table of these; the check is this one.
 *
 * @param rel relative to the output's largest magnitude
 * @param abs absolute
 * @param why the reason for these numbers
 */
public record OracleBound(double rel, double abs, String why) {
    /**
     * Asserts a backend's output within this bound of the reference; NaN counts as the worst error.
     *
     * @param what the case, for the message
     * @param backend the backend's name, for the message
     */
    public void check(String what, String backend, float[] expected, float[] got) {
        double scale = 0;
        for (float v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        double limit = rel * scale + abs;
        assertTrue(expected.length == got.length, () -> what + ": " + got.length + " values, expected " + expected.length);
        int worst = -1;
        double worstErr = -1;
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs((double) got[i] - expected[i]);
            if (!(err <= worstErr)) {
                worst = i;
                worstErr = err;
            }
        }
        int at = worst;
        double err = worstErr;
        assertTrue(err <= limit, () -> what + ": worst error " + err + " at element " + at + " (" + backend + " "
                + got[at] + ", reference " + expected[at] + ") exceeds " + limit + " (" + why + ")");
    }

    /**
     * @return {@code ‖actual − expected‖₂ / ‖expected‖₂} in double (the denominator floored at 1e-30): the
     *     error measure of whole-layer comparisons, where one bad element among millions should count by
     *     its size rather than fail a per-element bound set for the worst rounding
     */
    public static double relativeL2(float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            throw new AssertionError(actual.length + " values, expected " + expected.length);
        }
        double err = 0;
        double ref = 0;
        for (int i = 0; i < expected.length; i++) {
            err += Math.pow((double) actual[i] - expected[i], 2);
            ref += Math.pow(expected[i], 2);
        }
        return Math.sqrt(err / Math.max(ref, 1e-30));
    }
}
