package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.engine.BuiltinModels;
import org.renalmtl.evaluation.io.CsvTable;

/**
 * Cases prepared ahead ({@code --prefetch}) and several per forward ({@code --batch}) give the serial run's rows, in
 * list order, a damaged case and a missing file as error rows among them.
 */
class CohortOverlapTest {
    @TempDir
    static Path dir;

    static Path model;
    static Path casesCsv;
    static List<String> serial; // the rows of --prefetch 0 --batch 1, the serial runner's

    @BeforeAll
    static void cohortAndSerialRun() throws IOException {
        model = dir.resolve("M.h5");
        BuiltinModels.write(BuiltinModels.Kind.MTDL, 2026, model);
        Path cohort = dir.resolve("cohort");
        Cli.ok("phantom", "--out", cohort, "--cases", 7, "--seed", 5);
        casesCsv = cohort.resolve("cases.csv");
        CsvTable cases = CsvTable.read(casesCsv);
        Path damaged = cohort.resolve(cases.cell(2, cases.column("arterial", "test")));
        byte[] all = Files.readAllBytes(damaged);
        Files.write(damaged, Arrays.copyOf(all, all.length / 2));
        Files.delete(cohort.resolve(cases.cell(5, cases.column("mask", "test"))));
        serial = rows("serial.csv", "--prefetch", 0);
    }

    @Test
    void serialRunHasTheTwoErrorRowsInListOrder() {
        assertEquals(7, serial.size());
        for (int i = 0; i < 7; i++) {
            assertTrue(serial.get(i).startsWith("case_00" + i + "," + (i == 2 || i == 5 ? "error," : "ok,")),
                    serial.get(i));
        }
    }

    @Test
    void prefetchedRowsAreTheSerialRows() throws IOException {
        assertEquals(serial, rows("prefetch2.csv", "--prefetch", 2));
        assertEquals(serial, rows("prefetch1.csv", "--prefetch", 1));
    }

    @Test
    void batchedRowsAreTheSerialRows() throws IOException {
        // Batches of 3: [0, 1, 2 (bad)], [3, 4, 5 (missing)], [6] padded; with and without prefetching.
        assertSameUpToLastDigit(serial, rows("batch3.csv", "--batch", 3));
        assertSameUpToLastDigit(serial, rows("batch3serial.csv", "--batch", 3, "--prefetch", 0));
    }

    /**
     * Every cell equal, but a probability (p_*, 6 decimals) may be one unit of its last digit off: a batched forward
     * sums in another blocking, float32 rounding moves the result by about 1e-7, which can cross a rounding boundary.
     */
    private static void assertSameUpToLastDigit(List<String> expected, List<String> actual) {
        assertEquals(expected.size(), actual.size());
        List<String> header = CsvTable.read(dir.resolve("serial.csv")).header();
        for (int r = 0; r < expected.size(); r++) {
            String[] e = expected.get(r).split(",", -1);
            String[] a = actual.get(r).split(",", -1);
            assertEquals(e.length, a.length, actual.get(r));
            for (int c = 0; c < e.length; c++) {
                if (header.get(c).startsWith("p_") && !e[c].isEmpty()) {
                    assertEquals(Double.parseDouble(e[c]), Double.parseDouble(a[c]), 1.5e-6,
                            header.get(c) + " row " + r);
                } else {
                    assertEquals(e[c], a[c], header.get(c) + " row " + r);
                }
            }
        }
    }

    @Test
    void throughputOptionsNeedACohortAndSaneValues() {
        Cli.assertInputError(Cli.run("predict", "--model", model, "--mask", casesCsv, "--out", dir.resolve("x.json"),
                "--batch", 2), "--batch needs --cohort");
        Cli.assertInputError(Cli.run("predict", "--model", model, "--cohort", casesCsv, "--out", dir.resolve("x.csv"),
                "--prefetch", -1), "--prefetch -1: must be 0 to 64");
        Cli.assertInputError(Cli.run("predict", "--model", model, "--cohort", casesCsv, "--out", dir.resolve("x.csv"),
                "--batch", 0), "--batch 0: must be 1 to 64");
    }

    /** The results rows of one run, without the header and the {@code seconds} column (the only one that may differ). */
    private static List<String> rows(String out, Object... options) throws IOException {
        Path results = dir.resolve(out);
        Object[] args = {"predict", "--model", model, "--cohort", casesCsv, "--out", results, "--device", "cpu"};
        Object[] all = Arrays.copyOf(args, args.length + options.length);
        System.arraycopy(options, 0, all, args.length, options.length);
        Cli.Run r = Cli.run(all);
        assertEquals(3, r.code(), r::toString);
        assertTrue(r.out().contains("7 case(s) run, 2 failed, 0 skipped"), r::toString);
        List<String> lines = Files.readAllLines(results);
        return lines.subList(1, lines.size()).stream().map(l -> l.substring(0, l.lastIndexOf(','))).toList();
    }
}
