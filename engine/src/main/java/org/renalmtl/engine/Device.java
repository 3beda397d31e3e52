package org.renalmtl.engine;

import java.util.Locale;

/**
 * Where a model runs: the CPU, a CUDA device, or {@code auto} (the GPU when a driver and device
 * are present, else the CPU).
 *
 * @param kind CPU, CUDA or AUTO
 * @param index CUDA device ordinal (0 unless {@code cuda:N})
 */
public record Device(Kind kind, int index) {
    /** Device kinds. */
    public enum Kind {
        /** The host CPU (oneDNN convolutions, Java head). */
        CPU,
        /** An NVIDIA GPU (cuDNN, cuBLAS, our kernels). */
        CUDA,
        /** CUDA if available, else CPU. */
        AUTO
    }

    /** The host CPU. */
    public static final Device CPU = new Device(Kind.CPU, 0);

    /** CUDA if available, else the CPU. */
    public static final Device AUTO = new Device(Kind.AUTO, 0);

    /** @return CUDA device {@code index} */
    public static Device cuda(int index) {
        return new Device(Kind.CUDA, index);
    }

    /**
     * Parses {@code cpu}, {@code auto}, {@code cuda} or {@code cuda:N}.
     *
     * @throws IllegalArgumentException for anything else
     */
    public static Device parse(String s) {
        String v = s.trim().toLowerCase(Locale.ROOT);
        if (v.equals("cpu")) {
            return CPU;
        }
        if (v.equals("auto")) {
            return AUTO;
        }
        if (v.equals("cuda") || v.equals("gpu")) {
            return cuda(0);
        }
        if (v.startsWith("cuda:")) {
            try {
                int n = Integer.parseInt(v.substring(5));
                if (n >= 0) {
                    return cuda(n);
                }
            } catch (NumberFormatException e) {
                // fall through to the error below
            }
        }
        throw new IllegalArgumentException("unknown device '" + s + "' (use auto, cpu, cuda or cuda:N)");
    }

    @Override
    public String toString() {
        return switch (kind) {
            case CPU -> "cpu";
            case AUTO -> "auto";
            case CUDA -> "cuda:" + index;
        };
    }
}
