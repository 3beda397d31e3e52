package org.renalmtl.evaluation.roc;

/**
 * Scores of one marker on a binary outcome, split by class. Higher scores mean "more likely positive"
 * (pROC's {@code direction = "<"}, controls &lt; cases); a marker that runs the other way simply
 * gets an AUC below 0.5, never a silent flip.
 *
 * @param cases    scores of the positive cases, (m)
 * @param controls scores of the negative cases, (n)
 */
public record RocSample(double[] cases, double[] controls) {

    /** Validates the shapes; arrays are used as given (not copied) to keep bootstraps cheap. */
    public RocSample {
        if (cases.length == 0 || controls.length == 0) {
            throw new IllegalArgumentException("an ROC needs at least one case and one control, got "
                + cases.length + " and " + controls.length);
        }
    }

    /** Number of positive cases m. */
    public int m() {
        return cases.length;
    }

    /** Number of negative cases n. */
    public int n() {
        return controls.length;
    }

    /**
     * Splits scores by labels.
     *
     * @param scores   (N) scores
     * @param positive (N) true for a positive case
     */
    public static RocSample of(double[] scores, boolean[] positive) {
        int m = 0;
        for (boolean p : positive) {
            m += p ? 1 : 0;
        }
        double[] cases = new double[m];
        double[] controls = new double[scores.length - m];
        int i = 0;
        int j = 0;
        for (int k = 0; k < scores.length; k++) {
            if (positive[k]) {
                cases[i++] = scores[k];
            } else {
                controls[j++] = scores[k];
            }
        }
        return new RocSample(cases, controls);
    }
}
