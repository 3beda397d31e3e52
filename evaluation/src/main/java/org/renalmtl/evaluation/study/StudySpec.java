package org.renalmtl.evaluation.study;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;

import org.renalmtl.evaluation.EvaluationInputException;
import org.renalmtl.evaluation.stats.ProportionCi;

/**
 * A study file ({@code study.json}, or the same fields in {@code study.toml}): which results file holds each model's scores, the labels, the
 * tasks (label column, positive class, score column per model), the cohorts and the optional reader
 * ratings. Relative paths are resolved against the study file's folder. Every error names the study
 * file and the field ({@code tasks[0].scores}); unknown fields are errors, so that a misspelt option
 * is never ignored. The layout is documented in evaluation/README.md.
 *
 * @param file           the study file
 * @param title          report title
 * @param idColumn       case id column, in the labels and every results file
 * @param labels         labels file (null when every cohort names its own)
 * @param results        model name → results file, in the order given
 * @param tasks          the tasks
 * @param cohorts        the cohorts; the first is the internal one, where thresholds and risk models are fitted
 * @param operatingPoint how the threshold is chosen on the internal cohort
 * @param proportionCi   interval for sensitivity, specificity, PPV, NPV and accuracy
 * @param level          confidence level
 * @param readers        reader ratings, or null
 */
public record StudySpec(Path file, String title, String idColumn, Path labels, Map<String, Path> results,
                        List<Task> tasks, List<Cohort> cohorts, OperatingPointRule operatingPoint,
                        ProportionCi.Method proportionCi, double level, Readers readers) {

    /**
     * A task.
     *
     * @param name          task name (unique)
     * @param label         label column
     * @param positive      label value of a positive case
     * @param scores        model name → score column in that model's results file
     * @param asProbability models whose score is turned into a risk by a logistic model fitted on the
     *                      internal cohort (dcurves' {@code as_probability}), for the decision and calibration curves
     */
    public record Task(String name, String label, String positive, Map<String, String> scores,
                       Set<String> asProbability) {
    }

    /**
     * A cohort: the label rows whose {@code column} is one of {@code values}, or all rows of its own
     * labels file (optionally filtered the same way).
     *
     * @param name   cohort name (unique)
     * @param labels its own labels file, or null for the study's
     * @param column filter column, or null
     * @param values accepted values of the filter column
     */
    public record Cohort(String name, Path labels, String column, List<String> values) {
    }

    /**
     * Threshold choice on the internal cohort.
     *
     * @param method youden, sensitivity (highest threshold reaching the target), specificity (lowest
     *               threshold reaching the target) or fixed
     * @param value  the target or the fixed threshold (NaN for youden)
     */
    public record OperatingPointRule(String method, double value) {
    }

    /**
     * Reader ratings, compared with one model of one task on one cohort.
     *
     * @param file     ratings CSV (long layout: reader, test, case, truth, rating)
     * @param task     task name
     * @param model    model name
     * @param cohort   cohort the cases belong to
     * @param reader   reader column
     * @param test     test (modality) column
     * @param caseId   case column (joined with the study's id column)
     * @param truth    truth column
     * @param rating   rating column
     * @param positive truth value of a positive case
     * @param callAt   rating at or above which a reader calls a case positive (NaN: the reader's Youden point)
     */
    public record Readers(Path file, String task, String model, String cohort, String reader, String test,
                          String caseId, String truth, String rating, String positive, double callAt) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper TOML = new TomlMapper();

    /**
     * Reads and checks a study file: TOML when its name ends in {@code .toml}, JSON otherwise.
     *
     * @throws EvaluationInputException naming the file and field of the first problem
     */
    public static StudySpec read(Path file) {
        JsonNode root;
        boolean toml = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".toml");
        try {
            root = (toml ? TOML : JSON).readTree(Files.readAllBytes(file));
        } catch (JsonProcessingException e) {
            throw new EvaluationInputException(file + ": not valid " + (toml ? "TOML" : "JSON") + ": " + e.getOriginalMessage()
                + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"));
        } catch (IOException e) {
            throw new EvaluationInputException(file + ": cannot read: " + e.getMessage());
        }
        return new Parser(file).study(root);
    }

    /** Tree walker that names the field of every error. */
    private record Parser(Path file) {

        StudySpec study(JsonNode root) {
            object(root, "the study", Set.of("title", "id_column", "labels", "results", "tasks", "cohorts",
                "operating_point", "proportion_ci", "level", "readers"));
            String title = optText(root, "title", "Evaluation");
            String id = optText(root, "id_column", "case_id");
            Path labels = root.has("labels") ? path(root, "labels") : null;
            JsonNode res = required(root, "results", "results");
            object(res, "results", null);
            Map<String, Path> results = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : res.properties()) {
                results.put(e.getKey(), path(res, e.getKey(), "results." + e.getKey()));
            }
            if (results.isEmpty()) {
                throw error("results", "names no model");
            }
            List<Task> tasks = new ArrayList<>();
            JsonNode ts = required(root, "tasks", "tasks");
            if (!ts.isArray() || ts.isEmpty()) {
                throw error("tasks", "must be a non-empty array");
            }
            for (int i = 0; i < ts.size(); i++) {
                Task t = task(ts.get(i), "tasks[" + i + "]", results);
                if (tasks.stream().anyMatch(o -> o.name().equals(t.name()))) {
                    throw error("tasks[" + i + "].name", "task '" + t.name() + "' is named twice");
                }
                tasks.add(t);
            }
            List<Cohort> cohorts = new ArrayList<>();
            if (root.has("cohorts")) {
                JsonNode cs = root.get("cohorts");
                if (!cs.isArray() || cs.isEmpty()) {
                    throw error("cohorts", "must be a non-empty array");
                }
                for (int i = 0; i < cs.size(); i++) {
                    Cohort c = cohort(cs.get(i), "cohorts[" + i + "]", labels);
                    if (cohorts.stream().anyMatch(o -> o.name().equals(c.name()))) {
                        throw error("cohorts[" + i + "].name", "cohort '" + c.name() + "' is named twice");
                    }
                    cohorts.add(c);
                }
            } else {
                if (labels == null) {
                    throw error("labels", "is required when no cohort names its own labels file");
                }
                cohorts.add(new Cohort("all", null, null, List.of()));
            }
            OperatingPointRule op = root.has("operating_point") ? operatingPoint(root.get("operating_point"))
                : new OperatingPointRule("youden", Double.NaN);
            ProportionCi.Method ci = switch (optText(root, "proportion_ci", "clopper-pearson")) {
                case "clopper-pearson" -> ProportionCi.Method.CLOPPER_PEARSON;
                case "wilson" -> ProportionCi.Method.WILSON;
                default -> throw error("proportion_ci", "must be clopper-pearson or wilson, got '"
                    + root.get("proportion_ci").asText() + "'");
            };
            double level = root.has("level") ? number(root.get("level"), "level") : 0.95;
            if (!(level > 0 && level < 1)) {
                throw error("level", "must be in (0, 1), got " + level);
            }
            Readers readers = root.has("readers") ? readers(root.get("readers"), tasks, cohorts) : null;
            return new StudySpec(file, title, id, labels, results, List.copyOf(tasks), List.copyOf(cohorts), op, ci,
                level, readers);
        }

        Task task(JsonNode t, String where, Map<String, Path> results) {
            object(t, where, Set.of("name", "label", "positive", "scores", "as_probability"));
            String name = text(t, "name", where + ".name");
            String label = text(t, "label", where + ".label");
            String positive = text(t, "positive", where + ".positive");
            JsonNode s = required(t, "scores", where + ".scores");
            object(s, where + ".scores", null);
            Map<String, String> scores = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : s.properties()) {
                if (!results.containsKey(e.getKey())) {
                    throw error(where + ".scores", "model '" + e.getKey() + "' has no results file (results names "
                        + String.join(", ", results.keySet()) + ")");
                }
                scores.put(e.getKey(), text(s, e.getKey(), where + ".scores." + e.getKey()));
            }
            if (scores.isEmpty()) {
                throw error(where + ".scores", "names no model");
            }
            Set<String> asProbability = new java.util.LinkedHashSet<>();
            if (t.has("as_probability")) {
                for (JsonNode m : array(t.get("as_probability"), where + ".as_probability")) {
                    if (!scores.containsKey(m.asText())) {
                        throw error(where + ".as_probability", "model '" + m.asText() + "' is not scored in this task");
                    }
                    asProbability.add(m.asText());
                }
            }
            return new Task(name, label, positive, scores, asProbability);
        }

        Cohort cohort(JsonNode c, String where, Path studyLabels) {
            object(c, where, Set.of("name", "labels", "column", "values"));
            String name = text(c, "name", where + ".name");
            Path labels = c.has("labels") ? path(c, "labels", where + ".labels") : null;
            if (labels == null && studyLabels == null) {
                throw error(where + ".labels", "is required: the study names no labels file");
            }
            String column = c.has("column") ? text(c, "column", where + ".column") : null;
            List<String> values = new ArrayList<>();
            if (c.has("values")) {
                for (JsonNode v : array(c.get("values"), where + ".values")) {
                    values.add(v.asText());
                }
            }
            if ((column == null) != values.isEmpty()) {
                throw error(where, "'column' and 'values' go together");
            }
            if (column == null && labels == null) {
                throw error(where, "needs either 'column' and 'values' or its own 'labels' file");
            }
            return new Cohort(name, labels, column, List.copyOf(values));
        }

        OperatingPointRule operatingPoint(JsonNode o) {
            object(o, "operating_point", Set.of("method", "value"));
            String method = text(o, "method", "operating_point.method");
            switch (method) {
                case "youden" -> {
                    return new OperatingPointRule(method, Double.NaN);
                }
                case "sensitivity", "specificity", "fixed" -> {
                    double v = number(required(o, "value", "operating_point.value"), "operating_point.value");
                    if (!(v >= 0 && v <= 1) || (!method.equals("fixed") && v == 0)) {
                        throw error("operating_point.value", "must be in " + (method.equals("fixed") ? "[0, 1]" : "(0, 1]")
                            + ", got " + v);
                    }
                    return new OperatingPointRule(method, v);
                }
                default -> throw error("operating_point.method",
                    "must be youden, sensitivity, specificity or fixed, got '" + method + "'");
            }
        }

        Readers readers(JsonNode r, List<Task> tasks, List<Cohort> cohorts) {
            object(r, "readers", Set.of("file", "task", "model", "cohort", "reader", "test", "case", "truth", "rating",
                "positive", "call_at"));
            Path f = path(r, "file", "readers.file");
            String task = text(r, "task", "readers.task");
            Task t = tasks.stream().filter(x -> x.name().equals(task)).findFirst()
                .orElseThrow(() -> error("readers.task", "no task '" + task + "'"));
            String model = text(r, "model", "readers.model");
            if (!t.scores().containsKey(model)) {
                throw error("readers.model", "model '" + model + "' is not scored in task '" + task + "'");
            }
            String cohort = r.has("cohort") ? text(r, "cohort", "readers.cohort") : cohorts.getLast().name();
            if (cohorts.stream().noneMatch(c -> c.name().equals(cohort))) {
                throw error("readers.cohort", "no cohort '" + cohort + "'");
            }
            double callAt = r.has("call_at") ? number(r.get("call_at"), "readers.call_at") : Double.NaN;
            return new Readers(f, task, model, cohort, optText(r, "reader", "reader"), optText(r, "test", "test"),
                optText(r, "case", "case"), optText(r, "truth", "truth"), optText(r, "rating", "rating"),
                optText(r, "positive", "1"), callAt);
        }

        private void object(JsonNode n, String where, Set<String> allowed) {
            if (n == null || !n.isObject()) {
                throw error(where, "must be a JSON object");
            }
            if (allowed != null) {
                for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
                    String k = it.next();
                    if (!allowed.contains(k)) {
                        throw error(where, "unknown field '" + k + "' (known: " + String.join(", ",
                            allowed.stream().sorted().toList()) + ")");
                    }
                }
            }
        }

        private JsonNode required(JsonNode n, String key, String where) {
            JsonNode v = n.get(key);
            if (v == null || v.isNull()) {
                throw error(where, "is required");
            }
            return v;
        }

        private String text(JsonNode n, String key, String where) {
            JsonNode v = required(n, key, where);
            if (!v.isTextual() || v.asText().isBlank()) {
                throw error(where, "must be a non-empty string");
            }
            return v.asText();
        }

        private String optText(JsonNode n, String key, String otherwise) {
            return n.has(key) ? text(n, key, key) : otherwise;
        }

        private double number(JsonNode v, String where) {
            if (!v.isNumber()) {
                throw error(where, "must be a number");
            }
            return v.asDouble();
        }

        private List<JsonNode> array(JsonNode v, String where) {
            if (!v.isArray()) {
                throw error(where, "must be an array");
            }
            List<JsonNode> out = new ArrayList<>();
            for (JsonNode e : v) {
                if (!e.isTextual()) {
                    throw error(where, "must hold strings");
                }
                out.add(e);
            }
            return out;
        }

        private Path path(JsonNode n, String key) {
            return path(n, key, key);
        }

        private Path path(JsonNode n, String key, String where) {
            Path dir = file.toAbsolutePath().getParent();
            return dir.resolve(text(n, key, where)).normalize();
        }

        private EvaluationInputException error(String where, String what) {
            return new EvaluationInputException(file + ": " + where + ": " + what);
        }
    }
}
