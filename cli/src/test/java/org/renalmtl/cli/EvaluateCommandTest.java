package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

/** End-to-end runs of {@code evaluate} on the reference data, and its handling of bad input. */
class EvaluateCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Result of one run: exit code and captured streams. */
    record Run(int code, String out, String err) {
    }

    /** Runs one command with the CLI's error mapping (bad input: one line, exit 2). */
    static Run run(Object command, String... args) {
        CommandLine cl = new CommandLine(command);
        cl.setExecutionExceptionHandler((ex, line, parsed) -> Main.handle(ex, line.getErr(), false));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /** testdata/stats of the repository (or $RENAL_MTL_DATA/stats), as the build passes it. */
    static Path statsDir() {
        return Path.of(System.getProperty("renalmtl.testdata", "../testdata"), "stats");
    }

    private static String stats(String file) {
        return statsDir().resolve(file).toString();
    }

    @Test
    void asahMetricsMatchProc(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out");
        Run r = run(new EvaluateCommand(), "--input", stats("aSAH.csv"), "--label", "outcome", "--positive", "Poor",
            "--score", "wfns", "--score", "s100b", "--score", "ndka", "--out", out.toString(), "--threshold", "0.205");
        assertEquals(0, r.code(), r.err());
        JsonNode m = JSON.readTree(out.resolve("metrics.json").toFile());
        // pROC tests/testthat: test-auc.R, test-ci.auc.R, test-roc.test.R (see DeLongTest for the citations)
        assertEquals(0.823678861788618, m.at("/scores/wfns/auc").asDouble(), 1e-9);
        assertEquals(0.611957994579946, m.at("/scores/ndka/auc").asDouble(), 1e-9);
        assertEquals(0.501244999271703, m.at("/scores/ndka/auc_ci_delong/0").asDouble(), 1e-9);
        assertEquals(0.722670989888189, m.at("/scores/ndka/auc_ci_delong/1").asDouble(), 1e-9);
        assertEquals(Math.sqrt(0.00266868245717244), m.at("/scores/s100b/auc_se_delong").asDouble(), 1e-12);
        assertEquals(0.205, m.at("/scores/s100b/youden/threshold").asDouble(), 1e-12);
        assertEquals(26, m.at("/scores/s100b/at_thresholds/0/tp").asInt());
        JsonNode pair = m.at("/pairs/0");
        assertEquals("wfns", pair.at("/score1").asText());
        assertEquals("s100b", pair.at("/score2").asText());
        assertEquals(2.20898359144091, pair.at("/delong_paired/z").asDouble(), 1e-9);
        assertEquals(0.0271757822291882, pair.at("/delong_paired/p").asDouble(), 1e-9);
        assertEquals(0.0104061769564846, pair.at("/delong_paired/ci/0").asDouble(), 1e-9);
        assertEquals(0.174214419249478, pair.at("/delong_paired/ci/1").asDouble(), 1e-9);
        // Bootstrap CI: 2000 replicates by default, within Monte-Carlo error of the DeLong CI.
        assertEquals(2000, m.at("/scores/ndka/bootstrap/replicates").asInt());
        assertEquals(0.501244999271703, m.at("/scores/ndka/auc_ci_bootstrap/0").asDouble(), 0.02);
        // Files and a self-contained report (images embedded, nothing fetched from the network).
        for (String f : List.of("metrics.json", "roc.png", "roc.svg", "report.html")) {
            assertTrue(Files.size(out.resolve(f)) > 1000, f);
        }
        assertFalse(Files.exists(out.resolve("dca.csv")), "no score of aSAH is a probability");
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("data:image/png;base64,"));
        assertFalse(html.contains("src=\"http"));
        assertTrue(Files.readString(out.resolve("roc.svg")).startsWith("<?xml"));
        byte[] png = Files.readAllBytes(out.resolve("roc.png"));
        assertEquals((byte) 0x89, png[0]);
        assertEquals('P', png[1]);
        assertTrue(r.out().contains("AUC 0.823679"));
        try (var files = Files.list(out)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary files left");
        }
    }

    @Test
    void decisionCurveAndCalibrationFromRisks(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("o");
        Run r = run(new EvaluateCommand(), "--input", stats("dcurves/df_binary.csv"), "--label", "cancer",
            "--positive", "TRUE", "--score", "famhistory", "--score", "cancerpredmarker", "--out", out.toString(),
            "--bootstrap", "200");
        assertEquals(0, r.code(), r.err());
        List<String> dca = Files.readAllLines(out.resolve("dca.csv"));
        assertEquals("variable,n,threshold,pos_rate,test_pos_rate,tp_rate,fp_rate,harm,net_benefit,net_intervention_avoided",
            dca.getFirst());
        assertEquals(1 + 4 * 100, dca.size());
        // dcurves r_case1_results.csv, famhistory at threshold 0.01 and treat-all at 0.02 (see DecisionCurveTest)
        String fam = dca.stream().filter(l -> l.startsWith("famhistory,750,0.01,")).findFirst().orElseThrow();
        assertEquals(0.030774410774410774, Double.parseDouble(fam.split(",")[8]), 1e-12);
        assertEquals(-9.953333333333333, Double.parseDouble(fam.split(",")[9]), 1e-9);
        String all = dca.stream().filter(l -> l.startsWith("all,750,0.02,")).findFirst().orElseThrow();
        assertEquals(0.12244897959183675, Double.parseDouble(all.split(",")[8]), 1e-12);
        assertTrue(dca.get(1).endsWith(",NA"), "treat-all at threshold 0 has NA interventions avoided, as R");
        JsonNode m = JSON.readTree(out.resolve("metrics.json").toFile());
        assertTrue(m.at("/scores/cancerpredmarker/calibration/brier").asDouble() > 0);
        assertEquals(10, m.at("/scores/cancerpredmarker/calibration/bins").size());
        for (String f : List.of("dca.png", "dca.svg", "calibration.png", "calibration.svg")) {
            assertTrue(Files.exists(out.resolve(f)), f);
        }
    }

    @Test
    void joinsPredictResultsWithLabels(@TempDir Path tmp) throws Exception {
        // The shape of `predict --cohort` output: one row per case with per-task probabilities.
        Path results = tmp.resolve("results.csv");
        Path labels = tmp.resolve("labels.csv");
        List<String> res = new ArrayList<>(List.of("case_id,p_ccrcc,p_stage34"));
        List<String> lab = new ArrayList<>(List.of("case_id,stage34"));
        java.util.SplittableRandom rng = new java.util.SplittableRandom(11);
        for (int i = 0; i < 60; i++) {
            boolean y = i % 3 == 0;
            res.add("case" + i + "," + rng.nextDouble() + "," + Math.min(1, Math.max(0, (y ? 0.6 : 0.35) + 0.25 * rng.nextGaussian())));
            lab.add("case" + (59 - i) + "," + ((59 - i) % 3 == 0 ? "1" : "0")); // different row order on purpose
        }
        Files.write(results, res);
        Files.write(labels, lab);
        Path out = tmp.resolve("eval");
        Run r = run(new EvaluateCommand(), "--input", results.toString(), "--labels", labels.toString(), "--on", "case_id",
            "--label", "stage34", "--positive", "1", "--score", "p_stage34", "--out", out.toString(), "--bootstrap", "200");
        assertEquals(0, r.code(), r.err());
        JsonNode m = JSON.readTree(out.resolve("metrics.json").toFile());
        assertEquals(20, m.at("/input/n_positive").asInt());
        assertTrue(m.at("/scores/p_stage34/auc").asDouble() > 0.7);
    }

    @Test
    void tabDelimitedInputGivesTheSameAucAsCommas(@TempDir Path tmp) throws Exception {
        // aSAH rewritten with tabs (its cells hold no commas or quotes) must give pROC's AUC for wfns.
        List<String> tsv = Files.readAllLines(Path.of(stats("aSAH.csv"))).stream().map(l -> l.replace(',', '\t')).toList();
        Path input = tmp.resolve("aSAH.tsv");
        Files.write(input, tsv);
        Path out = tmp.resolve("o");
        Run r = run(new EvaluateCommand(), "--input", input.toString(), "--delimiter", "tab", "--label", "outcome",
            "--positive", "Poor", "--score", "wfns", "--out", out.toString(), "--bootstrap", "200");
        assertEquals(0, r.code(), r.err());
        assertEquals(0.823678861788618, JSON.readTree(out.resolve("metrics.json").toFile()).at("/scores/wfns/auc").asDouble(),
            1e-9);
        assertError(run(new EvaluateCommand(), "--input", input.toString(), "--delimiter", "pipe", "--label", "outcome",
            "--positive", "Poor", "--score", "wfns", "--out", tmp.resolve("never").toString()),
            "--delimiter must be comma, semicolon or tab, got 'pipe'", tmp.resolve("never"));
    }

    @Test
    void badInputIsOneLineExitTwoAndNothingWritten(@TempDir Path tmp) throws Exception {
        Path csv = tmp.resolve("in.csv");
        Path out = tmp.resolve("never");
        String[] base = {"--input", csv.toString(), "--label", "y", "--positive", "1", "--score", "s", "--out", out.toString()};

        Files.writeString(csv, "id,y,s\n1,1,0.3\n2,0,0.1\n3,1,0.8\n4,0,0.2\n", StandardCharsets.UTF_8);
        Run missing = run(new EvaluateCommand(), "--input", csv.toString(), "--label", "y", "--positive", "1",
            "--score", "p_missing", "--out", out.toString());
        assertError(missing, "no column 'p_missing' (--score)", out);

        Files.writeString(csv, "id,y,s\n1,1,0.3\n2,0,0.1\n3,2,0.8\n4,0,0.2\n");
        assertError(run(new EvaluateCommand(), base), "more than two classes", out);

        Files.writeString(csv, "id,y,s\n1,1,0.3\n2,1,0.1\n3,1,0.8\n");
        assertError(run(new EvaluateCommand(), base), "one class only", out);

        Files.writeString(csv, "id,y,s\n1,1,0.3\n2,0,0.1\n3,1,NaN\n4,0,0.2\n");
        assertError(run(new EvaluateCommand(), base), "line 4, column 's': NaN score", out);

        Files.writeString(csv, "id,y,s\n1,1,0.3\n2,0,0.1\n3,1,abc\n4,0,0.2\n");
        assertError(run(new EvaluateCommand(), base), "line 4, column 's': not a number", out);

        Files.writeString(csv, "id,y,s\n1,1,0.3\n2,0,0.1\n3,0,0.8\n4,0,0.2\n");
        assertError(run(new EvaluateCommand(), base), "1 positive and 3 negative cases; each class needs at least 2", out);

        Files.writeString(csv, "id,y,s\n1,1,0.3\n2,0,0.1\n3,0,0.8\n4,0,0.2\n");
        assertError(run(new EvaluateCommand(), "--input", csv.toString(), "--label", "y", "--positive", "yes",
            "--score", "s", "--out", out.toString()), "has no value 'yes' (--positive)", out);

        Files.writeString(csv, "case_id,s\n1,0.3\n2,0.1\n3,0.8\n4,0.2\n");
        Path lab = tmp.resolve("labels.csv");
        Files.writeString(lab, "case_id,y\n1,1\n2,0\n4,0\n");
        assertError(run(new EvaluateCommand(), "--input", csv.toString(), "--labels", lab.toString(), "--label", "y",
            "--positive", "1", "--score", "s", "--out", out.toString()), "line 4: case_id '3' has no row in", out);

        assertError(run(new EvaluateCommand(), "--input", tmp.resolve("nope.csv").toString(), "--label", "y",
            "--positive", "1", "--score", "s", "--out", out.toString()), "file not found", out);
    }

    static void assertError(Run r, String expected, Path out) {
        assertEquals(2, r.code(), r.out() + r.err());
        String line = r.err().strip();
        assertTrue(line.startsWith("renal-mtl: error: "), line);
        assertTrue(line.contains(expected), line);
        assertFalse(line.contains("\n"), "one line: " + line);
        assertFalse(Files.exists(out), "nothing written on bad input");
    }
}
