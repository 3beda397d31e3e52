package org.renalmtl.evaluation.report;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import de.siegmar.fastcsv.writer.CsvWriter;
import de.siegmar.fastcsv.writer.LineDelimiter;

import org.renalmtl.evaluation.calibration.Calibration;
import org.renalmtl.evaluation.dca.DecisionCurve;
import org.renalmtl.evaluation.io.OutputFiles;
import org.renalmtl.evaluation.plot.ChartImages;
import org.renalmtl.evaluation.plot.Charts;
import org.renalmtl.evaluation.roc.DeLong;
import org.renalmtl.evaluation.roc.RocCurve;

/**
 * Turns the results of {@code evaluate} into its files: metrics.json, dca.csv, the ROC / decision /
 * calibration plots (PNG and SVG) and report.html.
 */
public final class EvaluationOutputs {

    /**
     * A paired comparison of two scores.
     *
     * @param score1 first score
     * @param score2 second score
     * @param test   paired DeLong test (difference = score1 − score2)
     */
    public record Pair(String score1, String score2, DeLong.PairedTest test) {
    }

    /**
     * Description of the input for the report.
     *
     * @param source      input file(s)
     * @param label       label column
     * @param positive    positive label value
     * @param negative    the other label value
     * @param n           number of cases
     * @param nPositive   number of positive cases
     */
    public record InputSummary(String source, String label, String positive, String negative, int n, int nPositive) {
    }

    /**
     * Most ROC points listed per score in metrics.json; a longer curve is thinned as the plot is
     * ({@link RocCurve#thinned}), to within 0.001 in sensitivity and specificity.
     */
    public static final int ROC_POINTS = 2_000;

    private EvaluationOutputs() {
    }

    /**
     * Builds all files.
     *
     * @param notes lines of caveats to record (e.g. scores left out of the DCA)
     */
    public static OutputFiles build(InputSummary input, List<ScoreResult> scores, List<Pair> pairs,
                                    List<DecisionCurve.Row> dca, List<String> notes) {
        OutputFiles out = new OutputFiles();
        out.put("metrics.json", Json.bytes(metrics(input, scores, pairs, dca, notes)));
        if (!dca.isEmpty()) {
            out.put("dca.csv", dcaCsv(dca));
        }

        HtmlReport html = new HtmlReport("Evaluation of " + String.join(", ", scores.stream().map(ScoreResult::name).toList()));
        html.paragraph(String.format("Input: %s. Label column '%s', positive = '%s' (%d cases), negative = '%s' (%d cases).",
            input.source(), input.label(), input.positive(), input.nPositive(), input.negative(),
            input.n() - input.nPositive(), input.n()));
        html.heading("Discrimination");
        List<List<String>> rows = new ArrayList<>();
        for (ScoreResult s : scores) {
            rows.add(List.of(s.name(), Json.fixed(s.delong().auc(), 4), Json.fixed(s.delong().se(), 4),
                Json.fixed(s.delong().low(), 4) + " – " + Json.fixed(s.delong().high(), 4),
                Json.fixed(s.bootstrap().low(), 4) + " – " + Json.fixed(s.bootstrap().high(), 4),
                Json.fixed(s.youden().threshold(), 4), Json.fixed(s.youden().sensitivity(), 3),
                Json.fixed(s.youden().specificity(), 3), Json.fixed(s.youden().ppv(), 3), Json.fixed(s.youden().npv(), 3)));
        }
        html.table(List.of("Score", "AUC", "SE (DeLong)", "95% CI DeLong", "95% CI bootstrap", "Youden threshold",
            "Sensitivity", "Specificity", "PPV", "NPV"), rows);
        if (!scores.isEmpty()) {
            ScoreResult first = scores.getFirst();
            html.paragraph(String.format("Bootstrap: %d stratified replicates, seed %d, percentile limits. "
                    + "A case is called positive when its score is ≥ the threshold.",
                first.bootstrap().replicates(), first.bootstrap().seed()));
        }
        List<List<String>> thresholdRows = new ArrayList<>();
        for (ScoreResult s : scores) {
            for (RocCurve.OperatingPoint p : s.atThresholds()) {
                thresholdRows.add(List.of(s.name(), Json.fixed(p.threshold(), 4), Json.fixed(p.sensitivity(), 3),
                    Json.fixed(p.specificity(), 3), Json.fixed(p.ppv(), 3), Json.fixed(p.npv(), 3),
                    p.tp() + " / " + p.fp() + " / " + p.tn() + " / " + p.fn()));
            }
        }
        if (!thresholdRows.isEmpty()) {
            html.heading("At the requested thresholds");
            html.table(List.of("Score", "Threshold", "Sensitivity", "Specificity", "PPV", "NPV", "TP / FP / TN / FN"),
                thresholdRows);
        }
        if (!pairs.isEmpty()) {
            html.heading("Paired DeLong tests");
            List<List<String>> prow = new ArrayList<>();
            for (Pair p : pairs) {
                prow.add(List.of(p.score1() + " − " + p.score2(), Json.fixed(p.test().difference(), 4),
                    Json.fixed(p.test().se(), 4), Json.fixed(p.test().low(), 4) + " – " + Json.fixed(p.test().high(), 4),
                    Json.fixed(p.test().z(), 3), Json.pValue(p.test().p())));
            }
            html.table(List.of("Comparison", "ΔAUC", "SE", "95% CI", "Z", "p (two-sided)"), prow);
        }

        List<Charts.RocSeries> series = new ArrayList<>();
        for (ScoreResult s : scores) {
            series.add(new Charts.RocSeries(String.format("%s (AUC %.3f)", s.name(), s.delong().auc()), s.curve(),
                s.band(), s.youden()));
        }
        ChartImages roc = ChartImages.render(Charts.roc("ROC curves", series), ChartImages.WIDTH, ChartImages.HEIGHT, "roc_");
        out.put("roc.png", roc.png());
        out.put("roc.svg", roc.svg());
        html.heading("Figures");
        html.figure(roc.png(), "roc.svg", "ROC curves; shaded: pointwise 95% bootstrap band of the sensitivity; "
            + "dots: Youden-optimal operating points (t = threshold).");
        if (!dca.isEmpty()) {
            double prevalence = dca.getFirst().posRate();
            ChartImages d = ChartImages.render(Charts.decisionCurve("Decision curves", dca, prevalence),
                ChartImages.WIDTH, ChartImages.HEIGHT, "dca_");
            out.put("dca.png", d.png());
            out.put("dca.svg", d.svg());
            html.figure(d.png(), "dca.svg", "Decision curves: net benefit of each model against treat-all and "
                + "treat-none (dcurves semantics; positive iff risk ≥ threshold). Values in dca.csv.");
        }
        Map<String, Calibration.Result> cal = new LinkedHashMap<>();
        for (ScoreResult s : scores) {
            if (s.calibration() != null) {
                cal.put(s.name(), s.calibration());
            }
        }
        if (!cal.isEmpty()) {
            ChartImages c = ChartImages.render(Charts.calibration("Calibration", cal), ChartImages.WIDTH,
                ChartImages.HEIGHT, "cal_");
            out.put("calibration.png", c.png());
            out.put("calibration.svg", c.svg());
            html.figure(c.png(), "calibration.svg", "Binned calibration (equal-count bins, ±1 binomial SE); "
                + "dashed: ideal.");
            html.heading("Calibration");
            List<List<String>> crow = new ArrayList<>();
            for (Map.Entry<String, Calibration.Result> e : cal.entrySet()) {
                crow.add(List.of(e.getKey(), Json.fixed(e.getValue().brier(), 4), Json.fixed(e.getValue().intercept(), 3),
                    Json.fixed(e.getValue().slope(), 3)));
            }
            html.table(List.of("Score", "Brier", "Calibration intercept", "Calibration slope"), crow);
        }
        if (!notes.isEmpty()) {
            html.heading("Notes");
            for (String n : notes) {
                html.paragraph(n);
            }
        }
        out.put("report.html", html.toBytes());
        return out;
    }

    private static ObjectNode metrics(InputSummary input, List<ScoreResult> scores, List<Pair> pairs,
                                      List<DecisionCurve.Row> dca, List<String> notes) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        ObjectNode in = root.putObject("input");
        in.put("source", input.source());
        in.put("label", input.label());
        in.put("positive", input.positive());
        in.put("n", input.n());
        in.put("n_positive", input.nPositive());
        in.put("n_negative", input.n() - input.nPositive());
        ObjectNode sc = root.putObject("scores");
        for (ScoreResult s : scores) {
            ObjectNode o = sc.putObject(s.name());
            Json.put(o, "auc", s.delong().auc());
            Json.put(o, "auc_se_delong", s.delong().se());
            o.set("auc_ci_delong", Json.interval(s.delong().low(), s.delong().high()));
            o.set("auc_ci_bootstrap", Json.interval(s.bootstrap().low(), s.bootstrap().high()));
            ObjectNode b = o.putObject("bootstrap");
            b.put("replicates", s.bootstrap().replicates());
            b.put("seed", s.bootstrap().seed());
            b.put("stratified", true);
            Json.put(b, "median", s.bootstrap().median());
            o.put("ci_level", s.delong().level());
            o.set("youden", point(s.youden()));
            ArrayNode at = o.putArray("at_thresholds");
            for (RocCurve.OperatingPoint p : s.atThresholds()) {
                at.add(point(p));
            }
            if (s.calibration() != null) {
                ObjectNode c = o.putObject("calibration");
                Json.put(c, "brier", s.calibration().brier());
                Json.put(c, "intercept", s.calibration().intercept());
                Json.put(c, "slope", s.calibration().slope());
                Json.put(c, "intercept_with_slope", s.calibration().interceptWithSlope());
                ArrayNode bins = c.putArray("bins");
                for (Calibration.Bin bin : s.calibration().bins()) {
                    ObjectNode bn = bins.addObject();
                    Json.put(bn, "mean_predicted", bin.meanPredicted());
                    Json.put(bn, "observed", bin.observed());
                    bn.put("n", bin.count());
                }
            }
            // A curve has up to N + 1 points; listing them all for a million cases made a 113 MB file.
            List<RocCurve.OperatingPoint> listed = s.curve().thinned(ROC_POINTS);
            o.put("roc_points_total", s.curve().points().size());
            o.put("roc_points_listed", listed.size());
            ArrayNode roc = o.putArray("roc");
            for (RocCurve.OperatingPoint p : listed) {
                ObjectNode r = roc.addObject();
                Json.put(r, "threshold", p.threshold());
                Json.put(r, "sensitivity", p.sensitivity());
                Json.put(r, "specificity", p.specificity());
            }
        }
        ArrayNode pr = root.putArray("pairs");
        for (Pair p : pairs) {
            ObjectNode o = pr.addObject();
            o.put("score1", p.score1());
            o.put("score2", p.score2());
            ObjectNode d = o.putObject("delong_paired");
            Json.put(d, "auc1", p.test().auc1());
            Json.put(d, "auc2", p.test().auc2());
            Json.put(d, "difference", p.test().difference());
            Json.put(d, "se", p.test().se());
            Json.put(d, "z", p.test().z());
            Json.put(d, "p", p.test().p());
            d.set("ci", Json.interval(p.test().low(), p.test().high()));
        }
        root.put("dca_file", dca.isEmpty() ? null : "dca.csv");
        ArrayNode n = root.putArray("notes");
        notes.forEach(n::add);
        root.put("conventions", "higher score = more likely positive; positive iff score >= threshold; "
            + "AUC ties count half; DeLong CIs clipped to [0,1]; null = infinite or undefined");
        return root;
    }

    private static ObjectNode point(RocCurve.OperatingPoint p) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        Json.put(o, "threshold", p.threshold());
        Json.put(o, "sensitivity", p.sensitivity());
        Json.put(o, "specificity", p.specificity());
        Json.put(o, "ppv", p.ppv());
        Json.put(o, "npv", p.npv());
        o.put("tp", p.tp());
        o.put("fp", p.fp());
        o.put("tn", p.tn());
        o.put("fn", p.fn());
        return o;
    }

    /** dca.csv in dcurves' column layout (as_tibble of a dca object plus test_pos_rate), LF line ends as R writes. */
    public static byte[] dcaCsv(List<DecisionCurve.Row> rows) {
        StringWriter text = new StringWriter();
        try (CsvWriter csv = CsvWriter.builder().lineDelimiter(LineDelimiter.LF).build(text)) {
            csv.writeRecord("variable", "n", "threshold", "pos_rate", "test_pos_rate", "tp_rate", "fp_rate", "harm",
                "net_benefit", "net_intervention_avoided");
            for (DecisionCurve.Row r : rows) {
                csv.writeRecord(r.variable(), Integer.toString(r.n()), Json.csvNumber(r.threshold()),
                    Json.csvNumber(r.posRate()), Json.csvNumber(r.testPosRate()), Json.csvNumber(r.tpRate()),
                    Json.csvNumber(r.fpRate()), Json.csvNumber(r.harm()), Json.csvNumber(r.netBenefit()),
                    Json.csvNumber(r.netInterventionAvoided()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing to memory failed", e); // a StringWriter does not fail
        }
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }
}
