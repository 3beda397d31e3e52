package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.evaluation.roc.DeLong;
import org.renalmtl.evaluation.roc.RocSample;

/** End-to-end runs of {@code mrmc} on the VanDyke data, a model comparison, and bad input. */
class MrmcCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static String[] args(Path input, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("--input", input.toString(), "--reader", "reader", "--test", "treatment",
            "--case", "case", "--truth", "truth", "--rating", "rating", "--out", out.toString()));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void vanDykeMatchesMrmcaov(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("mrmc");
        var r = EvaluateCommandTest.run(new MrmcCommand(), args(EvaluateCommandTest.statsDir().resolve("VanDyke_MRMCaov.csv"), out));
        assertEquals(0, r.code(), r.err());
        JsonNode m = JSON.readTree(out.resolve("mrmc.json").toFile());
        // MRMCaov README 0.1.8, jackknife, random readers and cases (7 printed digits)
        assertEquals(4.456319, m.at("/F").asDouble(), 5e-7);
        assertEquals(1, m.at("/df1").asDouble());
        assertEquals(15.25967, m.at("/df2").asDouble(), 5e-6);
        assertEquals(0.05166569, m.at("/p").asDouble(), 5e-9);
        assertEquals(0.8970370, m.at("/test_means/0/mean_auc").asDouble(), 5e-8);
        assertEquals(0.8252236, m.at("/test_means/0/ci/0").asDouble(), 5e-8);
        assertEquals(0.9875369, m.at("/test_means/1/ci/1").asDouble(), 5e-8);
        assertEquals(0.02074862, m.at("/differences/0/se").asDouble(), 5e-9);
        assertEquals(-0.0879594986, m.at("/differences/0/ci/0").asDouble(), 5e-11);
        assertTrue(Files.size(out.resolve("mrmc_roc.png")) > 1000);
        assertTrue(Files.exists(out.resolve("mrmc_roc.svg")));
        assertTrue(Files.readString(out.resolve("report.html")).contains("data:image/png;base64,"));
        assertTrue(r.out().contains("F = 4.456319"), r.out());
    }

    @Test
    void modelIsComparedWithEachReader(@TempDir Path tmp) throws Exception {
        // Add a "model" reader whose score is reader 1's treatment-2 rating plus a small case-specific jitter.
        List<String> lines = Files.readAllLines(EvaluateCommandTest.statsDir().resolve("VanDyke_MRMCaov.csv"));
        List<String> withModel = new ArrayList<>(lines);
        for (String l : lines.subList(1, lines.size())) {
            String[] f = l.split(",");
            if (f[0].equals("1") && f[1].equals("2")) {
                double score = Double.parseDouble(f[4]) + Integer.parseInt(f[2]) * 1e-4;
                for (String t : List.of("1", "2")) {
                    withModel.add("model," + t + "," + f[2] + "," + f[3] + "," + score);
                }
            }
        }
        Path input = tmp.resolve("ratings.csv");
        Files.write(input, withModel);
        Path out = tmp.resolve("o");
        var r = EvaluateCommandTest.run(new MrmcCommand(), args(input, out, "--model-reader", "model"));
        assertEquals(0, r.code(), r.err());
        JsonNode m = JSON.readTree(out.resolve("mrmc.json").toFile());
        assertEquals(5, m.at("/readers").asInt(), "the model is not one of the readers");
        assertEquals(4.456319, m.at("/F").asDouble(), 5e-7);
        JsonNode vs = m.at("/model/versus_readers");
        assertEquals(10, vs.size());
        // Recompute model vs reader 2 under test 1 with the library directly.
        double[] model = new double[114];
        double[] reader2 = new double[114];
        boolean[] truth = new boolean[114];
        for (String l : lines.subList(1, lines.size())) {
            String[] f = l.split(",");
            int c = Integer.parseInt(f[2]) - 1;
            if (f[0].equals("1") && f[1].equals("2")) {
                model[c] = Double.parseDouble(f[4]) + (c + 1) * 1e-4;
            }
            if (f[0].equals("2") && f[1].equals("1")) {
                reader2[c] = Double.parseDouble(f[4]);
                truth[c] = f[3].equals("1");
            }
        }
        DeLong.PairedTest expected = DeLong.pairedTest(RocSample.of(model, truth), RocSample.of(reader2, truth), 0.95);
        JsonNode row = vs.get(1);
        assertEquals("2", row.at("/reader").asText());
        assertEquals("1", row.at("/test").asText());
        assertEquals(expected.z(), row.at("/z").asDouble(), 1e-12);
        assertEquals(expected.p(), row.at("/p").asDouble(), 1e-12);
    }

    @Test
    void readerWithoutRatingsIsAnError(@TempDir Path tmp) throws Exception {
        List<String> lines = Files.readAllLines(EvaluateCommandTest.statsDir().resolve("VanDyke_MRMCaov.csv"));
        List<String> kept = new ArrayList<>();
        kept.add(lines.getFirst());
        for (String l : lines.subList(1, lines.size())) {
            if (!(l.startsWith("3,2,"))) { // reader 3 has no treatment-2 ratings
                kept.add(l);
            }
        }
        Path input = tmp.resolve("r.csv");
        Files.write(input, kept);
        Path out = tmp.resolve("never");
        EvaluateCommandTest.assertError(EvaluateCommandTest.run(new MrmcCommand(), args(input, out)),
            "reader '3' has no ratings for test '2'", out);

        Path out2 = tmp.resolve("never2");
        EvaluateCommandTest.assertError(EvaluateCommandTest.run(new MrmcCommand(), "--input", input.toString(),
            "--reader", "reader", "--test", "modality", "--case", "case", "--truth", "truth", "--rating", "rating",
            "--out", out2.toString()), "no column 'modality' (--test)", out2);

        List<String> bad = new ArrayList<>(lines);
        bad.set(5, bad.get(5).replaceFirst(",0,", ",2,").replaceFirst(",1,(\\d)$", ",2,$1"));
        Path input3 = tmp.resolve("r3.csv");
        Files.write(input3, bad);
        var r3 = EvaluateCommandTest.run(new MrmcCommand(), args(input3, tmp.resolve("never3")));
        assertEquals(2, r3.code(), r3.err());
        assertTrue(r3.err().contains("truth"), r3.err());
    }
}
