package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.engine.BuiltinModels;

/** {@code --part K/N}: parts chosen by a hash of the case id, whose results together are the whole run's. */
class CohortPartsTest {
    @TempDir
    static Path dir;

    static Path model;
    static Path casesCsv;

    @BeforeAll
    static void cohort() {
        model = dir.resolve("M.h5");
        BuiltinModels.write(BuiltinModels.Kind.MTDL, 2026, model);
        Cli.ok("phantom", "--out", dir.resolve("cohort"), "--cases", 6, "--seed", 11);
        casesCsv = dir.resolve("cohort/cases.csv");
    }

    @Test
    void threePartsTogetherAreTheWholeRunRowForRow() throws IOException {
        Path whole = dir.resolve("whole.csv");
        Cli.ok("predict", "--model", model, "--cohort", casesCsv, "--out", whole, "--device", "cpu");
        Map<String, String> wholeRows = rowsById(whole);
        assertEquals(6, wholeRows.size());

        Map<String, String> joined = new TreeMap<>();
        Map<String, Integer> partOf = new TreeMap<>();
        for (int k = 1; k <= 3; k++) {
            Path part = dir.resolve("part" + k + ".csv");
            Cli.Run r = Cli.run("predict", "--model", model, "--cohort", casesCsv, "--out", part, "--part", k + "/3",
                    "--device", "cpu");
            assertEquals(0, r.code(), r::toString);
            if (!Files.exists(part)) {
                continue; // an empty part writes no file (as any run that adds no row)
            }
            assertEquals(List.of(Files.readAllLines(whole).getFirst()), Files.readAllLines(part).subList(0, 1));
            for (Map.Entry<String, String> e : rowsById(part).entrySet()) {
                assertEquals(null, joined.put(e.getKey(), e.getValue()), "case " + e.getKey() + " in two parts");
                partOf.put(e.getKey(), k);
            }
        }
        assertEquals(wholeRows, joined, "the parts' rows (but the seconds taken) are the whole run's");
        assertTrue(partOf.values().stream().distinct().count() > 1, "six cases do not all hash to one part: " + partOf);

        // The part is a function of the id alone, as the README states it (checked against Python's hashlib).
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", "-c", "import hashlib, sys\n"
                + "for i in sys.argv[1:]: print(i, int(hashlib.sha256(i.encode()).hexdigest()[:16], 16) % 3 + 1)"));
        cmd.addAll(partOf.keySet());
        Cli.Run py = Cli.exec(dir, cmd);
        assertEquals(0, py.code(), py::toString);
        StringBuilder want = new StringBuilder();
        partOf.forEach((id, k) -> want.append(id).append(' ').append(k).append('\n'));
        assertEquals(want.toString(), py.out());
    }

    @Test
    void aBadPartIsAUsageError() {
        Path out = dir.resolve("never.csv");
        for (String spec : List.of("0/3", "4/3", "1/0", "1-3", "x/3", "1/3/3")) {
            Cli.Run r = Cli.run("predict", "--model", model, "--cohort", casesCsv, "--out", out, "--part", spec,
                    "--device", "cpu");
            Cli.assertInputError(r, "--part " + spec + ": ");
        }
        Cli.assertInputError(Cli.run("predict", "--model", model, "--out", out, "--part", "1/2"), "--part needs --cohort");
        assertTrue(Files.notExists(out));
    }

    /** Rows of a results file by case id, without the last column (wall-clock seconds). */
    static Map<String, String> rowsById(Path results) throws IOException {
        Map<String, String> rows = new TreeMap<>();
        for (String line : Files.readAllLines(results).subList(1, Files.readAllLines(results).size())) {
            assertEquals(null, rows.put(line.substring(0, line.indexOf(',')), line.substring(0, line.lastIndexOf(','))));
        }
        return rows;
    }
}
