package org.renalmtl.engine;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import org.renalmtl.engine.spi.BackendProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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

    private static final Logger LOG = LoggerFactory.getLogger(Device.class);
    private static final AtomicBoolean FALLBACK_LOGGED = new AtomicBoolean(); // AUTO's fallback is said once

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

    /**
     * @return the device to run on, this one as asked for: AUTO resolved to {@code cuda:0} when a GPU is
     *     usable, else the CPU (logged once per process, under this class's logger)
     * @throws UnsupportedOperationException if {@code cuda:N} cannot run, naming what is missing
     */
    Device resolve() {
        return switch (kind) {
            case CPU -> CPU;
            case AUTO -> {
                BackendProvider cuda = Backends.find(Kind.CUDA);
                if (cuda != null && cuda.available()) {
                    yield cuda(0);
                }
                // One short line: the full diagnosis (which library, which variable) is what an explicit
                // --device cuda reports.
                if (FALLBACK_LOGGED.compareAndSet(false, true)) {
                    LOG.info(cuda == null
                            ? "the CUDA backend is not on the class path; using the CPU"
                            : "no usable CUDA device; using the CPU (--device cuda says why)");
                }
                yield CPU;
            }
            case CUDA -> {
                Backends.cuda(index).require(index); // UnsupportedOperationException naming what is missing
                yield this;
            }
        };
    }
}
