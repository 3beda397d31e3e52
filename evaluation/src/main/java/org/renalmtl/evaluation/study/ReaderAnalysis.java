package org.renalmtl.evaluation.study;

import java.awt.BasicStroke;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.jfree.chart.JFreeChart;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.renalmtl.evaluation.EvaluationInputException;
import org.renalmtl.evaluation.io.CsvTable;
import org.renalmtl.evaluation.io.OutputFiles;
import org.renalmtl.evaluation.io.ReaderStudyCsv;
import org.renalmtl.evaluation.mrmc.ModelVersusReaders;
import org.renalmtl.evaluation.mrmc.ObuchowskiRockette;
import org.renalmtl.evaluation.mrmc.ReaderStudy;
import org.renalmtl.evaluation.plot.Charts;
import org.renalmtl.evaluation.plot.StudyCharts;
import org.renalmtl.evaluation.report.HtmlReport;
import org.renalmtl.evaluation.report.Json;
import org.renalmtl.evaluation.roc.DeLong;
import org.renalmtl.evaluation.roc.RocCurve;
import org.renalmtl.evaluation.roc.RocSample;
import org.renalmtl.evaluation.stats.Holm;
import org.renalmtl.evaluation.stats.ProportionCi;

/**
 * The comparison with readers, as the paper made it: the readers' Obuchowski–Rockette MRMC analysis
 * (jackknife covariance, random readers and cases; MRMCaov's defaults), the model's AUC on the same
 * cases, the model against each reader by paired DeLong with Holm's correction over all model–reader
 * comparisons, and the per-reader table (AUC, and sensitivity/specificity at the reader's call).
 *
 * @param spec        the readers section
 * @param slice       the task × cohort whose cases the readers rated
 * @param study       the reader study
 * @param modelScores (C) the model's score of each reader case
 * @param mrmc        OR analysis of the readers
 * @param model       the model's AUC on the reader cases
 * @param comparisons model − reader, per test and reader
 * @param pHolm       Holm-adjusted p of each comparison
 * @param calls       (T·R) each reader's operating point
 * @param proportionCi interval for sensitivity and specificity
 */
public record ReaderAnalysis(StudySpec.Readers spec, StudyData.Slice slice, ReaderStudy study, double[] modelScores,
                             ObuchowskiRockette.Result mrmc, DeLong.AucEstimate model,
                             List<ModelVersusReaders.Comparison> comparisons, double[] pHolm,
                             List<RocCurve.OperatingPoint> calls, ProportionCi.Method proportionCi) {

    /** Runs the analysis; every reader case must be an evaluated case of the slice, with the same truth. */
    public static ReaderAnalysis of(StudySpec spec, List<StudyData.Slice> slices) {
        StudySpec.Readers r = spec.readers();
        StudyData.Slice slice = slices.stream()
            .filter(s -> s.task().name().equals(r.task()) && s.cohort().name().equals(r.cohort())).findFirst().orElseThrow();
        CsvTable table = CsvTable.read(r.file());
        ReaderStudy study = ReaderStudyCsv.read(table, new ReaderStudyCsv.Columns(r.reader(), r.test(), r.caseId(),
            r.truth(), r.rating(), r.positive()), null).study();
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < slice.ids().size(); i++) {
            index.put(slice.ids().get(i), i);
        }
        double[] scores = new double[study.caseCount()];
        double[] modelAll = slice.scores().get(r.model());
        for (int c = 0; c < study.caseCount(); c++) {
            Integer i = index.get(study.cases().get(c));
            if (i == null) {
                throw new EvaluationInputException(r.file() + ": case '" + study.cases().get(c) + "' is not an evaluated case of task '"
                    + r.task() + "', cohort '" + r.cohort() + "'");
            }
            if (slice.positive()[i] != study.truth()[c]) {
                throw new EvaluationInputException(r.file() + ": case '" + study.cases().get(c) + "': truth disagrees with the label "
                    + "of task '" + r.task() + "'");
            }
            scores[c] = modelAll[i];
        }
        double[][] perTest = new double[study.testCount()][];
        Arrays.fill(perTest, scores);
        List<ModelVersusReaders.Comparison> comparisons = ModelVersusReaders.compare(study, perTest, spec.level());
        double[] holm = Holm.adjust(comparisons.stream().mapToDouble(c -> c.comparison().p()).toArray());
        List<RocCurve.OperatingPoint> calls = new ArrayList<>();
        for (int t = 0; t < study.testCount(); t++) {
            for (int k = 0; k < study.readerCount(); k++) {
                RocCurve curve = RocCurve.of(RocSample.of(study.ratings()[t][k], study.truth()));
                calls.add(Double.isNaN(r.callAt()) ? curve.youden() : curve.at(r.callAt()));
            }
        }
        return new ReaderAnalysis(r, slice, study, scores,
            ObuchowskiRockette.analyze(study, ObuchowskiRockette.CovarianceMethod.JACKKNIFE, spec.level()),
            DeLong.estimate(RocSample.of(scores, study.truth()), spec.level()), comparisons, holm, calls, spec.proportionCi());
    }

    /** Whether the ROC panel of this slice gets the reader markers. */
    boolean covers(StudyData.Slice s) {
        return s.task().name().equals(spec.task()) && s.cohort().name().equals(spec.cohort());
    }

    /** The readers' operating points, one marker group per test. */
    List<StudyCharts.ReaderMark> marks() {
        List<StudyCharts.ReaderMark> out = new ArrayList<>();
        for (int t = 0; t < study.testCount(); t++) {
            String group = study.testCount() == 1 ? "Readers" : "Readers, " + spec.test() + " " + study.tests().get(t);
            for (int k = 0; k < study.readerCount(); k++) {
                RocCurve.OperatingPoint p = calls.get(t * study.readerCount() + k);
                out.add(new StudyCharts.ReaderMark(study.readers().get(k), group, p.sensitivity(), p.specificity()));
            }
        }
        return out;
    }

    /** Per-reader table rows. */
    List<List<String>> rows(double level) {
        List<List<String>> rows = new ArrayList<>();
        for (int i = 0; i < comparisons.size(); i++) {
            ModelVersusReaders.Comparison c = comparisons.get(i);
            RocCurve.OperatingPoint p = calls.get(i);
            DeLong.AucEstimate a = DeLong.estimate(RocSample.of(study.ratings()[i / study.readerCount()][i % study.readerCount()],
                study.truth()), level);
            rows.add(List.of(c.test(), c.reader(), auc(a), StudyTables.proportion(ProportionCi.of(p.tp(), p.tp() + p.fn(), level,
                    proportionCi)), StudyTables.proportion(ProportionCi.of(p.tn(), p.tn() + p.fp(), level, proportionCi)),
                Json.fixed(c.comparison().difference(), 3) + " (" + Json.fixed(c.comparison().low(), 3) + " to "
                    + Json.fixed(c.comparison().high(), 3) + ")", Json.pValue(c.comparison().p()), Json.pValue(pHolm[i])));
        }
        return rows;
    }

    void addTo(HtmlReport html, StringBuilder md, double level) {
        int pct = (int) Math.round(level * 100);
        List<String> header = List.of("Test", "Reader", "AUC (" + pct + "% CI)", "Sensitivity", "Specificity",
            "ΔAUC model − reader (" + pct + "% CI)", "p", "p (Holm)");
        String intro = String.format(Locale.ROOT, "Readers (%s): %d readers × %d test(s) × %d cases of task '%s', "
                + "%s cohort. Model %s on these cases: AUC %s. Reader calls: %s. Model vs each reader: paired DeLong, "
                + "Holm-adjusted over the %d comparisons.", spec.file().getFileName(), study.readerCount(), study.testCount(),
            study.caseCount(), spec.task(), spec.cohort(), spec.model(), auc(model),
            Double.isNaN(spec.callAt()) ? "each reader's Youden-optimal rating" : "rating ≥ " + spec.callAt(), comparisons.size());
        html.heading("Readers");
        html.paragraph(intro);
        html.table(header, rows(level));
        List<List<String>> means = new ArrayList<>();
        for (ObuchowskiRockette.TestMean m : mrmc.testMeans()) {
            means.add(List.of(m.test(), Json.fixed(m.estimate(), 3) + " (" + Json.fixed(m.low(), 3) + "–" + Json.fixed(m.high(), 3)
                + ")", Json.fixed(m.df(), 2)));
        }
        List<String> meanHeader = List.of("Test", "Readers' mean AUC (" + pct + "% CI)", "df (Hillis)");
        html.paragraph("Obuchowski–Rockette, jackknife covariance, random readers and cases"
            + (mrmc.global() == null ? "." : String.format(Locale.ROOT, "; tests compared: F = %.4f, df = (%.0f, %.2f), p = %s.",
                mrmc.global().f(), mrmc.global().df1(), mrmc.global().df2(), Json.pValue(mrmc.global().p()))));
        html.table(meanHeader, means);
        md.append("\n## Readers\n\n").append(intro).append("\n\n").append(StudyTables.markdown(header, rows(level)))
            .append('\n').append(StudyTables.markdown(meanHeader, means));
    }

    void figures(OutputFiles out, HtmlReport html) {
        // Each row's label carries its numbers, as a forest plot in a paper does.
        List<StudyCharts.ForestRow> rows = new ArrayList<>();
        rows.add(new StudyCharts.ForestRow(spec.model() + " (model)  " + auc(model), model.auc(), model.low(), model.high()));
        for (ObuchowskiRockette.TestMean m : mrmc.testMeans()) {
            String name = "Readers' mean" + (study.testCount() > 1 ? " (" + spec.test() + " " + m.test() + ")" : "");
            rows.add(new StudyCharts.ForestRow(name + "  " + Json.fixed(m.estimate(), 3) + " (" + Json.fixed(m.low(), 3) + "–"
                + Json.fixed(m.high(), 3) + ")", m.estimate(), m.low(), m.high()));
        }
        for (int t = 0; t < study.testCount(); t++) {
            for (int k = 0; k < study.readerCount(); k++) {
                DeLong.AucEstimate a = DeLong.estimate(RocSample.of(study.ratings()[t][k], study.truth()), model.level());
                rows.add(new StudyCharts.ForestRow("Reader " + study.readers().get(k)
                    + (study.testCount() > 1 ? " (" + spec.test() + " " + study.tests().get(t) + ")" : "") + "  " + auc(a),
                    a.auc(), a.low(), a.high()));
            }
        }
        StudyOutputs.putFigure(out, html, meanRoc(), StudyOutputs.ROC_SIZE, StudyOutputs.ROC_SIZE, "readers_roc",
            "Readers' ROC curves (thin) and their mean per test (bold dashed: sensitivity averaged over readers at each "
                + "1 − specificity, the vertical average), readers' calls (markers) and the model's curve (" + spec.model() + ").");
        int h = 140 + 34 * rows.size();
        StudyOutputs.putFigure(out, html, StudyCharts.forest("AUC of the model and each reader", rows, model.auc(),
            spec.model()), 760, h, "forest_readers", "Forest plot: AUC with DeLong CI of the model and each reader, and the "
            + "readers' mean AUC with its Obuchowski–Rockette CI; dashed: the model's AUC.");
    }

    /** The readers' curves, their vertical mean per test, their calls and the model's curve. */
    private JFreeChart meanRoc() {
        Map<String, RocCurve> curves = new LinkedHashMap<>();
        List<Charts.ReaderPoint> points = new ArrayList<>();
        for (int t = 0; t < study.testCount(); t++) {
            for (int k = 0; k < study.readerCount(); k++) {
                curves.put(study.tests().get(t) + ": " + study.readers().get(k),
                    RocCurve.of(RocSample.of(study.ratings()[t][k], study.truth())));
                points.add(new Charts.ReaderPoint(study.readers().get(k), study.tests().get(t), calls.get(t * study.readerCount() + k)));
            }
        }
        RocCurve modelCurve = RocCurve.of(RocSample.of(modelScores, study.truth()));
        JFreeChart chart = Charts.readers("Readers and " + spec.model() + " — " + spec.task(),
            new Charts.RocSeries(spec.model() + "  AUC " + auc(model), modelCurve, null, null), curves, points, study.tests(),
            Double.isNaN(spec.callAt()) ? "Youden points" : "calls, rating ≥ " + Json.fixed(spec.callAt(), 1));
        XYSeriesCollection means = new XYSeriesCollection();
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        double[] fpr = new double[MEAN_GRID];
        for (int i = 0; i < fpr.length; i++) {
            fpr[i] = i / (double) (fpr.length - 1);
        }
        for (int t = 0; t < study.testCount(); t++) {
            String prefix = study.tests().get(t) + ": ";
            double[] mean = verticalMean(curves.entrySet().stream().filter(e -> e.getKey().startsWith(prefix))
                .map(Map.Entry::getValue).toList(), fpr);
            XYSeries s = new XYSeries("Readers' mean ROC, " + spec.test() + " " + study.tests().get(t), false, true);
            for (int i = 0; i < fpr.length; i++) {
                s.add(fpr[i], mean[i]);
            }
            means.addSeries(s);
            renderer.setSeriesPaint(t, Charts.color(t + 1).darker());
            renderer.setSeriesStroke(t, new BasicStroke(2.6f, BasicStroke.CAP_BUTT,
                BasicStroke.JOIN_MITER, 1f, new float[]{8f, 4f}, 0f));
        }
        chart.getXYPlot().setDataset(2, means);
        chart.getXYPlot().setRenderer(2, renderer);
        return chart;
    }

    /** Points of the vertical average. */
    static final int MEAN_GRID = 201;

    /**
     * Vertical average of empirical ROC curves: at each false-positive rate, the mean over curves of the
     * sensitivity of the curve as drawn and as its AUC counts it (straight segments between operating
     * points, the upper end of a vertical step). Its area is therefore the mean of the readers' AUCs.
     */
    static double[] verticalMean(List<RocCurve> curves, double[] fpr) {
        double[] mean = new double[fpr.length];
        for (RocCurve c : curves) {
            List<RocCurve.OperatingPoint> pts = c.points().reversed(); // increasing 1 − specificity, then sensitivity
            for (int i = 0; i < fpr.length; i++) {
                mean[i] += sensitivityAt(pts, fpr[i]) / curves.size();
            }
        }
        return mean;
    }

    private static double sensitivityAt(List<RocCurve.OperatingPoint> pts, double f) {
        RocCurve.OperatingPoint before = null; // last point at or left of f
        for (RocCurve.OperatingPoint p : pts) {
            double x = 1 - p.specificity();
            if (x <= f) {
                before = p;
            } else {
                if (before == null) {
                    return 0;
                }
                double x0 = 1 - before.specificity();
                if (x0 == f) {
                    return before.sensitivity();
                }
                return before.sensitivity() + (p.sensitivity() - before.sensitivity()) * (f - x0) / (x - x0);
            }
        }
        return before == null ? 0 : before.sensitivity();
    }

    ObjectNode json() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("file", spec.file().toString());
        o.put("task", spec.task());
        o.put("cohort", spec.cohort());
        o.put("model", spec.model());
        Json.put(o, "model_auc", model.auc());
        o.set("model_auc_ci", Json.interval(model.low(), model.high()));
        ArrayNode tm = o.putArray("readers_mean");
        for (ObuchowskiRockette.TestMean m : mrmc.testMeans()) {
            ObjectNode n = tm.addObject();
            n.put("test", m.test());
            Json.put(n, "auc", m.estimate());
            n.set("ci", Json.interval(m.low(), m.high()));
            Json.put(n, "df", m.df());
        }
        if (mrmc.global() != null) {
            Json.put(o, "F", mrmc.global().f());
            Json.put(o, "df2", mrmc.global().df2());
            Json.put(o, "p", mrmc.global().p());
        }
        ArrayNode cs = o.putArray("model_versus_readers");
        for (int i = 0; i < comparisons.size(); i++) {
            ModelVersusReaders.Comparison c = comparisons.get(i);
            ObjectNode n = cs.addObject();
            n.put("test", c.test());
            n.put("reader", c.reader());
            Json.put(n, "reader_auc", c.comparison().auc2());
            Json.put(n, "difference", c.comparison().difference());
            n.set("ci", Json.interval(c.comparison().low(), c.comparison().high()));
            Json.put(n, "p", c.comparison().p());
            Json.put(n, "p_holm", pHolm[i]);
            Json.put(n, "call_sensitivity", calls.get(i).sensitivity());
            Json.put(n, "call_specificity", calls.get(i).specificity());
        }
        o.put("correction", "Holm");
        return o;
    }

    private static String auc(DeLong.AucEstimate a) {
        return Json.fixed(a.auc(), 3) + " (" + Json.fixed(a.low(), 3) + "–" + Json.fixed(a.high(), 3) + ")";
    }
}
