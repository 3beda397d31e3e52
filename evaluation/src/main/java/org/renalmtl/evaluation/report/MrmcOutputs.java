package org.renalmtl.evaluation.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.renalmtl.evaluation.io.OutputFiles;
import org.renalmtl.evaluation.mrmc.ModelVersusReaders;
import org.renalmtl.evaluation.mrmc.ObuchowskiRockette;
import org.renalmtl.evaluation.mrmc.ReaderStudy;
import org.renalmtl.evaluation.plot.ChartImages;
import org.renalmtl.evaluation.plot.Charts;
import org.renalmtl.evaluation.roc.DeLong;
import org.renalmtl.evaluation.roc.RocCurve;
import org.renalmtl.evaluation.roc.RocSample;

/** Turns an OR-MRMC result into mrmc.json, the reader ROC plot (PNG, SVG) and report.html. */
public final class MrmcOutputs {

    private MrmcOutputs() {
    }

    /**
     * Builds the files.
     *
     * @param source      input file name for the report
     * @param r           the analysis
     * @param modelName   name of the model (reader label in the input), or null
     * @param modelScores (T, C) model scores, or null
     * @param comparisons model-versus-reader tests (empty without a model)
     */
    public static OutputFiles build(String source, ObuchowskiRockette.Result r, String modelName, double[][] modelScores,
                                    List<ModelVersusReaders.Comparison> comparisons) {
        OutputFiles out = new OutputFiles();
        out.put("mrmc.json", Json.bytes(json(source, r, modelName, modelScores, comparisons)));
        ReaderStudy s = r.study();

        Map<String, RocCurve> curves = new LinkedHashMap<>();
        List<Charts.ReaderPoint> points = new ArrayList<>();
        for (int t = 0; t < s.testCount(); t++) {
            for (int rd = 0; rd < s.readerCount(); rd++) {
                RocCurve c = RocCurve.of(RocSample.of(s.ratings()[t][rd], s.truth()));
                curves.put(s.tests().get(t) + ": " + s.readers().get(rd), c);
                points.add(new Charts.ReaderPoint(s.readers().get(rd), s.tests().get(t), c.youden()));
            }
        }
        Charts.RocSeries model = null;
        if (modelScores != null) {
            RocSample ms = RocSample.of(modelScores[0], s.truth());
            model = new Charts.RocSeries(String.format("%s (AUC %.3f)", modelName, DeLong.auc(ms)), RocCurve.of(ms), null, null);
        }
        ChartImages img = ChartImages.render(Charts.readers("Readers' ROC operating points"
                + (model == null ? "" : " and the model"), model, curves, points, s.tests()),
            ChartImages.WIDTH, ChartImages.HEIGHT, "mrmc_");
        out.put("mrmc_roc.png", img.png());
        out.put("mrmc_roc.svg", img.svg());

        HtmlReport html = new HtmlReport("Reader study: Obuchowski–Rockette MRMC analysis");
        html.paragraph(String.format("Input: %s. %d readers × %d tests × %d cases (%d positive). Empirical AUC; "
                + "%s covariance; random readers and cases; Hillis denominator degrees of freedom.",
            source, s.readerCount(), s.testCount(), s.caseCount(), countTrue(s.truth()),
            r.method() == ObuchowskiRockette.CovarianceMethod.JACKKNIFE ? "jackknife" : "DeLong"));
        html.heading("Mean AUC per test");
        List<List<String>> rows = new ArrayList<>();
        for (ObuchowskiRockette.TestMean m : r.testMeans()) {
            rows.add(List.of(m.test(), Json.fixed(m.estimate(), 4), Json.fixed(m.se(), 4), Json.fixed(m.df(), 2),
                Json.fixed(m.low(), 4) + " – " + Json.fixed(m.high(), 4)));
        }
        html.table(List.of("Test", "Mean AUC", "SE", "df", "95% CI"), rows);
        if (r.global() != null) {
            ObuchowskiRockette.GlobalTest g = r.global();
            html.heading("Test of equal mean AUCs");
            html.paragraph(String.format("F = %.4f, df1 = %.0f, df2 = %.3f, p = %s.", g.f(), g.df1(), g.df2(), Json.pValue(g.p())));
            List<List<String>> drows = new ArrayList<>();
            for (ObuchowskiRockette.Difference d : r.differences()) {
                drows.add(List.of(d.test1() + " − " + d.test2(), Json.fixed(d.estimate(), 4), Json.fixed(d.se(), 4),
                    Json.fixed(d.df(), 2), Json.fixed(d.low(), 4) + " – " + Json.fixed(d.high(), 4),
                    Json.fixed(d.statistic(), 3), Json.pValue(d.p())));
            }
            html.table(List.of("Difference", "Estimate", "SE", "df", "95% CI", "t", "p"), drows);
        }
        html.heading("Reader AUCs");
        List<String> header = new ArrayList<>(List.of("Reader"));
        header.addAll(s.tests());
        List<List<String>> arows = new ArrayList<>();
        for (int rd = 0; rd < s.readerCount(); rd++) {
            List<String> row = new ArrayList<>(List.of(s.readers().get(rd)));
            for (int t = 0; t < s.testCount(); t++) {
                row.add(Json.fixed(r.auc()[t][rd], 4));
            }
            arows.add(row);
        }
        html.table(header, arows);
        if (!comparisons.isEmpty()) {
            html.heading("Model versus each reader (paired DeLong)");
            List<List<String>> crow = new ArrayList<>();
            for (ModelVersusReaders.Comparison c : comparisons) {
                DeLong.PairedTest p = c.comparison();
                crow.add(List.of(c.test(), c.reader(), Json.fixed(p.auc1(), 4), Json.fixed(p.auc2(), 4),
                    Json.fixed(p.difference(), 4), Json.fixed(p.low(), 4) + " – " + Json.fixed(p.high(), 4),
                    Json.fixed(p.z(), 3), Json.pValue(p.p())));
            }
            html.table(List.of("Test", "Reader", "Model AUC", "Reader AUC", "Difference", "95% CI", "Z", "p"), crow);
            html.paragraph("One test per reader, not corrected for multiplicity.");
        }
        html.heading("Figure");
        html.figure(img.png(), "mrmc_roc.svg", "Readers' empirical ROC curves (thin) and Youden operating points"
            + (model == null ? "" : ", with the model's ROC curve (bold)") + ".");
        out.put("report.html", html.toBytes());
        return out;
    }

    private static ObjectNode json(String source, ObuchowskiRockette.Result r, String modelName, double[][] modelScores,
                                   List<ModelVersusReaders.Comparison> comparisons) {
        ReaderStudy s = r.study();
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("source", source);
        root.put("analysis", "Obuchowski-Rockette, empirical AUC, random readers and cases, Hillis df");
        root.put("covariance", r.method().name().toLowerCase(java.util.Locale.ROOT));
        root.put("ci_level", r.level());
        root.put("readers", s.readerCount());
        root.put("tests", s.testCount());
        root.put("cases", s.caseCount());
        root.put("positive_cases", countTrue(s.truth()));
        ArrayNode tm = root.putArray("test_means");
        for (ObuchowskiRockette.TestMean m : r.testMeans()) {
            ObjectNode o = tm.addObject();
            o.put("test", m.test());
            Json.put(o, "mean_auc", m.estimate());
            Json.put(o, "se", m.se());
            Json.put(o, "df", m.df());
            o.set("ci", Json.interval(m.low(), m.high()));
            Json.put(o, "ms_r", m.msR());
            Json.put(o, "cov2", m.cov2());
        }
        if (r.global() != null) {
            ObuchowskiRockette.GlobalTest g = r.global();
            Json.put(root, "F", g.f());
            Json.put(root, "df1", g.df1());
            Json.put(root, "df2", g.df2());
            Json.put(root, "p", g.p());
            Json.put(root, "ms_t", g.msT());
            Json.put(root, "ms_tr", g.msTR());
            Json.put(root, "denominator", g.denominator());
        }
        ArrayNode diffs = root.putArray("differences");
        for (ObuchowskiRockette.Difference d : r.differences()) {
            diffs.add(difference(d));
        }
        ObjectNode comps = root.putObject("variance_components");
        Json.put(comps, "reader", r.readerVariance());
        Json.put(comps, "test_reader", r.testReaderVariance());
        Json.put(comps, "error", r.covariances().var());
        Json.put(comps, "cov1", r.covariances().cov1());
        Json.put(comps, "cov2", r.covariances().cov2());
        Json.put(comps, "cov3", r.covariances().cov3());
        ArrayNode aucs = root.putArray("reader_aucs");
        for (int t = 0; t < s.testCount(); t++) {
            for (int rd = 0; rd < s.readerCount(); rd++) {
                ObjectNode o = aucs.addObject();
                o.put("test", s.tests().get(t));
                o.put("reader", s.readers().get(rd));
                Json.put(o, "auc", r.auc()[t][rd]);
                int g = t * s.readerCount() + rd;
                Json.put(o, "se", Math.sqrt(r.covariance()[g][g]));
            }
        }
        ObjectNode fixed = root.putObject("fixed_readers");
        ObuchowskiRockette.FixedReaders f = r.fixedReaders();
        Json.put(fixed, "chi_square", f.chiSquare());
        Json.put(fixed, "df", f.df());
        Json.put(fixed, "p", f.p());
        ArrayNode fd = fixed.putArray("differences");
        for (ObuchowskiRockette.Difference d : f.differences()) {
            fd.add(difference(d));
        }
        if (modelScores != null) {
            ObjectNode m = root.putObject("model");
            m.put("name", modelName);
            ArrayNode cmp = m.putArray("versus_readers");
            for (ModelVersusReaders.Comparison c : comparisons) {
                ObjectNode o = cmp.addObject();
                o.put("test", c.test());
                o.put("reader", c.reader());
                DeLong.PairedTest p = c.comparison();
                Json.put(o, "model_auc", p.auc1());
                Json.put(o, "reader_auc", p.auc2());
                Json.put(o, "difference", p.difference());
                Json.put(o, "se", p.se());
                Json.put(o, "z", p.z());
                Json.put(o, "p", p.p());
                o.set("ci", Json.interval(p.low(), p.high()));
                Json.put(o, "reader_sensitivity", c.readerPoint().sensitivity());
                Json.put(o, "reader_specificity", c.readerPoint().specificity());
            }
        }
        return root;
    }

    private static ObjectNode difference(ObuchowskiRockette.Difference d) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("comparison", d.test1() + " - " + d.test2());
        Json.put(o, "estimate", d.estimate());
        Json.put(o, "se", d.se());
        Json.put(o, "df", d.df());
        o.set("ci", Json.interval(d.low(), d.high()));
        Json.put(o, "statistic", d.statistic());
        Json.put(o, "p", d.p());
        return o;
    }

    private static int countTrue(boolean[] b) {
        int n = 0;
        for (boolean x : b) {
            n += x ? 1 : 0;
        }
        return n;
    }
}
