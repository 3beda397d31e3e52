package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.engine.BuiltinModels;
import org.renalmtl.evaluation.io.CsvTable;

/**
 * {@code predict --cohort --seg-model}: a case list without masks, each case's tumour found by the built-in phantom
 * nnU-Net. The oracle is {@code predict --seg-model} on each case alone: the same probabilities (to the six printed
 * digits), tumour components and side. Both models' SHA-256 are in every row, so a cohort segmented by one model is
 * never resumed with masks, nor with another segmentation model.
 */
class CohortSegmentationTest {
    @TempDir
    static Path dir;

    static Path model;
    static Path seg;
    static Path withMasks;    // the phantom's case list
    static Path withoutMasks; // the same without its mask column

    @BeforeAll
    static void cohort() throws IOException {
        model = dir.resolve("M.h5");
        BuiltinModels.write(BuiltinModels.Kind.MTDL, 2026, model);
        seg = dir.resolve("phantom-seg.h5");
        try (InputStream in = DemoCommand.class.getResourceAsStream("phantom-seg.h5")) {
            Files.copy(in, seg);
        }
        Cli.ok("phantom", "--out", dir.resolve("cohort"), "--cases", 3, "--seed", 11);
        withMasks = dir.resolve("cohort/cases.csv");
        List<String> lines = Files.readAllLines(withMasks);
        int mask = Arrays.asList(lines.getFirst().split(",")).indexOf("mask");
        List<String> dropped = new ArrayList<>();
        for (String l : lines) {
            List<String> cells = new ArrayList<>(Arrays.asList(l.split(",", -1)));
            cells.remove(mask);
            dropped.add(String.join(",", cells));
        }
        withoutMasks = Files.write(withMasks.resolveSibling("no-masks.csv"), dropped);
    }

    @Test
    void eachRowIsWhatPredictFindsForThatCaseAlone() throws IOException {
        Path out = dir.resolve("results.csv");
        Cli.Run run = Cli.run("predict", "--model", model, "--seg-model", seg, "--cohort", withoutMasks, "--out", out,
                "--device", "cpu");
        assertEquals(0, run.code(), run::toString);
        CsvTable rows = CsvTable.read(out);
        CsvTable cases = CsvTable.read(withoutMasks);
        assertEquals(3, rows.rowCount());
        String modelSha = sha256(model);
        String segSha = sha256(seg);
        ObjectMapper json = new ObjectMapper();
        for (int r = 0; r < 3; r++) {
            assertEquals("ok", rows.cell(r, rows.column("status", "test")), run::toString);
            assertEquals(modelSha, rows.cell(r, rows.column("model_sha256", "test")));
            assertEquals(segSha, rows.cell(r, rows.column("seg_model_sha256", "test")), "sha256sum of the seg model");
            Path one = dir.resolve("case-" + r + ".json");
            List<Object> args = new ArrayList<>(List.of("predict", "--model", model, "--seg-model", seg, "--out", one,
                    "--device", "cpu"));
            for (String phase : List.of("arterial", "venous", "delayed")) {
                args.addAll(List.of("--" + phase, withoutMasks.resolveSibling(cases.cell(r, cases.column(phase, "test")))));
            }
            Cli.ok(args.toArray());
            JsonNode report = json.readTree(one.toFile());
            for (String task : List.of("ccrcc", "stage", "renal")) {
                assertEquals(String.format(Locale.ROOT, "%.6f", report.get("tasks").get(task).get("probability")
                        .asDouble()), rows.cell(r, rows.column("p_" + task, "test")), task + " of case " + r);
            }
            JsonNode found = report.get("segmentation");
            assertEquals(found.get("tumour_components").asText(), rows.cell(r, rows.column("tumour_components", "t")));
            assertEquals(found.get("tumour_side").asText(), rows.cell(r, rows.column("tumour_side", "test")));
            assertTrue(List.of("left", "right").contains(found.get("tumour_side").asText()), found::toString);
        }

        // Masks into a segmented cohort's file: refused, the file left as it was.
        byte[] before = Files.readAllBytes(out);
        Cli.assertInputError(Cli.run("predict", "--model", model, "--cohort", withMasks, "--out", out, "--device",
                "cpu"), out + ": written with seg_model_sha256 '" + segSha + "' (this run: '')");
        Cli.assertInputError(Cli.run("predict", "--model", model, "--seg-model", model, "--cohort", withoutMasks,
                "--out", dir.resolve("never.csv"), "--device", "cpu"), model + ": ");
        assertEquals(Arrays.toString(before), Arrays.toString(Files.readAllBytes(out)));

        Cli.Run again = Cli.run("predict", "--model", model, "--seg-model", seg, "--cohort", withoutMasks, "--out", out,
                "--device", "cpu");
        assertTrue(again.out().contains("0 case(s) run, 0 failed, 3 skipped"), again::toString);
    }

    @Test
    void aMaskColumnWithASegmentationModelIsRefused() {
        Path out = dir.resolve("refused.csv");
        Cli.assertInputError(Cli.run("predict", "--model", model, "--seg-model", seg, "--cohort", withMasks, "--out",
                out, "--device", "cpu"), withMasks + ": has a mask column, but --seg-model finds the tumour");
        Cli.assertInputError(Cli.run("predict", "--model", model, "--seg-model", seg, "--cohort", withoutMasks,
                "--save-mask", dir.resolve("m.nii.gz"), "--out", out, "--device", "cpu"), "--save-mask needs");
        assertTrue(Files.notExists(out));
    }

    static String sha256(Path f) {
        return Cli.exec(dir, List.of("sha256sum", f.toString())).out().split(" ")[0];
    }
}
