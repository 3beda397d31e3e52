package org.renalmtl.spark;

/**
 * Bad input, reported on one line naming the file and the problem: for the job (manifest, model, output) it stops
 * the job before any case runs, exit 2; for one case (an empty cell, a missing file) it becomes that case's error row.
 */
final class JobInputException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    JobInputException(String message) {
        super(message);
    }

    JobInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
