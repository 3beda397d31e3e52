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
        super(oneLine(file + ": " + String.join("; ", problems)));
        this.problems = problems.stream().map(WeightFormatException::oneLine).toList();
    }

    /**
     * @param file the weight file
     * @param problem the problem, a short phrase
     */
    public WeightFormatException(Path file, String problem) {
        this(file, List.of(problem));
    }

    /**
     * Names from a file (tensor names, config strings, JSON parser messages) can hold line breaks and
     * other control characters; escaped, the message stays one line that cannot forge another.
     */
    private static String oneLine(String s) {
        StringBuilder b = new StringBuilder(s.length());
        s.codePoints().forEach(c -> {
            if (Character.isISOControl(c)) {
                b.append(String.format("\\u%04x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.toString();
    }

    /** @return every problem found, in the order they were detected */
    public List<String> problems() {
        return problems;
    }
}
