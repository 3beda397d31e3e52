package org.renalmtl.evaluation;

import java.nio.file.Path;

import org.renalmtl.evaluation.io.CsvTable;
import org.renalmtl.evaluation.roc.RocSample;

/** The statistics reference data sets (testdata/stats, provenance in testdata/README.md) for the tests. */
public final class ReferenceData {

    private ReferenceData() {
    }

    /** testdata/stats of the repository (or $RENAL_MTL_DATA/stats), as the build passes it. */
    public static Path statsDir() {
        return Path.of(System.getProperty("renalmtl.testdata", "../testdata"), "stats");
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
