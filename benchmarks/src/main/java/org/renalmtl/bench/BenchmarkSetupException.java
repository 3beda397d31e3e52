package org.renalmtl.bench;

/**
 * The benchmark cannot start: a missing or stale model file, a peer that does not match the model.
 * The message is one line naming the file and the problem.
 */
public final class BenchmarkSetupException extends RuntimeException {
    /** @param message one line naming the file and the problem */
    public BenchmarkSetupException(String message) {
        super(message);
    }
}
