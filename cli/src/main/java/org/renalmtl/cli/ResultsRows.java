package org.renalmtl.cli;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.renalmtl.evaluation.io.CsvTable;
import org.renalmtl.pipeline.Provenance;

/**
 * The rows of a cohort results file, checked: each has a known status and this run's {@link Provenance}, and a case
 * id appears once, except that an error row may be followed by the row of its retry ({@code --retry-failed} appends
 * the new row first and drops the old one after, so that a crash in between loses neither).
 */
final class ResultsRows {
    final Map<String, String> status = new HashMap<>();     // case id -> status of its latest row
    final Map<String, Integer> errorLine = new HashMap<>(); // case id -> line of its (latest) error row
    final Set<Integer> superseded = new HashSet<>();        // lines of error rows a later row of their case replaced

    /**
     * @param out        the results file (its header already checked)
     * @param provenance this run's
     * @throws InputException at the first row that is not this run's or not well-formed
     */
    ResultsRows(Path out, Provenance provenance) {
        CsvTable t = CsvTable.read(out);
        int id = t.column("case_id", "--out");
        int st = t.column("status", "--out");
        int[] prov = Provenance.COLUMNS.stream().mapToInt(c -> t.column(c, "--out")).toArray();
        for (int r = 0; r < t.rowCount(); r++) {
            String s = t.cell(r, st);
            String caseId = t.cell(r, id);
            int line = t.lineOf(r);
            if (!s.equals("ok") && !s.equals("error")) {
                throw new InputException(out + " line " + line + ": status '" + clip(s)
                        + "' is neither ok nor error; not a results file of renal-mtl");
            }
            final int row = r;
            String diff = provenance.difference(java.util.Arrays.stream(prov).mapToObj(c -> t.cell(row, c)).toList());
            if (diff != null) {
                throw new InputException(out + " line " + line + ": written with " + clip(diff)
                        + "; rows of two runs are never mixed: use that model and those options, or another --out");
            }
            String before = status.put(caseId, s);
            if (before != null) {
                if (!before.equals("error")) {
                    throw new InputException(out + " line " + line + ": case_id '" + clip(caseId) + "' appears twice");
                }
                superseded.add(errorLine.remove(caseId));
            }
            if (s.equals("error")) {
                errorLine.put(caseId, line);
            }
        }
    }

    /**
     * @param out a results file whose header is not this run's
     * @return why, for the error line: an older file without provenance, another model, or another kind of file
     */
    static String whyNotOurs(Path out, List<String> header, Provenance provenance) {
        CsvTable t;
        try {
            t = CsvTable.read(out);
        } catch (RuntimeException e) {
            return "not a results file of this model";
        }
        List<String> h = t.header();
        if (h.size() > 3 && h.subList(0, 3).equals(header.subList(0, 3)) && !h.contains(Provenance.COLUMNS.getFirst())) {
            return "written by an earlier renal-mtl whose rows do not say which model wrote them, so it cannot be"
                    + " resumed; its rows stay valid for evaluate: move it aside and run into a new --out";
        }
        if (h.containsAll(Provenance.COLUMNS) && t.rowCount() > 0) {
            String diff = provenance.difference(Provenance.COLUMNS.stream().map(c -> t.cell(0, t.column(c, "--out")))
                    .toList());
            if (diff != null) {
                return "written with " + clip(diff) + "; use that model and those options, or another --out";
            }
        }
        return "not a results file of this model";
    }

    static String clip(String s) {
        String one = s.replaceAll("\\p{Cntrl}", "?");
        return one.length() > 160 ? one.substring(0, 157) + "..." : one;
    }
}
