package org.renalmtl.evaluation.study;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.renalmtl.evaluation.EvaluationInputException;
import org.renalmtl.evaluation.io.CsvTable;

/**
 * The cases of a study, task by task and cohort by cohort: labels joined with every model's results
 * on the case id. A case enters a task × cohort only when it has a label and every model has an ok
 * result with a score, so that models are compared on the same cases (paired DeLong); every case
 * left out is counted by reason ({@link Exclusions}), never dropped silently. Malformed input (a
 * duplicate id, a non-numeric score, a third label class, an unknown column) is an error naming file,
 * line and column.
 */
public final class StudyData {

    /**
     * Cases left out of one task × cohort, by reason, and the cases kept.
     *
     * @param inCohort     label rows of the cohort
     * @param missingLabel of those, rows whose label is empty or NA
     * @param noResult     model → labelled cases with no row in its results file
     * @param failed       model → labelled cases whose result has a status other than ok
     * @param missingScore model → labelled cases whose score cell is empty or NA
     * @param evaluated    cases kept (labelled, every model scored)
     */
    public record Exclusions(int inCohort, int missingLabel, Map<String, Integer> noResult,
                             Map<String, Integer> failed, Map<String, Integer> missingScore, int evaluated) {
    }

    /**
     * One task on one cohort.
     *
     * @param task       the task
     * @param cohort     the cohort
     * @param ids        (N) case ids
     * @param positive   (N) true for a positive case
     * @param scores     model → (N) scores, in the task's model order
     * @param negative   the label value of a negative case (as found)
     * @param exclusions what was left out
     */
    public record Slice(StudySpec.Task task, StudySpec.Cohort cohort, List<String> ids, boolean[] positive,
                        Map<String, double[]> scores, String negative, Exclusions exclusions) {

        /** Number of positive cases. */
        public int positives() {
            int m = 0;
            for (boolean p : positive) {
                m += p ? 1 : 0;
            }
            return m;
        }
    }

    /** A results or labels file with its id → row index. */
    private record Keyed(CsvTable table, int idColumn, Map<String, Integer> rows) {
    }

    private StudyData() {
    }

    /**
     * Loads every task × cohort of a study.
     *
     * @return slices, task-major, in the study's task and cohort order
     */
    public static List<Slice> load(StudySpec spec) {
        Map<Path, Keyed> files = new HashMap<>();
        Map<String, Keyed> results = new LinkedHashMap<>();
        for (Map.Entry<String, Path> e : spec.results().entrySet()) {
            results.put(e.getKey(), files.computeIfAbsent(e.getValue(), p -> keyed(p, spec.idColumn())));
        }
        Map<String, StudySpec.Cohort> cohortOfId = new HashMap<>();
        List<List<Integer>> cohortRows = new ArrayList<>();
        for (StudySpec.Cohort c : spec.cohorts()) {
            Keyed labels = files.computeIfAbsent(c.labels() != null ? c.labels() : spec.labels(),
                p -> keyed(p, spec.idColumn()));
            List<Integer> rows = new ArrayList<>();
            int filter = c.column() == null ? -1 : labels.table().column(c.column(), "cohort '" + c.name() + "'");
            for (int r = 0; r < labels.table().rowCount(); r++) {
                if (filter >= 0 && !c.values().contains(labels.table().cell(r, filter))) {
                    continue;
                }
                String id = labels.table().cell(r, labels.idColumn());
                StudySpec.Cohort before = cohortOfId.putIfAbsent(id, c);
                if (before != null) {
                    throw new EvaluationInputException(labels.table().source() + ": line " + labels.table().lineOf(r)
                        + ": case '" + id + "' is in cohort '" + before.name() + "' and in cohort '" + c.name() + "'");
                }
                rows.add(r);
            }
            if (rows.isEmpty()) {
                throw new EvaluationInputException(labels.table().source() + ": cohort '" + c.name() + "' has no rows"
                    + (c.column() == null ? "" : " (column '" + c.column() + "' never holds " + String.join(" or ", c.values()) + ")"));
            }
            cohortRows.add(rows);
        }
        List<Slice> slices = new ArrayList<>();
        for (StudySpec.Task task : spec.tasks()) {
            for (int ci = 0; ci < spec.cohorts().size(); ci++) {
                StudySpec.Cohort c = spec.cohorts().get(ci);
                Keyed labels = files.get(c.labels() != null ? c.labels() : spec.labels());
                Slice s = slice(task, c, labels, cohortRows.get(ci), results);
                // "0/1" in one cohort and "0/2" in another would make "2" a silent negative there.
                if (!slices.isEmpty() && slices.getLast().task().equals(task) && !slices.getLast().negative().equals(s.negative())) {
                    throw new EvaluationInputException(labels.table().source() + ": task '" + task.name() + "', column '"
                        + task.label() + "': the negative class is '" + slices.getLast().negative() + "' in cohort '"
                        + slices.getLast().cohort().name() + "' but '" + s.negative() + "' in cohort '" + c.name() + "'");
                }
                slices.add(s);
            }
        }
        return slices;
    }

    private static Slice slice(StudySpec.Task task, StudySpec.Cohort cohort, Keyed labels, List<Integer> rows,
                               Map<String, Keyed> results) {
        CsvTable lt = labels.table();
        int lc = lt.column(task.label(), "task '" + task.name() + "' label");
        Map<String, Integer> scoreColumn = new LinkedHashMap<>();
        Map<String, Integer> statusColumn = new HashMap<>();
        for (Map.Entry<String, String> m : task.scores().entrySet()) {
            CsvTable rt = results.get(m.getKey()).table();
            scoreColumn.put(m.getKey(), rt.column(m.getValue(), "task '" + task.name() + "' model '" + m.getKey() + "'"));
            if (rt.hasColumn("status")) {
                statusColumn.put(m.getKey(), rt.column("status", "status"));
            }
        }
        int missingLabel = 0;
        Map<String, Integer> noResult = counter(task);
        Map<String, Integer> failed = counter(task);
        Map<String, Integer> missingScore = counter(task);
        List<String> classes = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        List<Boolean> positive = new ArrayList<>();
        Map<String, List<Double>> scores = new LinkedHashMap<>();
        task.scores().keySet().forEach(m -> scores.put(m, new ArrayList<>()));
        for (int r : rows) {
            String y = lt.cell(r, lc);
            if (CsvTable.isMissing(y)) {
                missingLabel++;
                continue;
            }
            if (!classes.contains(y)) {
                classes.add(y);
                if (classes.size() > 2) {
                    throw new EvaluationInputException(lt.source() + ": line " + lt.lineOf(r) + ", column '" + task.label()
                        + "': a third class '" + y + "' (task '" + task.name() + "' needs two: " + String.join(", ", classes.subList(0, 2)) + ")");
                }
            }
            String id = lt.cell(r, labels.idColumn());
            Map<String, Double> got = new LinkedHashMap<>();
            for (String model : task.scores().keySet()) {
                Keyed res = results.get(model);
                Integer row = res.rows().get(id);
                if (row == null) {
                    noResult.merge(model, 1, Integer::sum);
                    continue;
                }
                Integer st = statusColumn.get(model);
                if (st != null && !res.table().cell(row, st).equals("ok")) {
                    failed.merge(model, 1, Integer::sum);
                    continue;
                }
                if (CsvTable.isMissing(res.table().cell(row, scoreColumn.get(model)))) {
                    missingScore.merge(model, 1, Integer::sum);
                    continue;
                }
                got.put(model, res.table().number(row, scoreColumn.get(model)));
            }
            if (got.size() == task.scores().size()) {
                ids.add(id);
                positive.add(y.equals(task.positive()));
                got.forEach((m, v) -> scores.get(m).add(v));
            }
        }
        boolean[] pos = new boolean[ids.size()];
        int m = 0;
        for (int i = 0; i < pos.length; i++) {
            pos[i] = positive.get(i);
            m += pos[i] ? 1 : 0;
        }
        if (m < 2 || ids.size() - m < 2) {
            throw new EvaluationInputException(lt.source() + ": task '" + task.name() + "', cohort '" + cohort.name()
                + "': " + m + " positive ('" + task.positive() + "' in column '" + task.label() + "') and " + (ids.size() - m)
                + " negative cases with every model's score; each class needs at least 2");
        }
        Map<String, double[]> arrays = new LinkedHashMap<>();
        scores.forEach((k, v) -> arrays.put(k, v.stream().mapToDouble(Double::doubleValue).toArray()));
        String negative = classes.stream().filter(c -> !c.equals(task.positive())).findFirst().orElseThrow();
        return new Slice(task, cohort, List.copyOf(ids), pos, arrays, negative,
            new Exclusions(rows.size(), missingLabel, noResult, failed, missingScore, ids.size()));
    }

    private static Map<String, Integer> counter(StudySpec.Task task) {
        Map<String, Integer> c = new LinkedHashMap<>();
        task.scores().keySet().forEach(m -> c.put(m, 0));
        return c;
    }

    private static Keyed keyed(Path file, String idColumn) {
        CsvTable t = CsvTable.read(file);
        int k = t.column(idColumn, "id_column");
        Map<String, Integer> rows = new HashMap<>();
        for (int r = 0; r < t.rowCount(); r++) {
            String id = t.cell(r, k);
            if (CsvTable.isMissing(id)) {
                throw new EvaluationInputException(t.source() + ": line " + t.lineOf(r) + ": missing " + idColumn);
            }
            Integer first = rows.putIfAbsent(id, r);
            if (first != null) {
                throw new EvaluationInputException(t.source() + ": line " + t.lineOf(r) + ": duplicate " + idColumn
                    + " '" + id + "' (first on line " + t.lineOf(first) + ")");
            }
        }
        return new Keyed(t, k, rows);
    }
}
