package org.renalmtl.loader;

/**
 * A volume (or a mask, or an output path) that cannot be used: unreadable, malformed, inconsistent with the
 * other inputs, or not writable. The message is one line that names the file and the problem, so that the
 * command line can print it as is ("renal-mtl: error: &lt;message&gt;") and exit with code 2.
 */
public final class VolumeInputException extends RuntimeException {

    /**
     * @param message one line naming the file and the problem
     */
    public VolumeInputException(String message) {
        super(message);
    }

    /**
     * @param message one line naming the file and the problem
     * @param cause   the low-level failure, kept for debugging
     */
    public VolumeInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
