package org.renalmtl.engine.cuda;

import java.util.function.Supplier;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * The one place a CUDA test decides that it cannot run here: every precondition of a GPU test (a
 * usable device, driver and natives; the PyTorch fixtures; oneDNN for the CPU-plan comparison)
 * goes through {@link #that}. Normally an unmet precondition aborts the test, which JUnit reports
 * as skipped with the reason, so the suite passes on machines without a GPU. With the environment
 * variable {@value #VARIABLE} set (benchmarks/gpu/run.sh sets it on the GPU host) it fails the test
 * with the same reason instead: a validation run cannot pass by skipping.
 *
 * <p>Tests that exercise the machine without a GPU (the CPU fallback) are the opposite case: they
 * carry the {@value #CPU_ONLY} tag and the GPU run leaves them out.
 */
final class RequireGpu {
    /** Set to anything but empty or {@code 0} to turn skips into failures. */
    static final String VARIABLE = "RENAL_MTL_REQUIRE_GPU";

    /**
     * The tag of tests about the machine without a GPU, which a GPU host can only skip:
     * benchmarks/gpu/run.sh leaves them out, so that any skip left in its run is a failure.
     */
    static final String CPU_ONLY = "cpu-only";

    private RequireGpu() {}

    /** Needs a usable CUDA device (driver, natives, cuBLAS, cuDNN): {@link CudaRuntime#reason()} otherwise. */
    static void device() {
        that(CudaRuntime.available(), () -> "no GPU: " + CudaRuntime.reason());
    }

    /**
     * Needs {@code condition}; otherwise skips, or fails when {@value #VARIABLE} is set.
     *
     * @param condition whether the test can run
     * @param reason why not (asked only when the condition does not hold)
     */
    static void that(boolean condition, Supplier<String> reason) {
        that(required(System.getenv(VARIABLE)), condition, reason);
    }

    /** {@link #that(boolean, Supplier)} with the variable's verdict given, so it can be tested in-process. */
    static void that(boolean required, boolean condition, Supplier<String> reason) {
        if (condition) {
            return;
        }
        if (required) {
            Assertions.fail(VARIABLE + " is set, so this GPU test may not skip: " + reason.get());
        }
        Assumptions.abort(reason.get());
    }

    /** @return whether {@code value} (of {@value #VARIABLE}) asks for every GPU test to run */
    static boolean required(String value) {
        return value != null && !value.isBlank() && !value.strip().equals("0");
    }
}
