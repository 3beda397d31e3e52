package org.renalmtl.evaluation.study;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.renalmtl.evaluation.EvaluationInputException;
import org.renalmtl.evaluation.calibration.LogisticRegression;
import org.renalmtl.evaluation.calibration.SmoothCalibration;
import org.renalmtl.evaluation.dca.DecisionCurve;
import org.renalmtl.evaluation.roc.DeLong;
import org.renalmtl.evaluation.roc.RocCurve;
import org.renalmtl.evaluation.roc.RocSample;
import org.renalmtl.evaluation.stats.Holm;

/**
 * Evaluates every task × model × cohort of a study: AUC with its DeLong CI, the operating point fixed
 * on the internal (first) cohort and applied unchanged to the others, paired DeLong tests between the
 * models of a task on each cohort (with Holm-adjusted p-values over the task's pairs), decision curves
 * and smoothed calibration for scores that are risks.
 */
public final class StudyEvaluation {

    /**
     * Settings that are not part of the study file.
     *
     * @param thresholds  decision-curve threshold grid
     * @param bins        calibration bins
     * @param replicates  bootstrap replicates of the calibration band
     * @param seed        bootstrap seed
     */
    public record Settings(double[] thresholds, int bins, int replicates, long seed) {
    }

    /**
     * One model on one task × cohort.
     *
     * @param model       model name
     * @param auc         AUC with DeLong SE and CI
     * @param curve       empirical ROC curve
     * @param operating   metrics at the threshold fixed on the internal cohort
     * @param risks       (N) risks for DCA and calibration, or null when the score is not a risk
     * @param calibration smoothed calibration, or null
     */
    public record ModelResult(String model, DeLong.AucEstimate auc, RocCurve curve, OperatingPoints.Metrics operating,
                              double[] risks, SmoothCalibration calibration) {
    }

    /**
     * A paired DeLong comparison.
     *
     * @param model1 first model
     * @param model2 second model
     * @param test   the test (difference = model1 − model2)
     * @param pHolm  p adjusted by Holm's method over the task's pairs on this cohort
     */
    public record Pair(String model1, String model2, DeLong.PairedTest test, double pHolm) {
    }

    /**
     * Everything for one task × cohort.
     *
     * @param slice  the data
     * @param models per-model results, in the task's order
     * @param pairs  pairwise comparisons
     * @param dca    decision curves (treat-all, treat-none, then each risk), empty when no model is a risk
     */
    public record SliceResult(StudyData.Slice slice, List<ModelResult> models, List<Pair> pairs,
                              List<DecisionCurve.Row> dca) {
    }

    private StudyEvaluation() {
    }

    /** Evaluates all slices; {@code slices} are task-major with the internal cohort first, as {@link StudyData#load} returns them. */
    public static List<SliceResult> run(StudySpec spec, List<StudyData.Slice> slices, Settings settings) {
        List<SliceResult> out = new ArrayList<>();
        Map<String, Double> threshold = new LinkedHashMap<>();              // task/model -> threshold
        Map<String, LogisticRegression.Fit> riskModel = new LinkedHashMap<>(); // task/model -> internal fit
        for (StudyData.Slice s : slices) {
            boolean internal = s.cohort().equals(spec.cohorts().getFirst());
            List<ModelResult> models = new ArrayList<>();
            List<DecisionCurve.Model> dcaModels = new ArrayList<>();
            for (Map.Entry<String, double[]> e : s.scores().entrySet()) {
                String key = s.task().name() + "/" + e.getKey();
                double[] x = e.getValue();
                RocSample sample = RocSample.of(x, s.positive());
                RocCurve curve = RocCurve.of(sample);
                if (internal) {
                    threshold.put(key, OperatingPoints.choose(curve, spec.operatingPoint()));
                }
                OperatingPoints.Metrics op = OperatingPoints.at(x, s.positive(), threshold.get(key), spec.level(),
                    spec.proportionCi());
                double[] risks = null;
                if (s.task().asProbability().contains(e.getKey())) {
                    if (internal) {
                        riskModel.put(key, fitRisk(s, e.getKey(), x));
                    }
                    LogisticRegression.Fit fit = riskModel.get(key);
                    risks = Arrays.stream(x).map(v -> fit.predict(v, 0)).toArray();
                } else if (Arrays.stream(x).allMatch(v -> v >= 0 && v <= 1)) {
                    risks = x;
                }
                SmoothCalibration cal = null;
                if (risks != null) {
                    cal = SmoothCalibration.of(risks, s.positive(), settings.bins(), spec.level(), settings.replicates(),
                        settings.seed());
                    dcaModels.add(new DecisionCurve.Model(e.getKey(), risks, 0));
                }
                models.add(new ModelResult(e.getKey(), DeLong.estimate(sample, spec.level()), curve, op, risks, cal));
            }
            List<String> names = List.copyOf(s.scores().keySet());
            List<DeLong.PairedTest> tests = new ArrayList<>();
            List<String[]> labels = new ArrayList<>();
            for (int a = 0; a < names.size(); a++) {
                for (int b = a + 1; b < names.size(); b++) {
                    tests.add(DeLong.pairedTest(RocSample.of(s.scores().get(names.get(a)), s.positive()),
                        RocSample.of(s.scores().get(names.get(b)), s.positive()), spec.level()));
                    labels.add(new String[]{names.get(a), names.get(b)});
                }
            }
            double[] adjusted = Holm.adjust(tests.stream().mapToDouble(DeLong.PairedTest::p).toArray());
            List<Pair> pairs = new ArrayList<>();
            for (int k = 0; k < tests.size(); k++) {
                pairs.add(new Pair(labels.get(k)[0], labels.get(k)[1], tests.get(k), adjusted[k]));
            }
            List<DecisionCurve.Row> dca = dcaModels.isEmpty() ? List.of()
                : DecisionCurve.compute(s.positive(), dcaModels, settings.thresholds());
            out.add(new SliceResult(s, List.copyOf(models), List.copyOf(pairs), dca));
        }
        return out;
    }

    private static LogisticRegression.Fit fitRisk(StudyData.Slice s, String model, double[] x) {
        try {
            return LogisticRegression.fit(s.positive(), x, null);
        } catch (IllegalStateException e) {
            throw new EvaluationInputException("task '" + s.task().name() + "', model '" + model + "': as_probability: "
                + "the logistic model on cohort '" + s.cohort().name() + "' does not converge (the score separates the classes)");
        }
    }
}
