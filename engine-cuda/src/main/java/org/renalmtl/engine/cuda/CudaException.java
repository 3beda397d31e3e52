package org.renalmtl.engine.cuda;

/**
 * A CUDA, cuDNN, cuBLAS or driver call failed, or the GPU cannot run what was asked. The message is
 * one line naming the call and the library's status (code and name where the library gives one).
 */
public final class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param message one line: what failed and why */
    public CudaException(String message) {
        super(message);
    }
}
