package org.renalmtl.engine.plan;

import java.lang.management.ManagementFactory;
import java.util.Locale;
import org.renalmtl.engine.ModelRunException;

/**
 * Checks a planned allocation against the machine before it is made, so that a model whose input
 * size implies tens of gigabytes of activations is refused with the figures ("needs 77.3 GB of
 * activations; this machine has 23.4 GB") instead of ending in an OutOfMemoryError or the kernel's
 * OOM killer.
 */
public final class MemoryBudget {
    private MemoryBudget() {
    }

    /** @return physical memory of this machine (or of its container), bytes */
    public static long machineBytes() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getTotalMemorySize();
    }

    /**
     * @param what what the bytes are for, e.g. {@code activations for 3 × 96×96×96}
     * @param bytes what the plan would allocate
     * @param available what the device has
     * @param device {@code this machine}, {@code cuda:0}, ...
     * @throws ModelRunException if {@code bytes} exceeds {@code available}
     */
    public static void check(String what, long bytes, long available, String device) {
        if (bytes > available) {
            throw new ModelRunException(String.format(Locale.ROOT, "needs %s of %s; %s has %s", gb(bytes), what, device,
                    gb(available)));
        }
    }

    private static String gb(long bytes) {
        return bytes >= 1L << 30 ? String.format(Locale.ROOT, "%.1f GB", bytes / 1e9)
                : String.format(Locale.ROOT, "%.0f MB", bytes / 1e6);
    }
}
