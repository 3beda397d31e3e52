package org.renalmtl.evaluation;

import java.nio.file.Files;
import java.nio.file.Path;

import org.renalmtl.evaluation.io.CsvTable;
import org.renalmtl.evaluation.roc.RocSample;

/** Locates the shared reference data sets (data/stats of the project's shared folder) for the tests. */
public final class ReferenceData {

    private ReferenceData() {
    }

    /**
     * The shared stats directory, found by walking up from the working directory to a folder that
     * has {@code shared/data/stats} (the module runs in /work/main/evaluation, the data is in
     * /work/shared/data/stats).
     */
    public static Path statsDir() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolve("shared/data/stats");
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("shared/data/stats not found above " + Path.of("").toAbsolutePath());
    }

    /** aSAH.csv (pROC's data set, 113 patients). */
    public static CsvTable asah() {
        return CsvTable.read(statsDir().resolve("aSAH.csv"));
    }

    /** A marker of aSAH split by outcome, cases = "Poor" (pROC's levels = c("Good", "Poor")). */
    public static RocSample asahMarker(String column) {
        CsvTable t = asah();
        int out = t.column("outcome", "test");
        int col = t.column(column, "test");
        double[] scores = new double[t.rowCount()];
        boolean[] poor = new boolean[t.rowCount()];
        for (int r = 0; r < t.rowCount(); r++) {
            scores[r] = t.number(r, col);
            poor[r] = t.cell(r, out).equals("Poor");
        }
        return RocSample.of(scores, poor);
    }
}
