package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_SUCCESS;

import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.cudnn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether this process can use the GPU: probed once, the answer remembered.
 *
 * <p>Without a driver the first touch of {@code cudart} throws {@link UnsatisfiedLinkError}
 * ({@code libcuda.so.1}) and every later touch {@link NoClassDefFoundError} (ENGINEERING.md §5), so
 * nothing else in this package may touch a CUDA class before {@link #available()} said yes. The
 * bytedeco presets carry only JNI glue: {@code libcudart.so.13}, {@code libcublas.so.13} and
 * {@code libcudnn*.so.9} must be found through {@code LD_LIBRARY_PATH} (a PyTorch venv has them
 * under {@code site-packages/nvidia/*}/lib).
 *
 * <p>cuDNN is probed by creating and destroying a handle, not only by {@code cudnnGetVersion}: the
 * version comes from the front library alone, while a handle needs its sub-libraries and a device
 * it supports, which is what a plan will need; a failure here lets {@code auto} fall back to the
 * CPU with the reason instead of failing later in the plan. Creating the handle initialises the
 * CUDA context of device 0.
 */
public final class CudaRuntime {
    private static final Logger LOG = LoggerFactory.getLogger(CudaRuntime.class);
    private static final String LIBS = "put the directories of libcudart.so.13, libcublas.so.13 and libcudnn.so.9 on "
            + "LD_LIBRARY_PATH before starting Java";

    /** The remembered answer. */
    private record Probe(boolean available, String reason, int devices, long cudnnVersion, int driverVersion,
            int runtimeVersion) {}

    private static Probe probe;

    private CudaRuntime() {}

    /** @return true when a driver, a device, cuBLAS and cuDNN 9 are all usable */
    public static boolean available() {
        return probe().available();
    }

    /**
     * @return why the GPU cannot be used (names the missing library or device and says to set
     *     {@code LD_LIBRARY_PATH} where a library is missing), or {@code "available"}
     */
    public static String reason() {
        return probe().reason();
    }

    /** @return CUDA devices visible to this process (0 when unavailable) */
    public static int deviceCount() {
        return probe().devices();
    }

    /**
     * @return {@code cudnnGetVersion()}, e.g. 91900 for 9.19.0; 0 when unavailable (also when cuDNN
     *     could not create a handle)
     */
    public static long cudnnVersion() {
        return probe().cudnnVersion();
    }

    /** @return one line: driver, runtime and cuDNN versions, or the reason the GPU is unusable */
    public static String describe() {
        Probe p = probe();
        if (!p.available()) {
            return "CUDA unavailable: " + p.reason();
        }
        return "CUDA driver " + version(p.driverVersion()) + ", runtime " + version(p.runtimeVersion()) + ", cuDNN "
                + ConvMath.versionName(p.cudnnVersion()) + ", " + p.devices() + " device(s)";
    }

    /**
     * Throws unless device {@code index} is usable.
     *
     * @param index CUDA ordinal
     * @throws UnsupportedOperationException with {@link #reason()} or the device range
     */
    public static void require(int index) {
        Probe p = probe();
        if (!p.available()) {
            throw new UnsupportedOperationException("device cuda:" + index + ": " + p.reason());
        }
        if (index < 0 || index >= p.devices()) {
            throw new UnsupportedOperationException("device cuda:" + index + ": only " + p.devices()
                    + " CUDA device(s) visible (cuda:0..cuda:" + (p.devices() - 1) + ")");
        }
    }

    private static String version(int v) {
        return v / 1000 + "." + v % 1000 / 10;
    }

    private static synchronized Probe probe() {
        if (probe == null) {
            probe = run();
            if (probe.available()) {
                LOG.info(describe());
            }
        }
        return probe;
    }

    private static String firstLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    private static Probe fail(String reason) {
        return new Probe(false, reason, 0, 0, 0, 0);
    }

    private static Probe run() {
        int[] count = new int[1];
        int[] driver = new int[1];
        int[] runtime = new int[1];
        try {
            int st = cudart.cudaGetDeviceCount(count);
            cudart.cudaDriverGetVersion(driver);
            cudart.cudaRuntimeGetVersion(runtime);
            if (st != cudart.cudaSuccess) {
                return fail("cudaGetDeviceCount failed: " + cudart.cudaGetErrorString(st).getString()
                        + " (no NVIDIA driver or no device visible to this process)");
            }
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
            return fail("the CUDA runtime cannot be loaded (libcuda.so.1 comes with the NVIDIA driver; "
                    + "libcudart.so.13 must be on LD_LIBRARY_PATH): " + firstLine(e));
        }
        if (count[0] < 1) {
            return fail("no CUDA device visible to this process");
        }
        try {
            int[] major = new int[1];
            int st = cublas.cublasGetProperty(0, major); // MAJOR_VERSION: loads libcublas
            if (st != cublas.CUBLAS_STATUS_SUCCESS) {
                return fail("cuBLAS does not answer (status " + st + ")");
            }
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
            return fail("cuBLAS cannot be loaded (" + LIBS + "): " + firstLine(e));
        }
        long dnn;
        try {
            dnn = cudnn.cudnnGetVersion();
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
            return fail("cuDNN cannot be loaded (" + LIBS + "): " + firstLine(e));
        }
        if (dnn < 90000) {
            return fail("cuDNN " + dnn + " is too old: the presets are built for cuDNN 9.19 (need 9.x on LD_LIBRARY_PATH)");
        }
        try {
            cudnnContext handle = new cudnnContext();
            int st = cudnn.cudnnCreate(handle);
            if (st != CUDNN_STATUS_SUCCESS) {
                return fail(cudnnCreateFailure(st, cudnn.cudnnGetErrorString(st).getString()));
            }
            cudnn.cudnnDestroy(handle);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
            return fail("cuDNN cannot create a handle (" + LIBS + "): " + firstLine(e));
        }
        return new Probe(true, "available", count[0], dnn, driver[0], runtime[0]);
    }

    /**
     * @param status what {@code cudnnCreate} returned
     * @param name cuDNN's name of it
     * @return the reason the GPU is unusable, saying what to fix where the status tells
     */
    static String cudnnCreateFailure(int status, String name) {
        String fix = switch (status) {
            case CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED, CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH,
                    CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE ->
                    "a cuDNN sub-library is missing or from another cuDNN: " + LIBS + " (all of cuDNN's libcudnn_*.so.9 "
                            + "from one installation)";
            case CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER, CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART ->
                    "the NVIDIA driver or the CUDA runtime is older than this cuDNN needs";
            case CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH -> "this cuDNN does not support the device's architecture";
            default -> "the device or driver refused it";
        };
        return "cudnnCreate failed: " + name + " (status " + status + "): " + fix;
    }
}
