package org.renalmtl.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.renalmtl.evaluation.EvaluationInputException;
import org.renalmtl.evaluation.io.CsvTable;
import org.renalmtl.evaluation.io.OutputFiles;
import org.renalmtl.evaluation.io.ReaderStudyCsv;
import org.renalmtl.evaluation.mrmc.ModelVersusReaders;
import org.renalmtl.evaluation.mrmc.ObuchowskiRockette;
import org.renalmtl.evaluation.report.MrmcOutputs;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code renal-mtl mrmc}: Obuchowski–Rockette MRMC analysis of a reader study (empirical AUCs,
 * jackknife or DeLong covariances, Hillis df), optionally with a model compared with every reader.
 */
@Command(name = "mrmc", mixinStandardHelpOptions = true,
    description = {"Multi-reader multi-case ROC analysis (Obuchowski-Rockette, as MRMCaov): mean AUC per test",
        "with CIs, F test with Hillis df, differences; optional model-versus-reader paired DeLong tests."})
public final class MrmcCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--input", required = true, paramLabel = "FILE", description = "ratings CSV, one row per reader, test and case")
    private Path input;

    @Option(names = "--reader", required = true, paramLabel = "COLUMN", description = "reader column")
    private String reader;

    @Option(names = "--test", required = true, paramLabel = "COLUMN", description = "test (modality) column")
    private String test;

    @Option(names = "--case", required = true, paramLabel = "COLUMN", description = "case column")
    private String caseId;

    @Option(names = "--truth", required = true, paramLabel = "COLUMN", description = "truth column")
    private String truth;

    @Option(names = "--rating", required = true, paramLabel = "COLUMN", description = "rating column; higher = more likely positive")
    private String rating;

    @Option(names = "--positive", paramLabel = "VALUE", defaultValue = "1", description = "truth value of a positive case (default: ${DEFAULT-VALUE})")
    private String positive;

    @Option(names = "--delimiter", paramLabel = "D", defaultValue = "comma",
        description = "field delimiter of the input CSV: comma, semicolon or tab (default: ${DEFAULT-VALUE})")
    private String delimiter;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output directory")
    private Path out;

    @Option(names = "--cov", paramLabel = "METHOD", defaultValue = "jackknife", description = "covariance: jackknife or delong (default: ${DEFAULT-VALUE})")
    private String cov;

    @Option(names = "--model-reader", paramLabel = "NAME", description = "reader label of the model's rows: compared with each reader, left out of the MRMC analysis")
    private String modelReader;

    @Option(names = "--level", paramLabel = "L", defaultValue = "0.95", description = "confidence level (default: ${DEFAULT-VALUE})")
    private double level;

    @Override
    public Integer call() {
        System.setProperty("java.awt.headless", "true");
        if (!(level > 0 && level < 1)) {
            throw new EvaluationInputException("--level must be in (0, 1), got " + level);
        }
        ObuchowskiRockette.CovarianceMethod method = switch (cov.toLowerCase(Locale.ROOT)) {
            case "jackknife" -> ObuchowskiRockette.CovarianceMethod.JACKKNIFE;
            case "delong" -> ObuchowskiRockette.CovarianceMethod.DELONG;
            default -> throw new EvaluationInputException("--cov must be jackknife or delong, got '" + cov + "'");
        };
        CsvTable table = CsvTable.read(input, CsvTable.delimiter(delimiter));
        ReaderStudyCsv.Loaded loaded = ReaderStudyCsv.read(table,
            new ReaderStudyCsv.Columns(reader, test, caseId, truth, rating, positive), modelReader);
        if (modelReader != null && loaded.modelScores() == null) {
            throw new EvaluationInputException(input + ": no rows with reader '" + modelReader + "' (--model-reader)");
        }
        ObuchowskiRockette.Result result = ObuchowskiRockette.analyze(loaded.study(), method, level);
        List<ModelVersusReaders.Comparison> comparisons = loaded.modelScores() == null ? List.of()
            : ModelVersusReaders.compare(loaded.study(), loaded.modelScores(), level);
        OutputFiles files = MrmcOutputs.build(input.toString(), result, modelReader, loaded.modelScores(), comparisons);
        files.commit(out);
        print(result, comparisons, files);
        return 0;
    }

    private void print(ObuchowskiRockette.Result r, List<ModelVersusReaders.Comparison> comparisons, OutputFiles files) {
        var w = spec.commandLine().getOut();
        int pct = (int) Math.round(level * 100);
        for (ObuchowskiRockette.TestMean m : r.testMeans()) {
            w.println(String.format(Locale.ROOT, "test %-8s mean AUC %.7f  SE %.7f  df %.5f  %d%% CI %.7f-%.7f",
                m.test(), m.estimate(), m.se(), m.df(), pct, m.low(), m.high()));
        }
        if (r.global() != null) {
            w.println(String.format(Locale.ROOT, "F = %.6f  df1 = %.0f  df2 = %.5f  p = %.7g", r.global().f(),
                r.global().df1(), r.global().df2(), r.global().p()));
        }
        for (ObuchowskiRockette.Difference d : r.differences()) {
            w.println(String.format(Locale.ROOT, "%s - %s: %.8f  SE %.7f  %d%% CI %.8f to %.8f  t = %.6f  p = %.7g",
                d.test1(), d.test2(), d.estimate(), d.se(), pct, d.low(), d.high(), d.statistic(), d.p()));
        }
        for (ModelVersusReaders.Comparison c : comparisons) {
            w.println(String.format(Locale.ROOT, "model vs reader %s (%s): %.4f vs %.4f, Z = %.3f, p = %.4g",
                c.reader(), c.test(), c.comparison().auc1(), c.comparison().auc2(), c.comparison().z(), c.comparison().p()));
        }
        w.println("wrote " + String.join(", ", files.names()) + " to " + out);
        w.flush();
    }
}
