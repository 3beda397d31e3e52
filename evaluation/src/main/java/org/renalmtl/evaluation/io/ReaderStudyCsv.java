package org.renalmtl.evaluation.io;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.renalmtl.evaluation.EvaluationInputException;
import org.renalmtl.evaluation.mrmc.ReaderStudy;

/**
 * Builds a {@link ReaderStudy} from a long-format ratings table (one row per reader × test × case, as
 * MRMCaov's data frames), checking that the design is fully crossed and the truth consistent.
 */
public final class ReaderStudyCsv {

    /**
     * Column names and the truth value that marks a diseased case.
     *
     * @param reader   reader column
     * @param test     test (modality) column
     * @param caseId   case column
     * @param truth    truth column
     * @param rating   rating column
     * @param positive truth value of a positive case
     */
    public record Columns(String reader, String test, String caseId, String truth, String rating, String positive) {
    }

    /**
     * A study with, optionally, the model's scores split off (rows whose reader is the model's name).
     *
     * @param study       the human readers
     * @param modelScores (T, C) model scores per test and case, or null when no model was named
     */
    public record Loaded(ReaderStudy study, double[][] modelScores) {
    }

    private ReaderStudyCsv() {
    }

    /**
     * Reads the study.
     *
     * @param table     the ratings table
     * @param cols      column names
     * @param modelName reader label of the model's rows, or null
     * @throws EvaluationInputException on a missing column, a truth column without exactly two classes
     *                                  (or with the positive value missing), inconsistent truth, a
     *                                  non-numeric rating, a duplicate row, a reader without (all) ratings,
     *                                  fewer than two cases of a class, or fewer than two readers
     */
    public static Loaded read(CsvTable table, Columns cols, String modelName) {
        int cr = table.column(cols.reader(), "--reader");
        int ct = table.column(cols.test(), "--test");
        int cc = table.column(cols.caseId(), "--case");
        int cy = table.column(cols.truth(), "--truth");
        int cv = table.column(cols.rating(), "--rating");
        if (table.rowCount() == 0) {
            throw new EvaluationInputException(table.source() + ": no data rows");
        }
        Map<String, Integer> tests = new LinkedHashMap<>();
        Map<String, Integer> readers = new LinkedHashMap<>();
        Map<String, Integer> cases = new LinkedHashMap<>();
        Map<String, String> truthOf = new HashMap<>();
        Map<String, Integer> truthLine = new HashMap<>();
        List<String> classes = new ArrayList<>();
        for (int r = 0; r < table.rowCount(); r++) {
            String reader = table.cell(r, cr);
            String test = table.cell(r, ct);
            String id = table.cell(r, cc);
            String y = table.cell(r, cy);
            if (CsvTable.isMissing(reader) || CsvTable.isMissing(test) || CsvTable.isMissing(id)
                || CsvTable.isMissing(y)) {
                throw new EvaluationInputException(table.source() + ": line " + table.lineOf(r)
                    + ": missing (empty or NA) reader, test, case or truth");
            }
            if (!classes.contains(y)) {
                classes.add(y);
                if (classes.size() > 2) {
                    throw new EvaluationInputException(table.source() + ": column '" + cols.truth()
                        + "' has more than two classes (" + String.join(", ", classes) + ")");
                }
            }
            String previous = truthOf.putIfAbsent(id, y);
            if (previous == null) {
                truthLine.put(id, table.lineOf(r));
            } else if (!previous.equals(y)) {
                throw new EvaluationInputException(table.source() + ": line " + table.lineOf(r) + ": case '" + id
                    + "' has truth '" + y + "' but '" + previous + "' on line " + truthLine.get(id));
            }
            tests.putIfAbsent(test, tests.size());
            cases.putIfAbsent(id, cases.size());
            if (!reader.equals(modelName)) {
                readers.putIfAbsent(reader, readers.size());
            }
        }
        if (classes.size() < 2) {
            throw new EvaluationInputException(table.source() + ": column '" + cols.truth()
                + "' has one class only ('" + classes.getFirst() + "')");
        }
        if (!classes.contains(cols.positive())) {
            throw new EvaluationInputException(table.source() + ": column '" + cols.truth() + "' has no value '"
                + cols.positive() + "' (--positive); values are " + String.join(", ", classes));
        }
        int nt = tests.size();
        int nr = readers.size();
        int nc = cases.size();
        if (nr < 2) {
            throw new EvaluationInputException(table.source() + ": column '" + cols.reader()
                + "' has " + nr + " reader(s); an MRMC analysis needs at least 2");
        }
        // The arrays below hold every test × reader × case. A fully crossed file has exactly that many
        // rows; one whose labels would need far more (say, a unique reader per row) cannot be crossed,
        // and allocating for it could exhaust memory, so it is refused by counting alone.
        long cells = (long) nt * nr * nc;
        if (cells > 4L * table.rowCount()) {
            throw new EvaluationInputException(table.source() + ": not a fully crossed design: " + nt + " test(s) × "
                + nr + " readers × " + nc + " cases need " + cells + " ratings, but the file has " + table.rowCount()
                + " rows");
        }
        double[][][] ratings = new double[nt][nr][nc];
        boolean[][][] seen = new boolean[nt][nr][nc];
        double[][] model = modelName == null ? null : new double[nt][nc];
        boolean[][] modelSeen = modelName == null ? null : new boolean[nt][nc];
        for (int r = 0; r < table.rowCount(); r++) {
            String reader = table.cell(r, cr);
            int t = tests.get(table.cell(r, ct));
            int c = cases.get(table.cell(r, cc));
            double v = table.number(r, cv);
            if (reader.equals(modelName)) {
                if (modelSeen[t][c]) {
                    throw duplicate(table, r);
                }
                modelSeen[t][c] = true;
                model[t][c] = v;
                continue;
            }
            int rd = readers.get(reader);
            if (seen[t][rd][c]) {
                throw duplicate(table, r);
            }
            seen[t][rd][c] = true;
            ratings[t][rd][c] = v;
        }
        List<String> testNames = List.copyOf(tests.keySet());
        List<String> readerNames = List.copyOf(readers.keySet());
        List<String> caseNames = List.copyOf(cases.keySet());
        for (int t = 0; t < nt; t++) {
            for (int rd = 0; rd < nr; rd++) {
                int count = 0;
                int firstMissing = -1;
                for (int c = 0; c < nc; c++) {
                    if (seen[t][rd][c]) {
                        count++;
                    } else if (firstMissing < 0) {
                        firstMissing = c;
                    }
                }
                if (count == 0) {
                    throw new EvaluationInputException(table.source() + ": reader '" + readerNames.get(rd)
                        + "' has no ratings for test '" + testNames.get(t) + "'");
                }
                if (count < nc) {
                    throw new EvaluationInputException(table.source() + ": reader '" + readerNames.get(rd)
                        + "', test '" + testNames.get(t) + "': no rating for case '" + caseNames.get(firstMissing)
                        + "' (" + (nc - count) + " missing; the design must be fully crossed)");
                }
            }
            if (model != null) {
                for (int c = 0; c < nc; c++) {
                    if (!modelSeen[t][c]) {
                        throw new EvaluationInputException(table.source() + ": model '" + modelName
                            + "' has no score for case '" + caseNames.get(c) + "' under test '" + testNames.get(t) + "'");
                    }
                }
            }
        }
        boolean[] truth = new boolean[nc];
        int positives = 0;
        for (int c = 0; c < nc; c++) {
            truth[c] = truthOf.get(caseNames.get(c)).equals(cols.positive());
            positives += truth[c] ? 1 : 0;
        }
        if (positives < 2 || nc - positives < 2) {
            throw new EvaluationInputException(table.source() + ": column '" + cols.truth() + "': "
                + positives + " positive and " + (nc - positives)
                + " negative cases; each class needs at least 2");
        }
        return new Loaded(new ReaderStudy(testNames, readerNames, caseNames, truth, ratings), model);
    }

    private static EvaluationInputException duplicate(CsvTable table, int r) {
        return new EvaluationInputException(table.source() + ": line " + table.lineOf(r)
            + ": duplicate rating for the same reader, test and case");
    }
}
