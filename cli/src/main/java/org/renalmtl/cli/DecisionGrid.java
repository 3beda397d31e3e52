package org.renalmtl.cli;

import org.renalmtl.evaluation.EvaluationInputException;

/**
 * The decision-curve threshold grid of {@code evaluate --thresholds FROM:TO:STEP}: FROM + i·STEP for
 * i = 0, 1, … while it does not pass TO (R's {@code seq(from, to, by)}, with the same 1e-10 tolerance
 * on the count, so that 0:0.6:0.01 has 61 points and 0.07 is 7·0.01 as in R).
 */
final class DecisionGrid {

    private DecisionGrid() {
    }

    /** Parses and checks a grid: 0 ≤ FROM ≤ TO &lt; 1, STEP &gt; 0, at most 10 000 points. */
    static double[] parse(String text) {
        String[] parts = text.split(":", -1);
        if (parts.length != 3) {
            throw new EvaluationInputException("--thresholds must be FROM:TO:STEP (e.g. 0:0.6:0.01), got '" + text + "'");
        }
        double from;
        double to;
        double step;
        try {
            from = Double.parseDouble(parts[0]);
            to = Double.parseDouble(parts[1]);
            step = Double.parseDouble(parts[2]);
        } catch (NumberFormatException e) {
            throw new EvaluationInputException("--thresholds must be three numbers FROM:TO:STEP, got '" + text + "'");
        }
        if (!(from >= 0 && from <= to && to < 1 && step > 0)) {
            throw new EvaluationInputException("--thresholds needs 0 <= FROM <= TO < 1 and STEP > 0, got '" + text + "'");
        }
        double count = Math.floor((to - from) / step + 1e-10) + 1;
        if (count > 10_000) {
            throw new EvaluationInputException("--thresholds: " + (long) count + " points; at most 10000");
        }
        double[] grid = new double[(int) count];
        for (int i = 0; i < grid.length; i++) {
            grid[i] = from + i * step;
        }
        return grid;
    }
}
