package org.renalmtl.kernels;

import java.io.Serial;

/**
 * The packaged kernel image is missing, unreadable or not a CUDA fatbin. The message is one line
 * naming the resource and the problem.
 */
public final class KernelImageException extends RuntimeException {
    @Serial
    private static final long serialVersionUID = 1L;

    /**
     * @param message one line naming the resource and the problem
     */
    public KernelImageException(String message) {
        super(message);
    }

    /**
     * @param message one line naming the resource and the problem
     * @param cause   the I/O error behind it
     */
    public KernelImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
