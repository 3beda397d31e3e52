package org.renalmtl.evaluation.study;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
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
        boolean toml = file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".toml");
        try {
            root = (toml ? TOML : JSON).readTree(Files.readAllBytes(file));
        } catch (JsonProcessingException e) {
            throw new EvaluationInputException(file + ": not valid " + (toml ? "TOML" : "JSON") + ": " + e.getOriginalMessage()
                + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"));
        } catch (IOException e) {
            throw new EvaluationInputException(file + ": cannot read: " + e.getMessage());
        }
        return new StudySpecParser(file).study(root);
    }
}
