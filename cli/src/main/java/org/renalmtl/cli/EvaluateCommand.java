package org.renalmtl.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.renalmtl.evaluation.EvaluationInputException;
import org.renalmtl.evaluation.calibration.Calibration;
import org.renalmtl.evaluation.dca.DecisionCurve;
import org.renalmtl.evaluation.io.CsvTable;
import org.renalmtl.evaluation.io.LabeledScoresCsv;
import org.renalmtl.evaluation.io.OutputFiles;
import org.renalmtl.evaluation.report.EvaluationOutputs;
import org.renalmtl.evaluation.report.Json;
import org.renalmtl.evaluation.report.ScoreResult;
import org.renalmtl.evaluation.roc.BootstrapAuc;
import org.renalmtl.evaluation.roc.DeLong;
import org.renalmtl.evaluation.roc.RocCurve;
import org.renalmtl.evaluation.roc.RocSample;
import org.renalmtl.evaluation.roc.SensitivityBand;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code renal-mtl evaluate}: ROC/DeLong/bootstrap statistics, paired DeLong tests between scores,
 * decision curves, calibration, plots and an HTML report for one or more score columns of a CSV
 * (for example the results.csv of {@code predict --cohort}, joined with a labels CSV).
 */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
    description = {"Evaluate scores against a binary label: AUC with DeLong and bootstrap CIs, paired DeLong tests,",
        "operating points, decision curves, calibration; writes metrics.json, dca.csv, plots and report.html.",
        "With --study: every task x model x cohort of a study file, Table 2, pairwise DeLong, readers, figures in PNG/SVG/PDF/TIFF",
        "(the confidence level is then the study file's 'level'; --bootstrap and --level do not apply)."})
public final class EvaluateCommand implements Callable<Integer> {

    /**
     * Most bootstrap replicates: the replicate AUCs and the sensitivity band's (51 × B) grid stay below
     * 50 MB, and far more replicates than anyone reports (2 000 is the convention) cannot end in an
     * OutOfMemoryError.
     */
    public static final int MAX_BOOTSTRAP = 100_000;

    /** Most calibration bins: more than this is no longer a curve that can be read. */
    public static final int MAX_BINS = 100;

    @Spec
    private CommandSpec spec;

    @Option(names = "--input", paramLabel = "FILE", description = "CSV with the scores (and the label unless --labels)")
    private Path input;

    @Option(names = "--labels", paramLabel = "FILE", description = "CSV with the labels, joined to --input on --on")
    private Path labels;

    @Option(names = "--on", paramLabel = "COLUMN", defaultValue = "case_id", description = "join column for --labels (default: ${DEFAULT-VALUE})")
    private String on;

    @Option(names = "--label", paramLabel = "COLUMN", description = "binary label column")
    private String label;

    @Option(names = "--positive", paramLabel = "VALUE", description = "label value of a positive case")
    private String positive;

    @Option(names = "--study", paramLabel = "FILE",
        description = "study.json or study.toml: models, tasks, cohorts and readers evaluated together (see evaluation/README.md); replaces --input/--label/--positive/--score")
    private Path study;

    @Option(names = "--thresholds", paramLabel = "FROM:TO:STEP", defaultValue = "0:0.6:0.01",
        description = "decision-curve thresholds with --study (default: ${DEFAULT-VALUE})")
    private String dcaThresholds;

    @Option(names = "--score", paramLabel = "COLUMN", description = "score column (repeatable); higher = more likely positive")
    private List<String> scores = List.of();

    @Option(names = "--delimiter", paramLabel = "D", defaultValue = "comma",
        description = "field delimiter of the input CSV files (--input and --labels): comma, semicolon or tab (default: ${DEFAULT-VALUE})")
    private String delimiter;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output directory")
    private Path out;

    @Option(names = "--threshold", paramLabel = "T", description = "also report sensitivity/specificity/PPV/NPV at score >= T, T in [0, 1] (repeatable)")
    private List<Double> thresholds = new ArrayList<>();

    @Option(names = "--bootstrap", paramLabel = "N", defaultValue = "2000", description = "bootstrap replicates, 100 to 100000 (default: ${DEFAULT-VALUE})")
    private int replicates;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "20260101", description = "bootstrap seed (default: ${DEFAULT-VALUE})")
    private long seed;

    @Option(names = "--level", paramLabel = "L", defaultValue = "0.95", description = "confidence level (default: ${DEFAULT-VALUE})")
    private double level;

    @Option(names = "--harm", paramLabel = "SCORE=H", description = "harm of testing for a score in the decision curve (repeatable)")
    private Map<String, Double> harms = Map.of();

    @Option(names = "--bins", paramLabel = "K", defaultValue = "10", description = "calibration bins, 1 to 100 (default: ${DEFAULT-VALUE})")
    private int bins;

    @Override
    public Integer call() {
        System.setProperty("java.awt.headless", "true");
        if (study != null) {
            if (input != null || label != null || positive != null || !scores.isEmpty() || labels != null) {
                throw new EvaluationInputException("--study names the inputs: leave out --input, --labels, --label, --positive and --score");
            }
            checkCommon();
            return StudyRun.run(study, out, DecisionGrid.parse(dcaThresholds), bins, seed, spec.commandLine().getOut());
        }
        for (Object[] o : new Object[][]{{input, "--input"}, {label, "--label"}, {positive, "--positive"}}) {
            if (o[0] == null) {
                throw new EvaluationInputException("missing option " + o[1] + " (or --study)");
            }
        }
        if (scores.isEmpty()) {
            throw new EvaluationInputException("missing option --score (or --study)");
        }
        checkCommon();
        return single();
    }

    private void checkCommon() {
        if (!(level > 0 && level < 1)) {
            throw new EvaluationInputException("--level must be in (0, 1), got " + level);
        }
        if (replicates < 100 || replicates > MAX_BOOTSTRAP) {
            throw new EvaluationInputException("--bootstrap must be between 100 and " + MAX_BOOTSTRAP + ", got "
                + replicates);
        }
        if (bins < 1 || bins > MAX_BINS) {
            throw new EvaluationInputException("--bins must be between 1 and " + MAX_BINS + ", got " + bins);
        }
    }

    private int single() {
        for (double t : thresholds) {
            if (!(t >= 0 && t <= 1)) {
                throw new EvaluationInputException("--threshold must be a number in [0, 1], got " + t);
            }
        }
        for (Map.Entry<String, Double> h : harms.entrySet()) {
            if (!scores.contains(h.getKey())) {
                throw new EvaluationInputException("--harm names '" + h.getKey() + "', which is not a --score column");
            }
            if (!Double.isFinite(h.getValue())) {
                throw new EvaluationInputException("--harm " + h.getKey() + " must be finite, got " + h.getValue());
            }
        }
        char sep = CsvTable.delimiter(delimiter);
        CsvTable table = CsvTable.read(input, sep);
        if (table.hasColumn("status") && table.hasColumn("case_id")) {
            // predict --cohort records failed cases with status=error and no scores: they are not
            // part of the evaluation, but the user must know they were left out.
            CsvTable ok = table.rowsWhere("status", "ok");
            if (ok.rowCount() < table.rowCount()) {
                spec.commandLine().getErr().printf("renal-mtl: %s: leaving out %d case(s) whose status is not ok%n",
                        input, table.rowCount() - ok.rowCount());
            }
            table = ok;
        }
        if (labels != null) {
            table = table.join(CsvTable.read(labels, sep), on, "--on");
        }
        LabeledScoresCsv data = LabeledScoresCsv.read(table, label, positive, scores);

        List<ScoreResult> results = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        List<DecisionCurve.Model> dcaModels = new ArrayList<>();
        for (Map.Entry<String, double[]> e : data.scores().entrySet()) {
            double[] x = e.getValue();
            RocSample sample = RocSample.of(x, data.positive());
            RocCurve curve = RocCurve.of(sample);
            List<RocCurve.OperatingPoint> at = thresholds.stream().map(curve::at).toList();
            boolean probability = java.util.Arrays.stream(x).allMatch(v -> v >= 0 && v <= 1);
            Calibration.Result cal = null;
            if (probability) {
                cal = Calibration.of(x, data.positive(), bins);
                dcaModels.add(new DecisionCurve.Model(e.getKey(), x, harms.getOrDefault(e.getKey(), 0.0)));
            } else {
                notes.add("Score '" + e.getKey() + "' has values outside [0, 1]: it is not a risk, so it is left out "
                    + "of the decision curves and the calibration.");
            }
            results.add(new ScoreResult(e.getKey(), DeLong.estimate(sample, level),
                BootstrapAuc.interval(sample, level, replicates, seed), curve, curve.youden(), at,
                SensitivityBand.compute(sample, level, replicates, seed + 1, 51), cal, probability));
        }
        List<EvaluationOutputs.Pair> pairs = new ArrayList<>();
        List<String> names = List.copyOf(data.scores().keySet());
        for (int a = 0; a < names.size(); a++) {
            for (int b = a + 1; b < names.size(); b++) {
                pairs.add(new EvaluationOutputs.Pair(names.get(a), names.get(b), DeLong.pairedTest(
                    RocSample.of(data.scores().get(names.get(a)), data.positive()),
                    RocSample.of(data.scores().get(names.get(b)), data.positive()), level)));
            }
        }
        List<DecisionCurve.Row> dca = dcaModels.isEmpty() ? List.of()
            : DecisionCurve.compute(data.positive(), dcaModels, DecisionCurve.defaultThresholds());
        String source = labels == null ? input.toString() : input + " + " + labels;
        EvaluationOutputs.InputSummary summary = new EvaluationOutputs.InputSummary(source, label,
            data.classes().get(0), data.classes().get(1), data.positive().length, data.positives());
        OutputFiles files = EvaluationOutputs.build(summary, results, pairs, dca, notes);
        files.commit(out);
        print(results, pairs, files);
        return 0;
    }

    private void print(List<ScoreResult> results, List<EvaluationOutputs.Pair> pairs, OutputFiles files) {
        var w = spec.commandLine().getOut();
        int pct = (int) Math.round(level * 100);
        for (ScoreResult r : results) {
            w.println(String.format(Locale.ROOT, "%-16s AUC %.6f  DeLong SE %.6f  %d%% CI %.6f-%.6f  bootstrap %.4f-%.4f  "
                    + "Youden t=%s se=%.4f sp=%.4f", r.name(), r.delong().auc(), r.delong().se(), pct, r.delong().low(),
                r.delong().high(), r.bootstrap().low(), r.bootstrap().high(), Json.fixed(r.youden().threshold(), 4),
                r.youden().sensitivity(), r.youden().specificity()));
        }
        for (EvaluationOutputs.Pair p : pairs) {
            w.println(String.format(Locale.ROOT, "%s vs %s: paired DeLong Z = %.6f, p = %.6g, diff %.6f (%d%% CI %.6f to %.6f)",
                p.score1(), p.score2(), p.test().z(), p.test().p(), p.test().difference(), pct, p.test().low(),
                p.test().high()));
        }
        w.println("wrote " + String.join(", ", files.names()) + " to " + out);
        w.flush();
    }
}
