package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The reasons the probe gives when {@code cudnnCreate} fails after {@code cudnnGetVersion}
 * answered (the front library loads but its sub-libraries or the device do not), on any machine.
 */
class CudaRuntimeTest {
    @Test
    void missingSubLibrarySaysWhatToPutOnTheLibraryPath() {
        String r = CudaRuntime.cudnnCreateFailure(CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED,
                "CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED");
        assertTrue(r.startsWith("cudnnCreate failed: CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED (status 1008)"), r);
        assertTrue(r.contains("LD_LIBRARY_PATH") && r.contains("libcudnn_"), r);
    }

    @Test
    void otherFailuresNameTheDevice() {
        String r = CudaRuntime.cudnnCreateFailure(CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH,
                "CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH");
        assertTrue(r.contains("architecture") && !r.contains("LD_LIBRARY_PATH"), r);
        assertTrue(CudaRuntime.cudnnCreateFailure(4000, "CUDNN_STATUS_INTERNAL_ERROR").contains("device or driver"));
    }
}
