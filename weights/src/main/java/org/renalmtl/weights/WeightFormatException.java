package org.renalmtl.weights;

import java.nio.file.Path;
import java.util.List;

/**
 * A weight file that cannot be used: missing, not HDF5, truncated, with an invalid config, or with
 * tensors that do not fit the config. The message is one line naming the file and every problem.
 */
public final class WeightFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The problems found, one per entry (for callers that want them separately). */
    private final List<String> problems;

    /**
     * @param file the weight file
     * @param problems every problem found, each a short phrase
     */
    public WeightFormatException(Path file, List<String> problems) {
        super(file + ": " + String.join("; ", problems));
        this.problems = List.copyOf(problems);
    }

    /**
     * @param file the weight file
     * @param problem the problem, a short phrase
     */
    public WeightFormatException(Path file, String problem) {
        this(file, List.of(problem));
    }

    /** @return every problem found, in the order they were detected */
    public List<String> problems() {
        return problems;
    }
}
