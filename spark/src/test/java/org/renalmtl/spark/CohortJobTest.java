package org.renalmtl.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.cli.Main;
import org.renalmtl.engine.BuiltinModels;

/**
 * The Spark job on a local master with two executor threads, against the single-machine cohort runner as the oracle:
 * six phantom cases (one with a truncated file), run in two steps (three cases, then the whole manifest, which skips
 * the three already there), give the cohort runner's CSV row for row, every cell but the wall-clock seconds
 * (probabilities to the six printed digits, the error row's message naming the same file). A rerun runs nothing;
 * other options on the same output are refused; a Parquet manifest gives the same rows. {@code --retry-failed}
 * replaces error rows as the cohort runner does, and {@code --seg-model} segments as it does.
 */
class CohortJobTest {
    @TempDir
    static Path dir;

    static SparkSession spark;
    static Path model;
    static Path cases;
    static List<String> cohortLines; // the single-machine run's results.csv

    @BeforeAll
    static void cohortAndSpark() throws IOException {
        model = dir.resolve("M.h5");
        BuiltinModels.write(BuiltinModels.Kind.MTDL, 2026, model);
        Path cohort = dir.resolve("cohort");
        assertEquals(0, Main.commandLine().execute("phantom", "--out", cohort.toString(), "--cases", "6", "--seed",
                "5"));
        cases = cohort.resolve("cases.csv");
        List<String> lines = Files.readAllLines(cases);
        List<String> header = Arrays.asList(lines.getFirst().split(","));
        // Case 2's venous phase loses the second half of its gzip stream: an error row naming the file.
        Path bad = cohort.resolve(lines.get(3).split(",")[header.indexOf("venous")]);
        byte[] all = Files.readAllBytes(bad);
        Files.write(bad, Arrays.copyOf(all, all.length / 2));

        Path results = dir.resolve("cohort-results.csv");
        assertEquals(3, Main.commandLine().execute("predict", "--model", model.toString(), "--cohort",
                cases.toString(), "--out", results.toString(), "--device", "cpu"));
        cohortLines = Files.readAllLines(results);
        assertEquals(7, cohortLines.size());
        spark = SparkSession.builder().master("local[2]").appName("renal-mtl test")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
                .config("spark.driver.host", "127.0.0.1").getOrCreate();
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    @Test
    void sparkRowsEqualTheCohortRunnersAndRerunsAreIdempotent() throws IOException {
        Path firstThree = Files.write(cases.resolveSibling("first-three.csv"),
                Files.readAllLines(cases).subList(0, 4));
        String out = dir.resolve("results.parquet").toString();
        Path csv = dir.resolve("results.csv");
        assertEquals(3, CohortJob.run(spark, options(firstThree, out, csv, "none")), "case 2 is among the first three");
        assertEquals(4, Files.readAllLines(csv).size());

        assertEquals(3, CohortJob.run(spark, options(cases, out, csv, "none")), "case 2 has an error row");
        assertSameRows(cohortLines, Files.readAllLines(csv));
        assertEquals(6, spark.read().parquet(out).count());

        assertEquals(3, CohortJob.run(spark, options(cases, out, csv, "none")));
        assertEquals(6, spark.read().parquet(out).count(), "a rerun adds nothing");
        assertSameRows(cohortLines, Files.readAllLines(csv));

        JobInputException other = assertThrows(JobInputException.class,
                () -> CohortJob.run(spark, options(cases, out, null, "ras")));
        assertTrue(other.getMessage().startsWith(out + ": written with options 'reorient=none;label=largest;series='"
                + " (this run: 'reorient=ras;label=largest;series=')"), other.getMessage());
    }

    @Test
    void aParquetManifestGivesTheSameRows() throws IOException {
        Path manifest = cases.resolveSibling("cases.parquet");
        spark.read().option("header", "true").csv(cases.toString()).write().parquet(manifest.toString());
        Path csv = dir.resolve("from-parquet.csv");
        assertEquals(3, CohortJob.run(spark, options(manifest, dir.resolve("p.parquet").toString(), csv, "none")));
        assertSameRows(cohortLines, Files.readAllLines(csv));
    }

    @Test
    void badManifestsStopBeforeAnyWork() throws IOException {
        Path dup = Files.write(cases.resolveSibling("dup.csv"), List.of(Files.readAllLines(cases).get(0),
                Files.readAllLines(cases).get(1), Files.readAllLines(cases).get(1)));
        String out = dir.resolve("never.parquet").toString();
        JobInputException e = assertThrows(JobInputException.class,
                () -> CohortJob.run(spark, options(dup, out, null, "none")));
        assertTrue(e.getMessage().matches(".*dup\\.csv line 3: case_id '[^']+' is a duplicate \\(first on line 2\\)"),
                e.getMessage());
        Path noMask = Files.write(cases.resolveSibling("nomask.csv"), List.of("case_id,arterial,venous,delayed"));
        e = assertThrows(JobInputException.class, () -> CohortJob.run(spark, options(noMask, out, null, "none")));
        assertTrue(e.getMessage().startsWith(noMask + ": missing column(s) mask"), e.getMessage());
        assertTrue(Files.notExists(Path.of(out)), "nothing written");
    }

    @Test
    void retryFailedReplacesTheErrorRowsAsTheCohortRunnerDoes() throws IOException {
        Path cohort = dir.resolve("retry");
        assertEquals(0, Main.commandLine().execute("phantom", "--out", cohort.toString(), "--cases", "3", "--seed",
                "9"));
        Path list = cohort.resolve("cases.csv");
        List<String> lines = Files.readAllLines(list);
        Path venous = cohort.resolve(lines.get(2).split(",")[Arrays.asList(lines.getFirst().split(",")).indexOf(
                "venous")]);
        byte[] all = Files.readAllBytes(venous);
        String out = dir.resolve("retry.parquet").toString();
        Path csv = dir.resolve("retry.csv");
        Files.write(venous, Arrays.copyOf(all, all.length / 2));
        assertEquals(3, CohortJob.run(spark, options(list, out, csv, "none")));
        Files.write(venous, all);
        assertEquals(3, CohortJob.run(spark, options(list, out, csv, "none")), "the error row stays without retry");

        JobOptions retry = options(list, out, csv, "none");
        retry = new JobOptions(retry.cases(), retry.model(), null, out, retry.csv(), "cpu", "none", null, 0, true);
        assertEquals(0, CohortJob.run(spark, retry));
        assertEquals(3, spark.read().parquet(out).count(), "the error row was replaced, not kept");
        Path oracle = dir.resolve("retry-cohort.csv");
        assertEquals(0, Main.commandLine().execute("predict", "--model", model.toString(), "--cohort", list.toString(),
                "--out", oracle.toString(), "--device", "cpu"));
        assertSameRows(Files.readAllLines(oracle), Files.readAllLines(csv));
        for (String leftover : List.of("retried", "next", "prev")) {
            assertTrue(Files.notExists(Path.of(out + "." + leftover)), leftover);
        }

        // Killed between the two renames: the results are in NAME.next and --out is gone; the next job puts them back.
        Files.move(Path.of(out), Path.of(out + ".next"));
        assertEquals(0, CohortJob.run(spark, options(list, out, csv, "none")));
        assertEquals(3, spark.read().parquet(out).count(), "nothing ran again");
        assertSameRows(Files.readAllLines(oracle), Files.readAllLines(csv));
        assertTrue(Files.notExists(Path.of(out + ".next")));
    }

    @Test
    void aSegmentationModelFindsTheTumoursAsTheCohortRunnerDoes() throws IOException {
        Path seg = dir.resolve("phantom-seg.h5");
        try (InputStream in = Main.class.getResourceAsStream("phantom-seg.h5")) {
            Files.copy(in, seg);
        }
        Path cohort = dir.resolve("segmented");
        assertEquals(0, Main.commandLine().execute("phantom", "--out", cohort.toString(), "--cases", "3", "--seed",
                "11"));
        List<String> lines = Files.readAllLines(cohort.resolve("cases.csv"));
        int mask = Arrays.asList(lines.getFirst().split(",")).indexOf("mask");
        List<String> dropped = new ArrayList<>();
        for (String l : lines) {
            List<String> cells = new ArrayList<>(Arrays.asList(l.split(",", -1)));
            cells.remove(mask);
            dropped.add(String.join(",", cells));
        }
        Path list = Files.write(cohort.resolve("no-masks.csv"), dropped);
        Path oracle = dir.resolve("segmented-cohort.csv");
        assertEquals(0, Main.commandLine().execute("predict", "--model", model.toString(), "--seg-model",
                seg.toString(), "--cohort", list.toString(), "--out", oracle.toString(), "--device", "cpu"));
        Path csv = dir.resolve("segmented.csv");
        JobOptions o = new JobOptions(list.toString(), model.toString(), seg.toString(),
                dir.resolve("segmented.parquet").toString(), csv.toString(), "cpu", "none", null, 0, false);
        assertEquals(0, CohortJob.run(spark, o));
        assertSameRows(Files.readAllLines(oracle), Files.readAllLines(csv));

        JobOptions withMasks = new JobOptions(cohort.resolve("cases.csv").toString(), model.toString(), seg.toString(),
                dir.resolve("never-seg.parquet").toString(), null, "cpu", "none", null, 0, false);
        JobInputException e = assertThrows(JobInputException.class, () -> CohortJob.run(spark, withMasks));
        assertTrue(e.getMessage().contains("has a mask column, but --seg-model finds the tumour"), e.getMessage());
    }

    /**
     * Manifest, images, masks, weights and results on a file system other than {@code file:}, known only to the
     * driver's Hadoop configuration: the rows are the cohort runner's, but that the damaged file's error names its
     * {@code casefs:} URI.
     */
    @Test
    void filesOnAnotherFileSystemAreReachedWithTheDriversConfiguration() throws IOException {
        spark.sparkContext().hadoopConfiguration().set("fs." + CaseFileSystem.SCHEME + ".impl",
                CaseFileSystem.class.getName());
        String on = CaseFileSystem.SCHEME + "://";
        String out = on + dir.resolve("elsewhere.parquet");
        Path csv = dir.resolve("elsewhere.csv");
        JobOptions o = new JobOptions(on + cases, on + model, null, out, on + csv, "cpu", "none", null, 0, false);
        assertEquals(3, CohortJob.run(spark, o));
        List<String> rows = Files.readAllLines(csv);
        assertEquals(cohortLines.size(), rows.size());
        for (int i = 0; i < rows.size(); i++) {
            // Hadoop names a URI without authority casefs:/path.
            String expected = cohortLines.get(i).replace(cases.getParent().toString(), CaseFileSystem.SCHEME + ":"
                    + cases.getParent());
            assertEquals(expected.substring(0, expected.lastIndexOf(',')), rows.get(i).substring(0,
                    rows.get(i).lastIndexOf(',')), "row " + i);
        }
        assertTrue(String.join("\n", rows).contains(CaseFileSystem.SCHEME + ":" + cases.getParent()),
                "the error names the casefs: URI");
    }

    private static JobOptions options(Path manifest, String out, Path csv, String reorient) {
        return new JobOptions(manifest.toString(), model.toString(), null, out, csv == null ? null : csv.toString(),
                "cpu", reorient, null, 0, false);
    }

    /** Every cell equal but the last, the case's wall-clock seconds. */
    private static void assertSameRows(List<String> expected, List<String> actual) {
        assertEquals(expected.size(), actual.size(), () -> String.join("\n", actual));
        for (int i = 0; i < expected.size(); i++) {
            String e = expected.get(i);
            String a = actual.get(i);
            if (i == 0) {
                assertEquals(e, a, "header");
            } else {
                assertEquals(e.substring(0, e.lastIndexOf(',')), a.substring(0, a.lastIndexOf(',')), "row " + i);
            }
        }
    }
}
