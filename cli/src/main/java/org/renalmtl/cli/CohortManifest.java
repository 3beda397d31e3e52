package org.renalmtl.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.renalmtl.evaluation.io.CsvTable;

/**
 * A cohort's case list ({@code --cohort CASES.csv}), checked as a whole before any case runs: the columns the model
 * needs are there, and every case id is non-empty, one line long and unique. Such problems stop the run with one
 * line each (at most ten, then a count), since results keyed on a broken id could not be resumed or joined. What
 * concerns one case only (an empty cell, a file that is missing or unreadable) becomes that case's error row.
 */
final class CohortManifest {
    private static final int LISTED = 10;

    final CsvTable table;
    final int idColumn;
    final int[] phaseColumns;  // (phases) column of each model phase, in the config's order
    final int[] seriesColumns; // (phases) column PHASE_series, or -1 where absent
    final int maskColumn;

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
     * @return the checked list
     * @throws InputException naming the file and every problem (at most ten listed)
     */
    static CohortManifest read(Path csv, List<String> phases) {
        CsvTable t = CsvTable.read(csv);
        List<String> needed = new ArrayList<>(List.of("case_id"));
        needed.addAll(phases);
        needed.add("mask");
        List<String> missing = needed.stream().filter(c -> !t.hasColumn(c)).toList();
        if (!missing.isEmpty()) {
            throw new InputException(csv + ": missing column(s) " + String.join(", ", missing) + " (a cohort list has "
                    + String.join(", ", needed) + "; optional PHASE_series)");
        }
        int id = t.column("case_id", "--cohort");
        List<String> problems = new ArrayList<>();
        Map<String, Integer> firstLine = new HashMap<>();
        for (int r = 0; r < t.rowCount(); r++) {
            String v = t.cell(r, id);
            Integer before = firstLine.putIfAbsent(v, t.lineOf(r));
            String problem = v.isEmpty() ? "is empty" : v.chars().anyMatch(Character::isISOControl)
                    ? "holds a control character (line break, tab, ...)"
                    : before != null ? "is a duplicate (first on line " + before + ")" : null;
            if (problem != null) {
                problems.add("line " + t.lineOf(r) + ": case_id '" + v.replaceAll("\\p{Cntrl}", "?") + "' " + problem);
            }
        }
        if (problems.size() == 1) {
            throw new InputException(csv + " " + problems.getFirst());
        }
        if (!problems.isEmpty()) {
            StringBuilder msg = new StringBuilder(csv + ": " + problems.size() + " bad case id(s); nothing was run");
            problems.stream().limit(LISTED).forEach(p -> msg.append("\n  ").append(p));
            if (problems.size() > LISTED) {
                msg.append("\n  ... and ").append(problems.size() - LISTED).append(" more");
            }
            throw new InputException(msg.toString());
        }
        return new CohortManifest(t, id, phases.stream().mapToInt(p -> t.column(p, "--cohort")).toArray(),
                phases.stream().mapToInt(p -> t.hasColumn(p + "_series") ? t.column(p + "_series", "--cohort") : -1)
                        .toArray(), t.column("mask", "--cohort"));
    }

    int size() {
        return table.rowCount();
    }

    String id(int row) {
        return table.cell(row, idColumn);
    }
}
