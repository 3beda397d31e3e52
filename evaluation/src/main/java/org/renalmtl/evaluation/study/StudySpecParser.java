package org.renalmtl.evaluation.study;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

import org.renalmtl.evaluation.EvaluationInputException;
import org.renalmtl.evaluation.stats.ProportionCi;
import org.renalmtl.evaluation.study.StudySpec.Cohort;
import org.renalmtl.evaluation.study.StudySpec.OperatingPointRule;
import org.renalmtl.evaluation.study.StudySpec.Readers;
import org.renalmtl.evaluation.study.StudySpec.Task;

/**
 * Walks a study file's tree (JSON or TOML, read by {@link StudySpec#read}) into a {@link StudySpec},
 * naming the field of every error ({@code tasks[0].scores}).
 *
 * @param file the study file, for messages and to resolve relative paths
 */
record StudySpecParser(Path file) {

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
        Set<String> asProbability = new LinkedHashSet<>();
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
