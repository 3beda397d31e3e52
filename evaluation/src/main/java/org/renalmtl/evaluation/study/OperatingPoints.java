package org.renalmtl.evaluation.study;

import java.util.List;

import org.renalmtl.evaluation.roc.RocCurve;
import org.renalmtl.evaluation.roc.RocSample;
import org.renalmtl.evaluation.stats.ProportionCi;

/**
 * Operating points as papers report them: a threshold chosen once on the internal cohort, then
 * applied unchanged to every cohort, with sensitivity, specificity, PPV, NPV and accuracy and their
 * confidence intervals. A case is called positive when its score is ≥ the threshold.
 */
public final class OperatingPoints {

    /**
     * Metrics at one threshold.
     *
     * @param threshold   the threshold (score ≥ threshold is positive)
     * @param sensitivity TP / (TP + FN)
     * @param specificity TN / (TN + FP)
     * @param ppv         TP / (TP + FP)
     * @param npv         TN / (TN + FN)
     * @param accuracy    (TP + TN) / N
     */
    public record Metrics(double threshold, ProportionCi.Interval sensitivity, ProportionCi.Interval specificity,
                          ProportionCi.Interval ppv, ProportionCi.Interval npv, ProportionCi.Interval accuracy) {

        /** True positives. */
        public int tp() {
            return sensitivity.x();
        }

        /** False negatives. */
        public int fn() {
            return sensitivity.n() - sensitivity.x();
        }

        /** True negatives. */
        public int tn() {
            return specificity.x();
        }

        /** False positives. */
        public int fp() {
            return specificity.n() - specificity.x();
        }
    }

    private OperatingPoints() {
    }

    /**
     * The threshold of a rule on a (internal) cohort's curve.
     * <ul>
     * <li>youden: the Youden-optimal point ({@link RocCurve#youden}).</li>
     * <li>sensitivity: the highest threshold whose sensitivity is at least the target (so the best
     * specificity that keeps it).</li>
     * <li>specificity: the lowest threshold whose specificity is at least the target.</li>
     * <li>fixed: the value itself.</li>
     * </ul>
     * Thresholds on the curve are midpoints between consecutive distinct scores (pROC's), so a
     * threshold never sits on an internal case's score.
     */
    public static double choose(RocCurve curve, StudySpec.OperatingPointRule rule) {
        List<RocCurve.OperatingPoint> pts = curve.points(); // increasing threshold
        return switch (rule.method()) {
            case "youden" -> curve.youden().threshold();
            case "fixed" -> rule.value();
            case "sensitivity" -> {
                RocCurve.OperatingPoint best = pts.getFirst();
                for (RocCurve.OperatingPoint p : pts) {
                    if (p.sensitivity() >= rule.value()) {
                        best = p;
                    }
                }
                yield best.threshold();
            }
            case "specificity" -> {
                for (RocCurve.OperatingPoint p : pts) {
                    if (p.specificity() >= rule.value()) {
                        yield p.threshold();
                    }
                }
                yield pts.getLast().threshold();
            }
            default -> throw new IllegalArgumentException("unknown operating-point rule " + rule.method());
        };
    }

    /** Metrics of {@code scores} against {@code positive} at {@code threshold}, with CIs. */
    public static Metrics at(double[] scores, boolean[] positive, double threshold, double level,
                             ProportionCi.Method method) {
        RocCurve.OperatingPoint p = RocCurve.of(RocSample.of(scores, positive)).at(threshold);
        return new Metrics(threshold,
            ProportionCi.of(p.tp(), p.tp() + p.fn(), level, method),
            ProportionCi.of(p.tn(), p.tn() + p.fp(), level, method),
            ProportionCi.of(p.tp(), p.tp() + p.fp(), level, method),
            ProportionCi.of(p.tn(), p.tn() + p.fn(), level, method),
            ProportionCi.of(p.tp() + p.tn(), scores.length, level, method));
    }
}
