package org.renalmtl.cli;

/** Bad input detected by the CLI itself (options that do not fit a model, unwritable outputs). */
public final class InputException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param message one line naming the file or option and the problem */
    public InputException(String message) {
        super(message);
    }
}
