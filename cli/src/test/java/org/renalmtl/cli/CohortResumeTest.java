package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.engine.BuiltinModels;
import org.renalmtl.evaluation.io.CsvTable;

/**
 * Resuming a cohort only under the model and options that wrote it, {@code --retry-failed}, and a case list with
 * bad ids, missing columns, empty cells and missing files.
 */
class CohortResumeTest {
    @TempDir
    static Path dir;

    static Path model;
    static Path otherModel; // same architecture and results header, other weights
    static Path casesCsv;

    @BeforeAll
    static void cohort() {
        model = dir.resolve("M.h5");
        BuiltinModels.write(BuiltinModels.Kind.MTDL, 2026, model);
        otherModel = dir.resolve("other.h5");
        BuiltinModels.write(BuiltinModels.Kind.MTDL, 7, otherModel);
        Cli.ok("phantom", "--out", dir.resolve("cohort"), "--cases", 3, "--seed", 5);
        casesCsv = dir.resolve("cohort/cases.csv");
    }

    private static Cli.Run cohort(Path m, Path out, Object... more) {
        List<Object> args = new ArrayList<>(List.of("predict", "--model", m, "--cohort", casesCsv, "--out", out,
                "--device", "cpu"));
        args.addAll(List.of(more));
        return Cli.run(args.toArray());
    }

    @Test
    void anotherModelOrOtherOptionsAreRefusedAndTheFileLeftAlone() throws IOException {
        Path out = dir.resolve("provenance.csv");
        assertEquals(0, cohort(model, out).code());
        List<String> lines = Files.readAllLines(out);
        List<String> header = Arrays.asList(lines.getFirst().split(","));
        assertEquals(List.of("model_sha256", "seg_model_sha256", "engine_version", "options", "seconds"),
                header.subList(header.size() - 5, header.size()));
        CsvTable t = CsvTable.read(out);
        String sha = Cli.exec(dir, List.of("sha256sum", model.toString())).out().split(" ")[0];
        for (int r = 0; r < t.rowCount(); r++) {
            assertEquals(sha, t.cell(r, t.column("model_sha256", "test")), "sha256sum of the weight file");
            assertEquals("", t.cell(r, t.column("seg_model_sha256", "test")), "the list gave the masks");
            assertEquals(org.renalmtl.pipeline.EngineVersion.VERSION, t.cell(r, t.column("engine_version", "test")));
            assertEquals("reorient=none;label=largest;series=", t.cell(r, t.column("options", "test")));
        }
        Files.write(out, lines.subList(0, 2)); // an interrupted run: two cases to go
        byte[] before = Files.readAllBytes(out);

        Cli.assertInputError(cohort(otherModel, out), out + " line 2: written with model_sha256 '" + sha + "'",
                "never mixed");
        Cli.assertInputError(cohort(model, out, "--reorient", "ras"), out + " line 2: written with options",
                "reorient=ras");
        Cli.assertInputError(cohort(model, out, "--label", "1"), out + " line 2: written with options", "label=1");
        assertEquals(Arrays.toString(before), Arrays.toString(Files.readAllBytes(out)), "left byte for byte");

        // A file of an earlier renal-mtl, without the provenance columns: refused with what to do.
        Path old = dir.resolve("old.csv");
        List<String> oldLines = new ArrayList<>();
        for (String l : lines) {
            List<String> cells = new ArrayList<>(Arrays.asList(l.split(",", -1)));
            cells.subList(cells.size() - 5, cells.size() - 1).clear();
            oldLines.add(String.join(",", cells));
        }
        Files.write(old, oldLines);
        Cli.assertInputError(cohort(model, old), old + ": written by an earlier renal-mtl", "move it aside");

        assertEquals(0, cohort(model, out).code(), "the same model and options resume it");
        assertEquals(4, Files.readAllLines(out).size());
    }

    @Test
    void retryFailedReplacesOnlyTheErrorRows() throws IOException {
        CsvTable cases = CsvTable.read(casesCsv);
        Path venous = casesCsv.resolveSibling(cases.cell(1, cases.column("venous", "test")));
        Path saved = Files.copy(venous, dir.resolve("saved.nii.gz"));
        byte[] all = Files.readAllBytes(venous);
        Path out = dir.resolve("retry.csv");
        try {
            Files.write(venous, Arrays.copyOf(all, all.length / 2));
            assertEquals(3, cohort(model, out).code());
        } finally {
            Files.copy(saved, venous, StandardCopyOption.REPLACE_EXISTING);
        }
        String badId = cases.cell(1, cases.column("case_id", "test"));
        Map<String, String> first = CohortPartsTest.rowsById(out);
        assertTrue(first.get(badId).startsWith(badId + ",error,"), first::toString);

        Cli.Run skip = cohort(model, out);
        assertEquals(3, skip.code(), "the error row stays without --retry-failed: " + skip);
        assertTrue(skip.err().contains("1 from an earlier run: --retry-failed runs them again"), skip::toString);

        Cli.Run retry = cohort(model, out, "--retry-failed");
        assertEquals(0, retry.code(), retry::toString);
        assertTrue(retry.out().contains("1 case(s) run, 0 failed, 2 skipped"), retry::toString);
        Map<String, String> after = CohortPartsTest.rowsById(out);
        assertEquals(3, after.size());
        assertEquals(4, Files.readAllLines(out).size(), "the error row was replaced, not kept");
        assertTrue(after.get(badId).startsWith(badId + ",ok,"), after::toString);
        for (String id : first.keySet()) {
            if (!id.equals(badId)) {
                assertEquals(first.get(id), after.get(id), "ok rows are left alone");
            }
        }
        assertFalse(Cli.listing(dir).stream().anyMatch(f -> f.endsWith(".tmp")));

        // Killed after the retry's row was appended, before the error row was dropped: both rows are in the file.
        // The next run accepts that, keeps the newer row and drops the older one.
        List<String> lines = new ArrayList<>(Files.readAllLines(out));
        String okRow = lines.stream().filter(l -> l.startsWith(badId + ",")).findFirst().orElseThrow();
        String header = lines.getFirst();
        lines.remove(okRow);
        List<String> crashed = new ArrayList<>(List.of(header));
        crashed.add(first.get(badId) + ",0.1");
        crashed.addAll(lines.subList(1, lines.size()));
        crashed.add(okRow);
        Files.write(out, crashed);
        Cli.Run resumed = cohort(model, out);
        assertEquals(0, resumed.code(), resumed::toString);
        assertTrue(resumed.out().contains("0 case(s) run, 0 failed, 3 skipped"), resumed::toString);
        List<String> compacted = Files.readAllLines(out);
        assertEquals(4, compacted.size(), compacted::toString);
        assertEquals(crashed.subList(2, 5), compacted.subList(1, 4));
    }

    @Test
    void badIdsAreListedBeforeAnyWork() throws IOException {
        String cells = "," + "x.nii.gz,".repeat(3) + "m.nii.gz\n";
        StringBuilder csv = new StringBuilder("case_id,arterial,venous,delayed,mask\n");
        csv.append("a").append(cells).append(cells).append("a").append(cells);
        for (int i = 0; i < 10; i++) {
            csv.append("b").append(cells);
        }
        Path list = Files.writeString(dir.resolve("bad-ids.csv"), csv);
        Path out = dir.resolve("bad-ids-results.csv");
        Cli.Run r = Cli.run("predict", "--model", model, "--cohort", list, "--out", out, "--device", "cpu");
        assertEquals(2, r.code(), r::toString);
        List<String> err = r.err().lines().toList();
        assertEquals(List.of("renal-mtl: error: " + list + ": 11 bad case id(s); nothing was run",
                "  line 3: case_id '' is empty", "  line 4: case_id 'a' is a duplicate (first on line 2)",
                "  line 6: case_id 'b' is a duplicate (first on line 5)"), err.subList(0, 4));
        assertEquals("  ... and 1 more", err.getLast());
        assertEquals(12, err.size(), r::toString);
        assertTrue(Files.notExists(out));

        Path noMask = Files.writeString(dir.resolve("no-mask.csv"), "case_id,venous,arterial\nc1,a,v\n");
        Cli.assertInputError(Cli.run("predict", "--model", model, "--cohort", noMask, "--out", out, "--device", "cpu"),
                noMask + ": missing column(s) delayed, mask");
        assertTrue(Files.notExists(out));
    }

    @Test
    void anEmptyCellOrAMissingFileFailsThatCaseOnly() throws IOException {
        List<String> lines = Files.readAllLines(casesCsv);
        List<String> header = Arrays.asList(lines.getFirst().split(","));
        int delayed = header.indexOf("delayed");
        int mask = header.indexOf("mask");
        List<String> edited = new ArrayList<>(lines);
        String[] one = lines.get(1).split(",", -1);
        one[delayed] = "";
        edited.set(1, String.join(",", one));
        String[] two = lines.get(2).split(",", -1);
        two[mask] = "nowhere/mask.nii.gz";
        edited.set(2, String.join(",", two));
        Path list = Files.write(casesCsv.resolveSibling("holes.csv"), edited);
        Path out = dir.resolve("holes-results.csv");
        Cli.Run r = Cli.run("predict", "--model", model, "--cohort", list, "--out", out, "--device", "cpu");
        assertEquals(3, r.code(), r::toString);
        CsvTable t = CsvTable.read(out);
        assertEquals(3, t.rowCount());
        int error = t.column("error", "test");
        assertEquals(list + " line 2: no delayed given (empty cell)", t.cell(0, error));
        assertEquals(list.resolveSibling("nowhere/mask.nii.gz") + ": no such file (mask)", t.cell(1, error));
        assertEquals("ok", t.cell(2, t.column("status", "test")));
    }
}
