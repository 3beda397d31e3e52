package org.renalmtl.evaluation.io;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.renalmtl.evaluation.EvaluationInputException;

/**
 * Binary labels and one or more score columns taken from a table, validated for an ROC analysis.
 *
 * @param positive (N) true where the label equals the positive value
 * @param scores   score column name -> (N) scores, in the order the columns were asked for
 * @param classes  the two label values, positive first
 */
public record LabeledScoresCsv(boolean[] positive, Map<String, double[]> scores, List<String> classes) {

    /** Number of positive cases. */
    public int positives() {
        int m = 0;
        for (boolean p : positive) {
            m += p ? 1 : 0;
        }
        return m;
    }

    /**
     * Reads labels and scores.
     *
     * @param table         the table
     * @param labelColumn   the label column (--label)
     * @param positiveValue label value of a positive case (--positive)
     * @param scoreColumns  score columns (--score)
     * @throws EvaluationInputException for a missing column, a label column with one class, more than two
     *                                  classes or without the positive value, an empty label, a missing/NaN/
     *                                  non-numeric score (naming its line), or fewer than 2 cases of a class
     */
    public static LabeledScoresCsv read(CsvTable table, String labelColumn, String positiveValue,
                                        List<String> scoreColumns) {
        int lc = table.column(labelColumn, "--label");
        List<Integer> sc = new ArrayList<>();
        for (String s : scoreColumns) {
            sc.add(table.column(s, "--score"));
        }
        if (scoreColumns.stream().distinct().count() != scoreColumns.size()) {
            throw new EvaluationInputException("--score: a column is named more than once: " + scoreColumns);
        }
        int n = table.rowCount();
        List<String> classes = new ArrayList<>();
        boolean[] positive = new boolean[n];
        for (int r = 0; r < n; r++) {
            String v = table.cell(r, lc);
            if (CsvTable.isMissing(v)) {
                throw new EvaluationInputException(table.source() + ": line " + table.lineOf(r) + ", column '"
                    + labelColumn + "': missing label");
            }
            if (!classes.contains(v)) {
                classes.add(v);
                if (classes.size() > 2) {
                    throw new EvaluationInputException(table.source() + ": column '" + labelColumn
                        + "' has more than two classes (" + String.join(", ", classes) + ", ...)");
                }
            }
            positive[r] = v.equals(positiveValue);
        }
        if (classes.isEmpty()) {
            throw new EvaluationInputException(table.source() + ": no data rows");
        }
        if (!classes.contains(positiveValue)) {
            throw new EvaluationInputException(table.source() + ": column '" + labelColumn + "' has no value '"
                + positiveValue + "' (--positive); values are " + String.join(", ", classes));
        }
        if (classes.size() < 2) {
            throw new EvaluationInputException(table.source() + ": column '" + labelColumn
                + "' has one class only ('" + classes.getFirst() + "')");
        }
        int m = 0;
        for (boolean p : positive) {
            m += p ? 1 : 0;
        }
        if (m < 2 || n - m < 2) {
            throw new EvaluationInputException(table.source() + ": column '" + labelColumn + "': " + m
                + " positive and " + (n - m) + " negative cases; each class needs at least 2");
        }
        Map<String, double[]> scores = new LinkedHashMap<>();
        for (int k = 0; k < scoreColumns.size(); k++) {
            double[] x = new double[n];
            for (int r = 0; r < n; r++) {
                x[r] = table.number(r, sc.get(k));
            }
            scores.put(scoreColumns.get(k), x);
        }
        List<String> ordered = classes.getFirst().equals(positiveValue) ? classes : List.of(classes.get(1), classes.get(0));
        return new LabeledScoresCsv(positive, scores, List.copyOf(ordered));
    }
}
