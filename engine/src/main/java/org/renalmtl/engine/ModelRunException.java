package org.renalmtl.engine;

/**
 * The model cannot run as asked, through no bug of the engine: the input is too small for the
 * network's strides, the plan needs more memory than the machine has, or the weights drive the
 * network to a non-finite output. The message is one line naming the model and the problem; a
 * command-line front end reports it as bad input.
 */
public final class ModelRunException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message one line: the model and the problem
     */
    public ModelRunException(String message) {
        super(message);
    }
}
