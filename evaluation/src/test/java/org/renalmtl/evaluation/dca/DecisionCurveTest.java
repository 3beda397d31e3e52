package org.renalmtl.evaluation.dca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.renalmtl.evaluation.ReferenceData;
import org.renalmtl.evaluation.calibration.LogisticRegression;
import org.renalmtl.evaluation.io.CsvTable;

/**
 * Decision curves against the R results of dcurves stored with the Python port's tests
 * (MSKCC-Epi-Bio/dcurves tests/benchmark_data, copied to testdata/stats/dcurves):
 * <ul>
 *   <li>r_case1_results.csv: {@code dca(cancer ~ famhistory, df_binary)} with net interventions avoided;</li>
 *   <li>r_dca_famhistory.csv: the same model, label "Family History";</li>
 *   <li>r_simple_binary_dca_result_df.csv: {@code dca(cancer ~ age, as_probability = "age")};</li>
 *   <li>r_case3_results.csv: {@code dca(cancer ~ marker, df_cancer_dx, thresholds = 0..0.35,
 *       harm = list(marker = 0.0333), as_probability = "marker")} (tests/test_harms.py).</li>
 * </ul>
 * Every deterministic column must agree to 1e-9.
 */
class DecisionCurveTest {

    private static final double TOL = 1e-9;

    private static CsvTable dcurves(String file) {
        return CsvTable.read(ReferenceData.statsDir().resolve("dcurves").resolve(file));
    }

    private static boolean[] outcome(CsvTable t) {
        int c = t.column("cancer", "test");
        boolean[] y = new boolean[t.rowCount()];
        for (int r = 0; r < y.length; r++) {
            String v = t.cell(r, c);
            y[r] = v.equals("TRUE") || v.equals("1");
        }
        return y;
    }

    private static double[] column(CsvTable t, String name) {
        int c = t.column(name, "test");
        double[] x = new double[t.rowCount()];
        for (int r = 0; r < x.length; r++) {
            x[r] = t.number(r, c);
        }
        return x;
    }

    private static double parseR(String s) {
        return switch (s) {
            case "NA" -> Double.NaN;
            case "Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            default -> Double.parseDouble(s);
        };
    }

    private static void assertSame(double expected, double actual, String what) {
        if (Double.isNaN(expected) || Double.isInfinite(expected)) {
            assertEquals(expected, actual, what);
        } else {
            assertEquals(expected, actual, TOL, what);
        }
    }

    /** Compares every row of an R result file with ours (variables renamed by {@code modelName}). */
    private static void compare(CsvTable expected, List<DecisionCurve.Row> ours, String modelName) {
        String[] columns = {"pos_rate", "tp_rate", "fp_rate", "harm", "net_benefit", "test_pos_rate",
            "net_intervention_avoided"};
        int checked = 0;
        int v = expected.column("variable", "test");
        int th = expected.column("threshold", "test");
        for (int r = 0; r < expected.rowCount(); r++) {
            String variable = expected.cell(r, v);
            String ourName = variable.equals("all") || variable.equals("none") ? variable : modelName;
            double t = Double.parseDouble(expected.cell(r, th));
            DecisionCurve.Row row = ours.stream()
                .filter(x -> x.variable().equals(ourName) && Math.abs(x.threshold() - t) < 1e-12)
                .findFirst().orElseThrow(() -> new AssertionError("no row " + variable + " at " + t));
            for (String col : columns) {
                if (!expected.hasColumn(col)) {
                    continue;
                }
                double e = parseR(expected.cell(r, expected.column(col, "test")));
                double a = switch (col) {
                    case "pos_rate" -> row.posRate();
                    case "tp_rate" -> row.tpRate();
                    case "fp_rate" -> row.fpRate();
                    case "harm" -> row.harm();
                    case "net_benefit" -> row.netBenefit();
                    case "test_pos_rate" -> row.testPosRate();
                    default -> row.netInterventionAvoided();
                };
                assertSame(e, a, variable + " " + col + " at threshold " + t);
                checked++;
            }
        }
        assertTrue(checked >= expected.rowCount() * 5, "compared " + checked + " values");
    }

    @Test
    void famhistoryMatchesDcurvesCase1() {
        CsvTable data = dcurves("df_binary.csv");
        List<DecisionCurve.Row> rows = DecisionCurve.compute(outcome(data),
            List.of(new DecisionCurve.Model("famhistory", column(data, "famhistory"), 0)),
            DecisionCurve.defaultThresholds());
        assertEquals(300, rows.size());
        compare(dcurves("r_case1_results.csv"), rows, "famhistory");
        compare(dcurves("r_dca_famhistory.csv"), rows, "famhistory");
    }

    @Test
    void defaultGridIsRsSeq() {
        double[] t = DecisionCurve.defaultThresholds();
        assertEquals(100, t.length);
        assertEquals(0.07000000000000001, t[7]); // R: sprintf("%.17g", seq(0, 0.99, 0.01)[8])
        assertEquals(0.99, t[99], 1e-15);
    }

    @Test
    void ageAsProbabilityMatchesDcurves() {
        CsvTable data = dcurves("df_binary.csv");
        boolean[] y = outcome(data);
        double[] age = column(data, "age");
        LogisticRegression.Fit fit = LogisticRegression.fit(y, age, null);
        double[] risk = Arrays.stream(age).map(a -> fit.predict(a, 0)).toArray();
        List<DecisionCurve.Row> rows = DecisionCurve.compute(y, List.of(new DecisionCurve.Model("age", risk, 0)),
            DecisionCurve.defaultThresholds());
        compare(dcurves("r_simple_binary_dca_result_df.csv"), rows, "age");
    }

    @Test
    void markerWithHarmMatchesDcurvesCase3() {
        CsvTable data = dcurves("df_cancer_dx.csv");
        boolean[] y = outcome(data);
        double[] marker = column(data, "marker");
        LogisticRegression.Fit fit = LogisticRegression.fit(y, marker, null);
        double[] risk = Arrays.stream(marker).map(a -> fit.predict(a, 0)).toArray();
        // Our glm agrees with the stored risks of the same regression (dca_tut_bin_int_marker_risks.csv,
        // 17 digits). Their producer stopped on a deviance criterion, so agreement is to ~1e-8 only.
        double[] stored = column(dcurves("dca_tut_bin_int_marker_risks.csv"), "marker_risk");
        for (int i = 0; i < risk.length; i++) {
            assertEquals(stored[i], risk[i], 1e-7);
        }
        double[] thresholds = new double[36];
        for (int i = 0; i < thresholds.length; i++) {
            thresholds[i] = i * 0.01;
        }
        List<DecisionCurve.Row> rows = DecisionCurve.compute(y,
            List.of(new DecisionCurve.Model("marker", risk, 0.0333)), thresholds);
        compare(dcurves("r_case3_results.csv"), rows, "marker");
    }

    @Test
    void noneIsNeverPositiveAndAllIsAlwaysPositive() {
        boolean[] y = {true, false, false, true};
        List<DecisionCurve.Row> rows = DecisionCurve.compute(y,
            List.of(new DecisionCurve.Model("m", new double[]{0, 1, 0.5, 0.2}, 0)), new double[]{0, 0.5});
        List<DecisionCurve.Row> none = new ArrayList<>(rows.stream().filter(r -> r.variable().equals("none")).toList());
        assertEquals(0.0, none.get(0).testPosRate());
        assertEquals(1.0, rows.get(0).testPosRate());
        // risk 0 is nudged below threshold 0: 3 of 4 positive at pt = 0
        assertEquals(0.75, rows.get(4).testPosRate());
    }
}
