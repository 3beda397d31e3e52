package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cublas.CUBLAS_STATUS_SUCCESS;
import static org.bytedeco.cuda.global.cudart.CUDA_SUCCESS;
import static org.bytedeco.cuda.global.cudart.cudaGetErrorString;
import static org.bytedeco.cuda.global.cudart.cudaSuccess;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_SUCCESS;
import static org.bytedeco.cuda.global.cudnn.cudnnGetErrorString;

import org.bytedeco.javacpp.Pointer;

/**
 * Status checks for the four CUDA libraries and raw pointer views. JavaCPP pitfall
 * (ENGINEERING.md §5): a Pointer's {@code position} counts bytes for {@code void*} parameters and
 * elements for typed ones, so this backend never moves positions: every device address is an
 * explicit {@link Raw} view at position 0.
 */
final class Cuda {
    private Cuda() {}

    /**
     * A view of an address (device or host) that owns nothing. Creating one allocates no native
     * memory, so plans make them once at bind time.
     */
    static final class Raw extends Pointer {
        Raw(long address, long bytes) {
            this.address = address;
            this.limit = bytes;
            this.capacity = bytes;
        }
    }

    /** @return a non-owning pointer to {@code address} */
    static Pointer at(long address) {
        return new Raw(address, 0);
    }

    /** Checks a CUDA runtime status. */
    static void check(int status, String what) {
        if (status != cudaSuccess) {
            throw new CudaException("CUDA: " + what + " failed: " + cudaGetErrorString(status).getString()
                    + " (cudaError " + status + ")");
        }
    }

    /** Checks a driver API ({@code CUresult}) status. */
    static void checkDriver(int status, String what) {
        if (status != CUDA_SUCCESS) {
            throw new CudaException("CUDA driver: " + what + " failed with CUresult " + status);
        }
    }

    /** Checks a cuDNN status. */
    static void checkDnn(int status, String what) {
        if (status != CUDNN_STATUS_SUCCESS) {
            throw new CudaException("cuDNN: " + what + " failed: " + cudnnGetErrorString(status).getString()
                    + " (status " + status + ")");
        }
    }

    /** Checks a cuBLAS status. */
    static void checkBlas(int status, String what) {
        if (status != CUBLAS_STATUS_SUCCESS) {
            throw new CudaException("cuBLAS: " + what + " failed with status " + status);
        }
    }
}
