package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.evaluation.report.EvaluationOutputs;

/**
 * Outputs of a large input stay small (issue 9 item 6: a million rows made a 113 MB metrics.json and a
 * 243 MB roc.svg). 100 000 rows keep this test to seconds; unthinned, its roc.svg alone would be about
 * 24 MB, and the bounds checked do not depend on N.
 */
class LargeInputTest {

    @Test
    void outputsOf100000RowsAreBounded(@TempDir Path tmp) throws Exception {
        Path input = tmp.resolve("big.csv");
        SplittableRandom rng = new SplittableRandom(5);
        int n = 100_000;
        try (BufferedWriter w = Files.newBufferedWriter(input)) {
            w.write("case_id,y,p\n");
            for (int i = 0; i < n; i++) {
                boolean y = rng.nextDouble() < 0.2;
                double p = 1 / (1 + Math.exp(-(rng.nextGaussian() + (y ? 1.5 : 0) - 1.5)));
                w.write(String.format(Locale.ROOT, "c%d,%d,%.6f%n", i, y ? 1 : 0, p));
            }
        }
        Path out = tmp.resolve("o");
        var r = EvaluateCommandTest.run(new EvaluateCommand(), "--input", input.toString(), "--label", "y",
            "--positive", "1", "--score", "p", "--out", out.toString(), "--bootstrap", "200");
        assertEquals(0, r.code(), r.err());
        JsonNode m = new ObjectMapper().readTree(out.resolve("metrics.json").toFile());
        assertEquals(n, m.at("/input/n").asInt());
        assertTrue(m.at("/scores/p/roc_points_total").asInt() > 50_000, "six-decimal scores: many distinct");
        int listed = m.at("/scores/p/roc").size();
        assertEquals(m.at("/scores/p/roc_points_listed").asInt(), listed);
        assertTrue(listed <= EvaluationOutputs.ROC_POINTS, "listed " + listed);
        assertTrue(Files.size(out.resolve("metrics.json")) < 1_000_000, "metrics.json " + Files.size(out.resolve("metrics.json")));
        for (String f : new String[]{"roc.svg", "dca.svg", "calibration.svg", "dca.csv", "report.html"}) {
            assertTrue(Files.size(out.resolve(f)) < 2_000_000, f + " " + Files.size(out.resolve(f)));
        }
    }
}
