package org.renalmtl.engine;

import java.util.List;

/**
 * The model's output for one case.
 *
 * @param tasks per task, in the config's order
 */
public record Prediction(List<TaskResult> tasks) {
    /**
     * One task's result.
     *
     * @param task task id, e.g. {@code ccrcc}
     * @param probability probability of the positive class
     * @param threshold the config's default threshold
     * @param positive whether {@code probability >= threshold}
     * @param label the meaning of the predicted class, from the config
     */
    public record TaskResult(String task, double probability, double threshold, boolean positive, String label) {}

    /** @return the result of a task by id */
    public TaskResult task(String name) {
        for (TaskResult t : tasks) {
            if (t.task().equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("no task " + name);
    }
}
