package org.renalmtl.evaluation.dca;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Decision curve analysis for a binary outcome (Vickers &amp; Elkin 2006) with the semantics of the R
 * package dcurves ({@code dca()} and {@code net_intervention_avoided()}):
 * <ul>
 *   <li>risks of exactly 0 become 0 − ε and risks of exactly 1 become 1 + ε (ε = 2⁻⁵², R's
 *       {@code .Machine$double.eps}), so "treat none" is never positive, not even at threshold 0;</li>
 *   <li>a patient is test-positive iff risk ≥ threshold;</li>
 *   <li>tp_rate = P(risk ≥ pt | case)·prevalence, fp_rate = P(risk ≥ pt | control)·(1 − prevalence);</li>
 *   <li>net benefit = tp_rate − pt/(1 − pt)·fp_rate − harm;</li>
 *   <li>net interventions avoided (per patient) = (NB − NB_treat_all)/(pt/(1 − pt)): NaN/±∞ where
 *       pt = 0, as in R.</li>
 * </ul>
 * "Treat all" is the risk 1 for everyone and "treat none" the risk 0, both with no harm.
 */
public final class DecisionCurve {

    /** Name of the treat-all strategy in results. */
    public static final String ALL = "all";
    /** Name of the treat-none strategy in results. */
    public static final String NONE = "none";

    private static final double EPS = Math.ulp(1.0);

    /**
     * One row of a decision curve.
     *
     * @param variable              strategy: a model name, {@link #ALL} or {@link #NONE}
     * @param n                     number of patients
     * @param threshold             threshold probability pt
     * @param posRate               outcome prevalence
     * @param testPosRate           fraction test-positive
     * @param tpRate                true positives / n
     * @param fpRate                false positives / n
     * @param harm                  harm of the test, subtracted from the net benefit
     * @param netBenefit            net benefit
     * @param netInterventionAvoided net interventions avoided per patient
     */
    public record Row(String variable, int n, double threshold, double posRate, double testPosRate,
                      double tpRate, double fpRate, double harm, double netBenefit,
                      double netInterventionAvoided) {
    }

    /**
     * A model's risks with its optional harm.
     *
     * @param name  model name (a column name)
     * @param risks (N) predicted risks in [0, 1]
     * @param harm  harm of testing, 0 for none
     */
    public record Model(String name, double[] risks, double harm) {
    }

    private DecisionCurve() {
    }

    /**
     * dcurves' default threshold grid {@code seq(0, 0.99, by = 0.01)}; R's {@code seq} computes
     * {@code from + i * by}, which this reproduces bit for bit.
     */
    public static double[] defaultThresholds() {
        double[] t = new double[100];
        for (int i = 0; i < t.length; i++) {
            t[i] = i * 0.01;
        }
        return t;
    }

    /**
     * Computes the decision curves of treat-all, treat-none and each model, in that order (dcurves'
     * row order), each over the whole threshold grid.
     *
     * @param outcome    (N) true for a patient with the outcome
     * @param models     the models to evaluate
     * @param thresholds threshold probabilities in [0, 1)
     */
    public static List<Row> compute(boolean[] outcome, List<Model> models, double[] thresholds) {
        int n = outcome.length;
        int cases = 0;
        for (boolean b : outcome) {
            cases += b ? 1 : 0;
        }
        double prevalence = cases / (double) n;
        double[] all = new double[n];
        Arrays.fill(all, 1.0);
        double[] none = new double[n];
        List<Model> strategies = new ArrayList<>();
        strategies.add(new Model(ALL, all, 0));
        strategies.add(new Model(NONE, none, 0));
        strategies.addAll(models);
        List<Row> rows = new ArrayList<>();
        double[] nbAll = null;
        for (Model model : strategies) {
            if (model.risks().length != n) {
                throw new IllegalArgumentException(model.name() + ": " + model.risks().length + " risks for "
                    + n + " patients");
            }
            double[] risk = nudge(model.risks());
            double[] nb = new double[thresholds.length];
            List<Row> modelRows = new ArrayList<>(thresholds.length);
            for (int k = 0; k < thresholds.length; k++) {
                double pt = thresholds[k];
                int pos = 0;
                int posCases = 0;
                for (int i = 0; i < n; i++) {
                    if (risk[i] >= pt) {
                        pos++;
                        if (outcome[i]) {
                            posCases++;
                        }
                    }
                }
                int posControls = pos - posCases;
                // dcurves: mean(risk[case] >= pt) * pos_rate; same arithmetic order for bitwise agreement.
                double tpRate = cases == 0 ? 0 : (posCases / (double) cases) * prevalence;
                double fpRate = cases == n ? 0 : (posControls / (double) (n - cases)) * (1 - prevalence);
                double odds = pt / (1 - pt);
                nb[k] = tpRate - odds * fpRate - model.harm();
                modelRows.add(new Row(model.name(), n, pt, prevalence, pos / (double) n, tpRate, fpRate,
                    model.harm(), nb[k], Double.NaN));
            }
            if (nbAll == null) {
                nbAll = nb;
            }
            for (int k = 0; k < thresholds.length; k++) {
                Row r = modelRows.get(k);
                double pt = thresholds[k];
                double nia = (nb[k] - nbAll[k]) / (pt / (1 - pt));
                rows.add(new Row(r.variable(), r.n(), r.threshold(), r.posRate(), r.testPosRate(), r.tpRate(),
                    r.fpRate(), r.harm(), r.netBenefit(), nia));
            }
        }
        return rows;
    }

    private static double[] nudge(double[] risks) {
        double[] out = new double[risks.length];
        for (int i = 0; i < risks.length; i++) {
            double r = risks[i];
            out[i] = r == 0 ? 0 - EPS : r == 1 ? 1 + EPS : r;
        }
        return out;
    }
}
