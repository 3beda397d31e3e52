package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.engine.BuiltinModels;
import org.renalmtl.evaluation.io.CsvTable;

/**
 * A cohort run as a user meets it: 20 phantom cases, one with a damaged file, an interrupted run that
 * is resumed, and the results fed to {@code evaluate}.
 */
class CohortTest {
    @TempDir
    static Path dir;

    static Path model;

    @BeforeAll
    static void writeModel() {
        model = dir.resolve("M.h5");
        BuiltinModels.write(BuiltinModels.Kind.MTDL, 2026, model);
    }

    @Test
    void cohortWithADamagedCaseIsResumableAndEvaluable() throws IOException {
        Path cohort = dir.resolve("cohort");
        Cli.ok("phantom", "--out", cohort, "--cases", 20, "--seed", 3);
        Path casesCsv = cohort.resolve("cases.csv");
        CsvTable cases = CsvTable.read(casesCsv);
        assertEquals(20, cases.rowCount());

        // Damage case 3's venous phase (first half of the gzip stream only).
        String badId = cases.cell(3, cases.column("case_id", "test"));
        Path badFile = cohort.resolve(cases.cell(3, cases.column("venous", "test")));
        byte[] all = Files.readAllBytes(badFile);
        Files.write(badFile, Arrays.copyOf(all, all.length / 2));

        Path results = dir.resolve("results.csv");
        Cli.Run first = Cli.run("predict", "--model", model, "--cohort", casesCsv, "--out", results, "--device", "cpu");
        assertEquals(3, first.code(), "some case failed: " + first);
        assertTrue(first.out().contains("20 case(s) run, 1 failed, 0 skipped"), first::toString);
        assertTrue(first.err().contains("renal-mtl: error: 1 of 20 case(s) have an error row in " + results), first::toString);
        CsvTable r1 = CsvTable.read(results);
        assertEquals(20, r1.rowCount(), first::toString);
        int status = r1.column("status", "test");
        int error = r1.column("error", "test");
        int id = r1.column("case_id", "test");
        List<Integer> failed = new ArrayList<>();
        for (int i = 0; i < r1.rowCount(); i++) {
            if (!r1.cell(i, status).equals("ok")) {
                failed.add(i);
            }
        }
        assertEquals(1, failed.size(), "exactly one error row");
        int bad = failed.getFirst();
        assertEquals("error", r1.cell(bad, status));
        assertEquals(badId, r1.cell(bad, id));
        assertTrue(r1.cell(bad, error).startsWith(badFile + ": truncated"), "error names the file: " + r1.cell(bad, error));
        for (String task : List.of("ccrcc", "stage", "renal")) {
            int p = r1.column("p_" + task, "test");
            for (int i = 0; i < r1.rowCount(); i++) {
                if (i != bad) {
                    double v = Double.parseDouble(r1.cell(i, p));
                    assertTrue(v >= 0 && v <= 1, "p_" + task + " row " + i);
                }
            }
        }

        // Interruption: the last 5 rows never made it to the file.
        List<String> lines = Files.readAllLines(results);
        assertEquals(21, lines.size());
        List<String> kept = lines.subList(0, 16);
        List<String> lost = lines.subList(16, 21);
        Files.write(results, kept);
        Cli.Run second = Cli.run("predict", "--model", model, "--cohort", casesCsv, "--out", results, "--device", "cpu");
        assertEquals(3, second.code(), "the error row is still there: " + second);
        assertTrue(second.err().contains("already holds 15 case(s)"), second::toString);
        assertTrue(second.out().contains("5 case(s) run, 0 failed, 15 skipped"), second::toString);
        assertEquals(5, second.err().lines().filter(l -> l.matches("\\[\\d/5] case_\\d+ ok \\(\\d+\\.\\d s\\)")).count(), second::toString);
        List<String> after = Files.readAllLines(results);
        assertEquals(21, after.size());
        assertEquals(kept, after.subList(0, 16), "rows already there are left alone");
        for (int i = 0; i < 5; i++) {
            // Same case, same model: identical row except the last column (wall-clock seconds).
            assertEquals(withoutLastColumn(lost.get(i)), withoutLastColumn(after.get(16 + i)));
        }
        CsvTable r2 = CsvTable.read(results);
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < r2.rowCount(); i++) {
            ids.add(r2.cell(i, r2.column("case_id", "test")));
        }
        assertEquals(20, ids.size(), "20 unique case ids");

        // A third run finds nothing to do.
        Cli.Run third = Cli.run("predict", "--model", model, "--cohort", casesCsv, "--out", results, "--device", "cpu");
        assertEquals(3, third.code(), "the error row is still there: " + third);
        assertTrue(third.out().contains("0 case(s) run, 0 failed, 20 skipped"), third::toString);
        assertEquals(after, Files.readAllLines(results));

        // Killed while writing a row: the file ends inside the last row. That case is run again, nothing else.
        List<String> complete = Files.readAllLines(results);
        byte[] bytes = Files.readAllBytes(results);
        Files.write(results, Arrays.copyOf(bytes, bytes.length - 30));
        Cli.Run fourth = Cli.run("predict", "--model", model, "--cohort", casesCsv, "--out", results, "--device", "cpu");
        assertEquals(3, fourth.code(), "the error row is still there: " + fourth);
        assertTrue(fourth.err().contains("removed an unfinished last row"), fourth::toString);
        assertTrue(fourth.out().contains("1 case(s) run, 0 failed, 19 skipped"), fourth::toString);
        List<String> repaired = Files.readAllLines(results);
        assertEquals(21, repaired.size(), fourth::toString);
        assertEquals(complete.subList(0, 20), repaired.subList(0, 20));
        assertEquals(withoutLastColumn(complete.get(20)), withoutLastColumn(repaired.get(20)));

        // evaluate: results joined with labels on case_id (label: the phantom's true R.E.N.A.L. R of 3).
        CsvTable truth = CsvTable.read(cohort.resolve("truth.csv"));
        StringBuilder labels = new StringBuilder("case_id,high_r\n");
        for (int i = 0; i < truth.rowCount(); i++) {
            labels.append(truth.cell(i, truth.column("case_id", "test"))).append(',')
                    .append(truth.cell(i, truth.column("renal_r", "test")).equals("3") ? 1 : 0).append('\n');
        }
        Path labelsCsv = Files.writeString(dir.resolve("labels.csv"), labels);
        // The failed case has no score: evaluate leaves it out, says so on stderr, and evaluates the 19 others.
        Path evalDir = dir.resolve("eval");
        Cli.Run ev = Cli.run("evaluate", "--input", results, "--labels", labelsCsv, "--on", "case_id", "--label",
                "high_r", "--positive", "1", "--score", "p_renal", "--bootstrap", 200, "--out", evalDir);
        assertEquals(0, ev.code(), ev::toString);
        assertTrue(ev.err().contains("leaving out 1 case(s) whose status is not ok"), ev::toString);
        assertTrue(Files.isRegularFile(evalDir.resolve("metrics.json")), ev::toString);
        assertFalse(Cli.listing(evalDir).stream().anyMatch(f -> f.endsWith(".tmp")));
    }

    private static String withoutLastColumn(String line) {
        return line.substring(0, line.lastIndexOf(','));
    }
}
