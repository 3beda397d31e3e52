package org.renalmtl.evaluation.study;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import de.siegmar.fastcsv.writer.CsvWriter;
import de.siegmar.fastcsv.writer.LineDelimiter;

import org.renalmtl.evaluation.report.Json;
import org.renalmtl.evaluation.stats.ProportionCi;

/**
 * The tables a paper prints: "Table 2" (per cohort: task, model, AUC (95% CI), and sensitivity,
 * specificity, PPV, NPV and accuracy at the internally fixed threshold, each with its CI), the
 * pairwise DeLong comparisons, and the case flow (cases evaluated and left out, by reason). Each as
 * display rows (Markdown, HTML) and as a CSV with one number per column.
 */
public final class StudyTables {

    /** Header of the display Table 2. */
    public static final List<String> TABLE2_HEADER = List.of("Task", "Model", "n (pos/neg)", "AUC (95% CI)",
        "Threshold", "Sensitivity", "Specificity", "PPV", "NPV", "Accuracy");
    /** Header of the display pairwise table. */
    public static final List<String> PAIRS_HEADER = List.of("Task", "Cohort", "Comparison", "AUCs", "ΔAUC (95% CI)",
        "Z", "p", "p (Holm)");
    /** Header of the case-flow table. */
    public static final List<String> CASES_HEADER = List.of("Task", "Cohort", "In cohort", "No label", "Model",
        "No result", "Failed", "No score", "Evaluated");

    private StudyTables() {
    }

    /** Display rows of Table 2 for one cohort. */
    public static List<List<String>> table2(List<StudyEvaluation.SliceResult> results, String cohort) {
        List<List<String>> rows = new ArrayList<>();
        for (StudyEvaluation.SliceResult r : results) {
            if (!r.slice().cohort().name().equals(cohort)) {
                continue;
            }
            int m = r.slice().positives();
            int n = r.slice().ids().size();
            for (StudyEvaluation.ModelResult mr : r.models()) {
                OperatingPoints.Metrics op = mr.operating();
                rows.add(List.of(r.slice().task().name(), mr.model(), n + " (" + m + "/" + (n - m) + ")",
                    auc(mr), threshold(op.threshold()), proportion(op.sensitivity()), proportion(op.specificity()),
                    proportion(op.ppv()), proportion(op.npv()), proportion(op.accuracy())));
            }
        }
        return rows;
    }

    /** Display rows of the pairwise comparisons. */
    public static List<List<String>> pairs(List<StudyEvaluation.SliceResult> results) {
        List<List<String>> rows = new ArrayList<>();
        for (StudyEvaluation.SliceResult r : results) {
            for (StudyEvaluation.Pair p : r.pairs()) {
                rows.add(List.of(r.slice().task().name(), r.slice().cohort().name(), p.model1() + " vs " + p.model2(),
                    Json.fixed(p.test().auc1(), 3) + " vs " + Json.fixed(p.test().auc2(), 3),
                    Json.fixed(p.test().difference(), 3) + " (" + Json.fixed(p.test().low(), 3) + " to "
                        + Json.fixed(p.test().high(), 3) + ")",
                    Json.fixed(p.test().z(), 2), Json.pValue(p.test().p()), Json.pValue(p.pHolm())));
            }
        }
        return rows;
    }

    /** Display rows of the case flow: one row per task × cohort × model. */
    public static List<List<String>> cases(List<StudyEvaluation.SliceResult> results) {
        List<List<String>> rows = new ArrayList<>();
        for (StudyEvaluation.SliceResult r : results) {
            StudyData.Exclusions e = r.slice().exclusions();
            for (String model : r.slice().scores().keySet()) {
                rows.add(List.of(r.slice().task().name(), r.slice().cohort().name(), Integer.toString(e.inCohort()),
                    Integer.toString(e.missingLabel()), model, Integer.toString(e.noResult().get(model)),
                    Integer.toString(e.failed().get(model)), Integer.toString(e.missingScore().get(model)),
                    Integer.toString(e.evaluated())));
            }
        }
        return rows;
    }

    /** A Markdown table. */
    public static String markdown(List<String> header, List<List<String>> rows) {
        StringBuilder b = new StringBuilder();
        b.append("| ").append(String.join(" | ", header)).append(" |\n|");
        header.forEach(h -> b.append("---|"));
        b.append('\n');
        for (List<String> row : rows) {
            b.append("| ").append(String.join(" | ", row.stream().map(c -> c.replace("|", "\\|")).toList())).append(" |\n");
        }
        return b.toString();
    }

    /** Table 2 as CSV: one row per cohort × task × model, every estimate and limit in its own column. */
    public static byte[] table2Csv(List<StudyEvaluation.SliceResult> results) {
        List<String> header = new ArrayList<>(List.of("cohort", "task", "model", "n", "n_positive", "auc", "auc_se",
            "auc_low", "auc_high", "threshold"));
        for (String q : List.of("sensitivity", "specificity", "ppv", "npv", "accuracy")) {
            header.addAll(List.of(q + "_x", q + "_n", q, q + "_low", q + "_high"));
        }
        List<List<String>> rows = new ArrayList<>();
        for (StudyEvaluation.SliceResult r : results) {
            for (StudyEvaluation.ModelResult mr : r.models()) {
                OperatingPoints.Metrics op = mr.operating();
                List<String> row = new ArrayList<>(List.of(r.slice().cohort().name(), r.slice().task().name(), mr.model(),
                    Integer.toString(r.slice().ids().size()), Integer.toString(r.slice().positives()),
                    Json.csvNumber(mr.auc().auc()), Json.csvNumber(mr.auc().se()), Json.csvNumber(mr.auc().low()),
                    Json.csvNumber(mr.auc().high()), Json.csvNumber(op.threshold())));
                for (ProportionCi.Interval i : List.of(op.sensitivity(), op.specificity(), op.ppv(), op.npv(), op.accuracy())) {
                    row.addAll(List.of(Integer.toString(i.x()), Integer.toString(i.n()), Json.csvNumber(i.estimate()),
                        Json.csvNumber(i.low()), Json.csvNumber(i.high())));
                }
                rows.add(row);
            }
        }
        return csv(header, rows);
    }

    /** The pairwise comparisons as CSV. */
    public static byte[] pairsCsv(List<StudyEvaluation.SliceResult> results) {
        List<List<String>> rows = new ArrayList<>();
        for (StudyEvaluation.SliceResult r : results) {
            for (StudyEvaluation.Pair p : r.pairs()) {
                rows.add(List.of(r.slice().task().name(), r.slice().cohort().name(), p.model1(), p.model2(),
                    Json.csvNumber(p.test().auc1()), Json.csvNumber(p.test().auc2()), Json.csvNumber(p.test().difference()),
                    Json.csvNumber(p.test().se()), Json.csvNumber(p.test().low()), Json.csvNumber(p.test().high()),
                    Json.csvNumber(p.test().z()), Json.csvNumber(p.test().p()), Json.csvNumber(p.pHolm())));
            }
        }
        return csv(List.of("task", "cohort", "model1", "model2", "auc1", "auc2", "difference", "se", "low", "high", "z",
            "p", "p_holm"), rows);
    }

    /** The case flow as CSV. */
    public static byte[] casesCsv(List<StudyEvaluation.SliceResult> results) {
        return csv(List.of("task", "cohort", "in_cohort", "no_label", "model", "no_result", "failed", "no_score",
            "evaluated"), cases(results));
    }

    /** A CSV document (comma, LF line ends). */
    public static byte[] csv(List<String> header, List<List<String>> rows) {
        StringWriter text = new StringWriter();
        try (CsvWriter w = CsvWriter.builder().lineDelimiter(LineDelimiter.LF).build(text)) {
            w.writeRecord(header);
            rows.forEach(w::writeRecord);
        } catch (IOException e) {
            throw new UncheckedIOException("writing to memory failed", e); // a StringWriter does not fail
        }
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** "0.824 (0.750–0.898)". */
    public static String auc(StudyEvaluation.ModelResult m) {
        return Json.fixed(m.auc().auc(), 3) + " (" + Json.fixed(m.auc().low(), 3) + "–" + Json.fixed(m.auc().high(), 3) + ")";
    }

    /** "63.4% (26/41; 46.9–77.9)": estimate, counts, CI in percent. */
    public static String proportion(ProportionCi.Interval i) {
        if (i.n() == 0) {
            return "NA (0/0)";
        }
        return String.format(Locale.ROOT, "%.1f%% (%d/%d; %.1f–%.1f)", 100 * i.estimate(), i.x(), i.n(), 100 * i.low(),
            100 * i.high());
    }

    /** Cohort names in order, with their sizes, for headings. */
    public static Map<String, Integer> cohortSizes(List<StudyEvaluation.SliceResult> results) {
        Map<String, Integer> sizes = new LinkedHashMap<>();
        results.forEach(r -> sizes.merge(r.slice().cohort().name(), r.slice().exclusions().inCohort(), Math::max));
        return sizes;
    }

    /**
     * At least four decimals and four significant digits, trailing zeros dropped: a threshold on risks crowded near
     * 0 (e.g. 0.00004) must not print as 0.0000, nor a midpoint such as 13.485 lose its last digit.
     */
    private static String threshold(double t) {
        if (!Double.isFinite(t)) {
            return t > 0 ? "Inf" : "-Inf"; // R's spelling, as pROC's coords print it
        }
        int decimals = t == 0 ? 4 : Math.max(4, 3 - (int) Math.floor(Math.log10(Math.abs(t))));
        return new BigDecimal(t).setScale(decimals, RoundingMode.HALF_EVEN).stripTrailingZeros().toPlainString();
    }
}
