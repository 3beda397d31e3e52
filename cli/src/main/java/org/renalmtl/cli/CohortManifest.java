package org.renalmtl.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.renalmtl.evaluation.io.CsvTable;
import org.renalmtl.pipeline.CaseIds;

/**
 * A cohort's case list ({@code --cohort CASES.csv}), checked as a whole before any case runs: the columns the model
 * needs are there, and every case id is non-empty, one line long and unique. Such problems stop the run with one
 * line each ({@link CaseIds}). What concerns one case only (an empty cell, a file that is missing or unreadable) becomes that case's error row.
 */
final class CohortManifest {
    final CsvTable table;
    final int idColumn;
    final int[] phaseColumns;  // (phases) column of each model phase, in the config's order
    final int[] seriesColumns; // (phases) column PHASE_series, or -1 where absent
    final int maskColumn;      // -1 when a segmentation model finds the tumours

    private CohortManifest(CsvTable table, int idColumn, int[] phaseColumns, int[] seriesColumns, int maskColumn) {
        this.table = table;
        this.idColumn = idColumn;
        this.phaseColumns = phaseColumns;
        this.seriesColumns = seriesColumns;
        this.maskColumn = maskColumn;
    }

    /**
     * @param csv    the case list
     * @param phases the model's phase names
     * @param masks  whether each case names its tumour mask (false: {@code --seg-model} finds it, and a
     *               {@code mask} column would leave unclear which to use, so it is refused)
     * @return the checked list
     * @throws InputException naming the file and every problem (at most ten listed)
     */
    static CohortManifest read(Path csv, List<String> phases, boolean masks) {
        CsvTable t = CsvTable.read(csv);
        List<String> needed = new ArrayList<>(List.of("case_id"));
        needed.addAll(phases);
        if (masks) {
            needed.add("mask");
        } else if (t.hasColumn("mask")) {
            throw new InputException(csv + ": has a mask column, but --seg-model finds the tumour; drop one of them");
        }
        List<String> missing = needed.stream().filter(c -> !t.hasColumn(c)).toList();
        if (!missing.isEmpty()) {
            throw new InputException(csv + ": missing column(s) " + String.join(", ", missing) + " (a cohort list has "
                    + String.join(", ", needed) + "; optional PHASE_series)");
        }
        int id = t.column("case_id", "--cohort");
        List<String> ids = new ArrayList<>(t.rowCount());
        for (int r = 0; r < t.rowCount(); r++) {
            ids.add(t.cell(r, id));
        }
        String problems = CaseIds.check(csv.toString(), ids, r -> "line " + t.lineOf(r));
        if (problems != null) {
            throw new InputException(problems);
        }
        return new CohortManifest(t, id, phases.stream().mapToInt(p -> t.column(p, "--cohort")).toArray(),
                phases.stream().mapToInt(p -> t.hasColumn(p + "_series") ? t.column(p + "_series", "--cohort") : -1)
                        .toArray(), masks ? t.column("mask", "--cohort") : -1);
    }

    int size() {
        return table.rowCount();
    }

    String id(int row) {
        return table.cell(row, idColumn);
    }
}
