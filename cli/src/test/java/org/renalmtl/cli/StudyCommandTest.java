package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code evaluate --study}: the shipped aSAH example end to end, pROC's and MRMCaov's published
 * numbers through the study path, the case flow, and bad study files (exit 2, nothing written).
 */
class StudyCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path EXAMPLE = Path.of("..", "evaluation", "examples", "asah", "study.json");

    private static Path stats(String f) {
        return EvaluateCommandTest.statsDir().resolve(f).toAbsolutePath();
    }

    private static List<Map<String, String>> csv(Path f) throws Exception {
        List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
        String[] h = lines.getFirst().split(",");
        List<Map<String, String>> rows = new ArrayList<>();
        for (String l : lines.subList(1, lines.size())) {
            String[] c = l.split(",");
            Map<String, String> m = new HashMap<>();
            for (int i = 0; i < h.length; i++) {
                m.put(h[i], c[i]);
            }
            rows.add(m);
        }
        return rows;
    }

    private static Map<String, String> row(List<Map<String, String>> rows, String cohort, String model) {
        return rows.stream().filter(r -> r.get("cohort").equals(cohort) && r.get("model").equals(model)).findFirst()
            .orElseThrow();
    }

    /** AUC by its definition (pairs, ties ½), independent of the DeLong code. */
    private static double mannWhitney(List<double[]> scoreAndLabel) {
        double s = 0;
        int pairs = 0;
        for (double[] a : scoreAndLabel) {
            for (double[] b : scoreAndLabel) {
                if (a[1] == 1 && b[1] == 0) {
                    s += a[0] > b[0] ? 1 : a[0] == b[0] ? 0.5 : 0;
                    pairs++;
                }
            }
        }
        return s / pairs;
    }

    @Test
    void shippedAsahExampleRunsAndHoldsItsNumbers(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("eval");
        Cli.Run r = Cli.run("evaluate", "--study", EXAMPLE, "--out", out);
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("Table 2, internal cohort"), r.out());
        for (String f : List.of("table2.csv", "pairwise.csv", "cases.csv", "tables.md", "study_metrics.json", "report.html",
            "roc_poor-outcome_internal.png", "roc_poor-outcome_external.svg", "roc_poor-outcome_external.pdf",
            "roc_poor-outcome_external.tif", "dca_poor-outcome_internal.csv", "calibration_poor-outcome_external.pdf")) {
            assertTrue(Files.size(out.resolve(f)) > 200, f);
        }
        List<Map<String, String>> t2 = csv(out.resolve("table2.csv"));
        assertEquals(6, t2.size());
        // AUC per cohort against the pair-counting definition on the gender subsets of aSAH.csv.
        List<String> lines = Files.readAllLines(stats("aSAH.csv"));
        List<String> head = List.of(lines.getFirst().split(","));
        for (String[] c : new String[][]{{"internal", "Female"}, {"external", "Male"}}) {
            for (String[] m : new String[][]{{"WFNS", "wfns"}, {"S100B", "s100b"}, {"NDKA", "ndka"}}) {
                List<double[]> xs = new ArrayList<>();
                for (String l : lines.subList(1, lines.size())) {
                    String[] f = l.split(",");
                    if (f[head.indexOf("gender")].equals(c[1])) {
                        xs.add(new double[]{Double.parseDouble(f[head.indexOf(m[1])]), f[head.indexOf("outcome")].equals("Poor") ? 1 : 0});
                    }
                }
                assertEquals(mannWhitney(xs), Double.parseDouble(row(t2, c[0], m[0]).get("auc")), 1e-12, c[0] + " " + m[0]);
            }
        }
        // The threshold is fixed on the internal cohort and applied unchanged to the external one.
        for (String m : List.of("WFNS", "S100B", "NDKA")) {
            assertEquals(row(t2, "internal", m).get("threshold"), row(t2, "external", m).get("threshold"), m);
        }
        Map<String, String> wfns = row(t2, "internal", "WFNS");
        assertEquals("20", wfns.get("sensitivity_x"));
        assertEquals("21", wfns.get("sensitivity_n"));
        // SciPy binomtest(20, 21).proportion_ci(method='exact') (Clopper–Pearson, the study's default).
        assertEquals(0.761840090063179, Double.parseDouble(wfns.get("sensitivity_low")), 1e-12);
        assertEquals(0.9987951165516293, Double.parseDouble(wfns.get("sensitivity_high")), 1e-12);
        String md = Files.readString(out.resolve("tables.md"));
        assertTrue(md.contains("## Table 2 — external cohort"), md);
        assertTrue(md.contains("| Poor outcome | WFNS | 71 (21/50) |"), md);
        JsonNode m = JSON.readTree(out.resolve("study_metrics.json").toFile());
        assertEquals("internal", m.at("/internal_cohort").asText());
        assertTrue(m.at("/results/1/models/WFNS/calibration/slope_ci").isArray());
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("Table 2 — internal cohort") && html.contains("Clopper–Pearson"), "report");
    }

    /** The TOML twin of the example gives the same Table 2, byte for byte. */
    @Test
    void tomlExampleEqualsJsonExample(@TempDir Path tmp) throws Exception {
        Cli.Run json = Cli.run("evaluate", "--study", EXAMPLE, "--out", tmp.resolve("j"));
        Cli.Run toml = Cli.run("evaluate", "--study", EXAMPLE.resolveSibling("study.toml"), "--out", tmp.resolve("t"));
        assertEquals(0, json.code(), json.toString());
        assertEquals(0, toml.code(), toml.toString());
        for (String f : List.of("table2.csv", "pairwise.csv", "cases.csv", "dca_poor-outcome_external.csv")) {
            assertEquals(Files.readString(tmp.resolve("j").resolve(f)), Files.readString(tmp.resolve("t").resolve(f)), f);
        }
        Path bad = tmp.resolve("bad.toml");
        Files.writeString(bad, "title = \"x\"\nlevel = = 2\n");
        Cli.Run r = Cli.run("evaluate", "--study", bad, "--out", tmp.resolve("never"));
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("not valid TOML"), r.toString());
    }

    /** One cohort over all of aSAH: pROC's published roc.test(wfns, s100b) through the study path. */
    @Test
    void studyWithoutCohortsReproducesProc(@TempDir Path tmp) throws Exception {
        Path study = tmp.resolve("study.json");
        Files.writeString(study, """
            {"id_column": "row", "labels": "%s", "results": {"wfns": "%s", "s100b": "%s"},
             "tasks": [{"name": "outcome", "label": "outcome", "positive": "Poor", "scores": {"wfns": "wfns", "s100b": "s100b"}}],
             "proportion_ci": "wilson"}
            """.formatted(stats("aSAH.csv"), stats("aSAH.csv"), stats("aSAH.csv")));
        Path out = tmp.resolve("o");
        Cli.Run r = Cli.run("evaluate", "--study", study, "--out", out, "--thresholds", "0:0.3:0.05");
        assertEquals(0, r.code(), r.toString());
        Map<String, String> p = csv(out.resolve("pairwise.csv")).getFirst();
        assertEquals(0.823678861788618, Double.parseDouble(p.get("auc1")), 1e-9);
        assertEquals(2.20898359144091, Double.parseDouble(p.get("z")), 1e-9);
        assertEquals(0.0271757822291882, Double.parseDouble(p.get("p")), 1e-9);
        assertEquals(0.0104061769564846, Double.parseDouble(p.get("low")), 1e-9);
        assertEquals(0.174214419249478, Double.parseDouble(p.get("high")), 1e-9);
        // s100b's Youden point on all of aSAH is pROC's coords(best): t 0.205, se 26/41, sp 58/72.
        Map<String, String> s = row(csv(out.resolve("table2.csv")), "all", "s100b");
        assertEquals(0.205, Double.parseDouble(s.get("threshold")), 1e-12);
        assertEquals("26", s.get("sensitivity_x"));
        assertEquals("58", s.get("specificity_x"));
        // SciPy binomtest(26, 41).proportion_ci(method='wilson').
        assertEquals(0.4812070108791201, Double.parseDouble(s.get("sensitivity_low")), 1e-12);
        assertFalse(Files.exists(out.resolve("dca_outcome_all.csv")), "s100b exceeds 1 and wfns is 1..5: neither is a risk");
    }

    /** Failed, missing and unscored cases are counted per model, and the models share the cases that remain. */
    @Test
    void leftOutCasesAreCounted(@TempDir Path tmp) throws Exception {
        StringBuilder labels = new StringBuilder("case_id,y,site\n");
        StringBuilder a = new StringBuilder("case_id,status,p\n");
        StringBuilder b = new StringBuilder("case_id,p\n");
        for (int i = 0; i < 40; i++) {
            labels.append("c").append(i).append(',').append(i == 3 ? "NA" : i % 2).append(',').append(i < 20 ? "A" : "B").append('\n');
            double score = ((i * 37) % 40) / 40.0;
            if (i == 5) {
                a.append("c5,error,\n");
            } else if (i != 7) {
                a.append("c").append(i).append(",ok,").append(score).append('\n');
            }
            b.append("c").append(i).append(',').append(i == 9 ? "NA" : Double.toString(1 - score)).append('\n');
        }
        Files.writeString(tmp.resolve("labels.csv"), labels);
        Files.writeString(tmp.resolve("a.csv"), a);
        Files.writeString(tmp.resolve("b.csv"), b);
        Files.writeString(tmp.resolve("study.json"), """
            {"labels": "labels.csv", "results": {"A": "a.csv", "B": "b.csv"},
             "tasks": [{"name": "T", "label": "y", "positive": "1", "scores": {"A": "p", "B": "p"}}],
             "cohorts": [{"name": "dev", "column": "site", "values": ["A"]}, {"name": "test", "column": "site", "values": ["B"]}],
             "operating_point": {"method": "sensitivity", "value": 0.9}}
            """);
        Path out = tmp.resolve("o");
        Cli.Run r = Cli.run("evaluate", "--study", tmp.resolve("study.json"), "--out", out);
        assertEquals(0, r.code(), r.toString());
        List<Map<String, String>> cases = csv(out.resolve("cases.csv"));
        Map<String, String> devA = cases.stream().filter(c -> c.get("cohort").equals("dev") && c.get("model").equals("A"))
            .findFirst().orElseThrow();
        assertEquals("20", devA.get("in_cohort"));
        assertEquals("1", devA.get("no_label"));   // c3
        assertEquals("1", devA.get("failed"));     // c5
        assertEquals("1", devA.get("no_result"));  // c7
        assertEquals("16", devA.get("evaluated")); // 20 − c3 − c5 − c7 − c9 (no score from B)
        Map<String, String> devB = cases.stream().filter(c -> c.get("cohort").equals("dev") && c.get("model").equals("B"))
            .findFirst().orElseThrow();
        assertEquals("1", devB.get("no_score"));
        assertEquals("20", cases.stream().filter(c -> c.get("cohort").equals("test")).findFirst().orElseThrow().get("evaluated"));
        Map<String, String> t = row(csv(out.resolve("table2.csv")), "dev", "A");
        assertTrue(Integer.parseInt(t.get("sensitivity_x")) >= 0.9 * Integer.parseInt(t.get("sensitivity_n")), t.toString());
    }

    /** VanDyke's readers through the study: MRMCaov's published OR analysis, and the model against each reader (Holm). */
    @Test
    void readersReproduceMrmcaovAndCompareTheModel(@TempDir Path tmp) throws Exception {
        List<String> lines = Files.readAllLines(stats("VanDyke_MRMCaov.csv"));
        Map<String, String> truth = new java.util.TreeMap<>();
        Map<String, Double> model = new HashMap<>();
        for (String l : lines.subList(1, lines.size())) {
            String[] f = l.split(",");
            truth.put(f[2], f[3]);
            if (f[1].equals("2")) {
                model.merge(f[2], Double.parseDouble(f[4]) / 5, Double::sum); // the mean treatment-2 rating: a stand-in model
            }
        }
        StringBuilder labels = new StringBuilder("case_id,truth\n");
        StringBuilder results = new StringBuilder("case_id,score\n");
        truth.forEach((c, y) -> labels.append(c).append(',').append(y).append('\n'));
        model.forEach((c, s) -> results.append(c).append(',').append(s).append('\n'));
        Files.writeString(tmp.resolve("labels.csv"), labels);
        Files.writeString(tmp.resolve("results.csv"), results);
        Files.writeString(tmp.resolve("study.json"), """
            {"labels": "labels.csv", "results": {"AI": "results.csv"},
             "tasks": [{"name": "lesion", "label": "truth", "positive": "1", "scores": {"AI": "score"}}],
             "readers": {"file": "%s", "task": "lesion", "model": "AI", "test": "treatment", "call_at": 3}}
            """.formatted(stats("VanDyke_MRMCaov.csv")));
        Path out = tmp.resolve("o");
        Cli.Run r = Cli.run("evaluate", "--study", tmp.resolve("study.json"), "--out", out);
        assertEquals(0, r.code(), r.toString());
        JsonNode m = JSON.readTree(out.resolve("study_metrics.json").toFile()).at("/readers");
        // MRMCaov README (jackknife, random readers and cases); 7 significant digits published.
        assertEquals(4.456319, m.at("/F").asDouble(), 5e-7);
        assertEquals(15.25967, m.at("/df2").asDouble(), 5e-6);
        assertEquals(0.8970370, m.at("/readers_mean/0/auc").asDouble(), 5e-8);
        assertEquals(0.8252236, m.at("/readers_mean/0/ci/0").asDouble(), 5e-8);
        assertEquals(0.9875369, m.at("/readers_mean/1/ci/1").asDouble(), 5e-8);
        JsonNode cmp = m.at("/model_versus_readers");
        assertEquals(10, cmp.size());
        double[] p = new double[10];
        for (int i = 0; i < 10; i++) {
            p[i] = cmp.get(i).at("/p").asDouble();
        }
        double[] holm = org.renalmtl.evaluation.stats.Holm.adjust(p);
        for (int i = 0; i < 10; i++) {
            assertEquals(holm[i], cmp.get(i).at("/p_holm").asDouble(), 1e-15);
            assertTrue(holm[i] >= p[i]);
        }
        assertEquals("Holm", m.at("/correction").asText());
        for (String f : List.of("forest_readers.png", "forest_readers.pdf", "forest_readers.tif", "readers_roc.svg", "readers_roc.pdf")) {
            assertTrue(Files.size(out.resolve(f)) > 200, f);
        }
        assertTrue(Files.readString(out.resolve("tables.md")).contains("## Readers"));
    }

    @Test
    void badStudiesNameTheProblemAndWriteNothing(@TempDir Path tmp) throws Exception {
        String base = """
            {"id_column": "row", "labels": "%1$s", "results": {"wfns": "%1$s"},
             "tasks": [{"name": "o", "label": "outcome", "positive": "Poor", "scores": {"wfns": "%2$s"}}]%3$s}
            """;
        String asah = stats("aSAH.csv").toString();
        Object[][] cases = {
            {base.formatted(asah, "wfnz", ""), "no column 'wfnz'"},
            {base.formatted(asah, "wfns", ", \"cohorts\": [{\"name\": \"i\", \"column\": \"gender\", \"values\": [\"female\"]}]"),
                "cohort 'i' has no rows"},
            {base.formatted(asah, "wfns", ", \"operating_point\": {\"method\": \"youden2\"}"), "operating_point.method"},
            {base.formatted(asah, "wfns", ", \"colour\": 1"), "unknown field 'colour'"},
            {base.formatted(asah, "gender", ""), "not a number: 'Female'"},
            {"{\"results\": ", "not valid JSON"},
        };
        for (Object[] c : cases) {
            Path study = tmp.resolve("study.json");
            Files.writeString(study, (String) c[0]);
            Path out = tmp.resolve("never");
            Cli.Run r = Cli.run("evaluate", "--study", study, "--out", out);
            assertEquals(2, r.code(), r.toString());
            assertTrue(r.err().contains((String) c[1]) && r.err().strip().lines().count() == 1, r.toString());
            assertFalse(Files.exists(out), "nothing written");
        }
        // A negative class that differs between cohorts would silently count "2" as negative.
        Files.writeString(tmp.resolve("l.csv"), "case_id,y,site\na,0,A\nb,0,A\nc,1,A\nd,1,A\ne,2,B\nf,2,B\ng,1,B\nh,1,B\n");
        Files.writeString(tmp.resolve("r.csv"), "case_id,p\na,0.1\nb,0.6\nc,0.4\nd,0.9\ne,0.2\nf,0.5\ng,0.3\nh,0.8\n");
        Files.writeString(tmp.resolve("study.json"), """
            {"labels": "l.csv", "results": {"m": "r.csv"}, "tasks": [{"name": "t", "label": "y", "positive": "1", "scores": {"m": "p"}}],
             "cohorts": [{"name": "in", "column": "site", "values": ["A"]}, {"name": "ex", "column": "site", "values": ["B"]}]}
            """);
        Cli.Run classes = Cli.run("evaluate", "--study", tmp.resolve("study.json"), "--out", tmp.resolve("never"));
        assertEquals(2, classes.code(), classes.toString());
        assertTrue(classes.err().contains("the negative class is '0' in cohort 'in' but '2' in cohort 'ex'"), classes.toString());
        assertFalse(Files.exists(tmp.resolve("never")));
        Cli.Run mixed = Cli.run("evaluate", "--study", EXAMPLE, "--label", "x", "--out", tmp.resolve("never"));
        assertEquals(2, mixed.code(), mixed.toString());
        Cli.Run grid = Cli.run("evaluate", "--study", EXAMPLE, "--thresholds", "0:1.2:0.1", "--out", tmp.resolve("never"));
        assertEquals(2, grid.code(), grid.toString());
        assertTrue(grid.err().contains("--thresholds"), grid.toString());
    }
}
