package org.renalmtl.evaluation.study;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.jfree.chart.JFreeChart;
import org.renalmtl.evaluation.calibration.SmoothCalibration;
import org.renalmtl.evaluation.io.OutputFiles;
import org.renalmtl.evaluation.plot.Charts;
import org.renalmtl.evaluation.plot.FigureFormats;
import org.renalmtl.evaluation.plot.StudyCharts;
import org.renalmtl.evaluation.report.EvaluationOutputs;
import org.renalmtl.evaluation.report.HtmlReport;
import org.renalmtl.evaluation.report.Json;
import org.renalmtl.evaluation.roc.RocCurve;
import org.renalmtl.evaluation.stats.ProportionCi;

/**
 * The files of {@code evaluate --study}: study_metrics.json, Table 2 / pairwise / case-flow tables as
 * CSV and Markdown (tables.md), decision-curve CSVs, the figures per task and cohort (ROC, decision
 * curve, calibration; with readers, the reader ROC and the forest plot) in PNG, SVG, PDF and TIFF,
 * and report.html with all of it.
 */
public final class StudyOutputs {

    /** Pixel (and PDF point) size of the square ROC panel. */
    public static final int ROC_SIZE = 600;

    private StudyOutputs() {
    }

    /**
     * Builds every file in memory.
     *
     * @param readers reader comparison, or null
     */
    public static OutputFiles build(StudySpec spec, List<StudyEvaluation.SliceResult> results, ReaderAnalysis readers) {
        OutputFiles out = new OutputFiles();
        HtmlReport html = new HtmlReport(spec.title());
        int pct = (int) Math.round(spec.level() * 100);
        String rule = switch (spec.operatingPoint().method()) {
            case "youden" -> "the Youden-optimal threshold";
            case "fixed" -> "the fixed threshold " + spec.operatingPoint().value();
            default -> "the highest threshold with " + spec.operatingPoint().method() + " ≥ " + spec.operatingPoint().value();
        };
        String method = String.format(Locale.ROOT, "AUC with %d%% DeLong CI; thresholds: %s on the %s cohort, applied "
                + "unchanged to the others (a case is positive when its score is ≥ the threshold); proportions with %d%% %s "
                + "intervals; models compared by paired DeLong tests on the same cases, p two-sided, Holm-adjusted over "
                + "the pairs of a task within a cohort.", pct, rule, spec.cohorts().getFirst().name(), pct,
            spec.proportionCi().label());
        html.paragraph("Study: " + spec.file() + ". " + method);
        StringBuilder md = new StringBuilder("# ").append(spec.title()).append("\n\n").append(method).append("\n\n");
        for (Map.Entry<String, Integer> c : StudyTables.cohortSizes(results).entrySet()) {
            String heading = "Table 2 — " + c.getKey() + " cohort";
            List<List<String>> rows = StudyTables.table2(results, c.getKey());
            html.heading(heading);
            html.table(StudyTables.TABLE2_HEADER, rows);
            md.append("## ").append(heading).append("\n\n").append(StudyTables.markdown(StudyTables.TABLE2_HEADER, rows))
                .append('\n');
        }
        List<List<String>> pairs = StudyTables.pairs(results);
        if (!pairs.isEmpty()) {
            html.heading("Pairwise comparisons (paired DeLong)");
            html.table(StudyTables.PAIRS_HEADER, pairs);
            md.append("## Pairwise comparisons (paired DeLong)\n\n").append(StudyTables.markdown(StudyTables.PAIRS_HEADER, pairs))
                .append('\n');
        }
        html.heading("Cases evaluated and left out");
        html.paragraph("A case is evaluated when it has a label and every model of the task has an ok result with a "
            + "score, so that all models are compared on the same cases.");
        html.table(StudyTables.CASES_HEADER, StudyTables.cases(results));
        md.append("## Cases evaluated and left out\n\n").append(StudyTables.markdown(StudyTables.CASES_HEADER,
            StudyTables.cases(results)));
        if (readers != null) {
            readers.addTo(html, md, spec.level());
        }
        out.put("table2.csv", StudyTables.table2Csv(results));
        out.put("pairwise.csv", StudyTables.pairsCsv(results));
        out.put("cases.csv", StudyTables.casesCsv(results));

        html.heading("Figures");
        // One kind of figure at a time, cohorts side by side, so that internal and external sit next to each other.
        for (StudyEvaluation.SliceResult r : results) {
            String tag = tag(r);
            String where = where(r);
            List<StudyCharts.Curve> curves = new ArrayList<>();
            for (StudyEvaluation.ModelResult m : r.models()) {
                RocCurve.OperatingPoint p = m.curve().at(m.operating().threshold());
                curves.add(new StudyCharts.Curve(m.model() + "  AUC " + StudyTables.auc(m), m.curve(), p));
            }
            List<StudyCharts.ReaderMark> marks = readers != null && readers.covers(r.slice())
                ? readers.marks() : List.of();
            putFigure(out, html, StudyCharts.roc("ROC — " + where, curves, marks), ROC_SIZE, ROC_SIZE, "roc_" + tag,
                "ROC curves (" + where + "); legend: AUC (" + pct + "% DeLong CI); dots: the operating points at the thresholds "
                    + "fixed on the " + spec.cohorts().getFirst().name() + " cohort"
                    + (marks.isEmpty() ? "" : "; black markers: readers at their calls, one shape per test") + ".");
        }
        for (StudyEvaluation.SliceResult r : results) {
            if (!r.dca().isEmpty()) {
                String tag = tag(r);
                out.put("dca_" + tag + ".csv", EvaluationOutputs.dcaCsv(r.dca()));
                putFigure(out, html, Charts.decisionCurve("Decision curves — " + where(r), r.dca(), r.dca().getFirst().posRate()),
                    720, 560, "dca_" + tag, "Decision curves (" + where(r) + "): net benefit against threshold probability, "
                        + "with treat-all and treat-none; values in dca_" + tag + ".csv.");
            }
        }
        for (StudyEvaluation.SliceResult r : results) {
            List<String> names = new ArrayList<>();
            List<SmoothCalibration> cals = new ArrayList<>();
            for (StudyEvaluation.ModelResult m : r.models()) {
                if (m.calibration() != null) {
                    names.add(m.model());
                    cals.add(m.calibration());
                }
            }
            if (!cals.isEmpty()) {
                putFigure(out, html, StudyCharts.calibration("Calibration — " + where(r), names, cals, spec.level()), 720, 720,
                    "calibration_" + tag(r), "Calibration (" + where(r) + "): lowess of the outcome on the predicted risk with its "
                        + pct + "% bootstrap band; below, histogram of the predicted risks; legend: calibration intercept and "
                        + "slope with " + pct + "% Wald CIs.");
            }
        }
        if (readers != null) {
            readers.figures(out, html);
        }
        out.put("tables.md", md.toString().getBytes(StandardCharsets.UTF_8));
        out.put("study_metrics.json", Json.bytes(metrics(spec, results, readers)));
        out.put("report.html", html.toBytes());
        return out;
    }

    /** Adds a figure in every format, and its PNG to the report. */
    static void putFigure(OutputFiles out, HtmlReport html, JFreeChart chart, int w, int h, String name,
                          String caption) {
        Map<String, byte[]> files = FigureFormats.render(chart, w, h, name);
        files.forEach(out::put);
        html.figure(files.get(name + ".png"), name + ".svg", caption + " Also " + name + ".pdf (vector) and " + name
            + ".tif (" + FigureFormats.TIFF_DPI + " dpi).");
    }

    private static String tag(StudyEvaluation.SliceResult r) {
        return slug(r.slice().task().name()) + "_" + slug(r.slice().cohort().name());
    }

    private static String where(StudyEvaluation.SliceResult r) {
        return r.slice().task().name() + ", " + r.slice().cohort().name() + " cohort";
    }

    /** A file-name-safe form of a task or cohort name: lower case letters, digits and '-'. */
    public static String slug(String s) {
        String t = s.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("^-+|-+$", "");
        return t.isEmpty() ? "x" : t;
    }

    private static ObjectNode metrics(StudySpec spec, List<StudyEvaluation.SliceResult> results, ReaderAnalysis readers) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("study", spec.file().toString());
        root.put("level", spec.level());
        root.put("operating_point", spec.operatingPoint().method());
        Json.put(root, "operating_point_value", spec.operatingPoint().value());
        root.put("internal_cohort", spec.cohorts().getFirst().name());
        root.put("proportion_ci", spec.proportionCi().label());
        ArrayNode arr = root.putArray("results");
        for (StudyEvaluation.SliceResult r : results) {
            ObjectNode o = arr.addObject();
            o.put("task", r.slice().task().name());
            o.put("cohort", r.slice().cohort().name());
            o.put("n", r.slice().ids().size());
            o.put("n_positive", r.slice().positives());
            StudyData.Exclusions e = r.slice().exclusions();
            ObjectNode ex = o.putObject("cases");
            ex.put("in_cohort", e.inCohort());
            ex.put("no_label", e.missingLabel());
            ex.set("no_result", Json.MAPPER.valueToTree(e.noResult()));
            ex.set("failed", Json.MAPPER.valueToTree(e.failed()));
            ex.set("no_score", Json.MAPPER.valueToTree(e.missingScore()));
            ex.put("evaluated", e.evaluated());
            ObjectNode models = o.putObject("models");
            for (StudyEvaluation.ModelResult m : r.models()) {
                ObjectNode mo = models.putObject(m.model());
                Json.put(mo, "auc", m.auc().auc());
                Json.put(mo, "auc_se_delong", m.auc().se());
                mo.set("auc_ci_delong", Json.interval(m.auc().low(), m.auc().high()));
                ObjectNode op = mo.putObject("operating_point");
                Json.put(op, "threshold", m.operating().threshold());
                op.put("tp", m.operating().tp());
                op.put("fp", m.operating().fp());
                op.put("tn", m.operating().tn());
                op.put("fn", m.operating().fn());
                putProportion(op, "sensitivity", m.operating().sensitivity());
                putProportion(op, "specificity", m.operating().specificity());
                putProportion(op, "ppv", m.operating().ppv());
                putProportion(op, "npv", m.operating().npv());
                putProportion(op, "accuracy", m.operating().accuracy());
                if (m.calibration() != null) {
                    ObjectNode c = mo.putObject("calibration");
                    Json.put(c, "brier", m.calibration().summary().brier());
                    Json.put(c, "intercept", m.calibration().summary().intercept());
                    c.set("intercept_ci", Json.interval(m.calibration().interceptLow(), m.calibration().interceptHigh()));
                    Json.put(c, "slope", m.calibration().summary().slope());
                    c.set("slope_ci", Json.interval(m.calibration().slopeLow(), m.calibration().slopeHigh()));
                }
            }
            ArrayNode pairs = o.putArray("pairs");
            for (StudyEvaluation.Pair p : r.pairs()) {
                ObjectNode po = pairs.addObject();
                po.put("model1", p.model1());
                po.put("model2", p.model2());
                Json.put(po, "auc1", p.test().auc1());
                Json.put(po, "auc2", p.test().auc2());
                Json.put(po, "difference", p.test().difference());
                Json.put(po, "se", p.test().se());
                po.set("ci", Json.interval(p.test().low(), p.test().high()));
                Json.put(po, "z", p.test().z());
                Json.put(po, "p", p.test().p());
                Json.put(po, "p_holm", p.pHolm());
            }
        }
        if (readers != null) {
            root.set("readers", readers.json());
        }
        return root;
    }

    private static void putProportion(ObjectNode o, String key, ProportionCi.Interval i) {
        ObjectNode p = o.putObject(key);
        Json.put(p, "estimate", i.estimate());
        p.set("ci", Json.interval(i.low(), i.high()));
        p.put("x", i.x());
        p.put("n", i.n());
    }
}
