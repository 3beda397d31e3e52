package org.renalmtl.bench;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Optional;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.Model;

/**
 * renal-mtl's own engine on the CPU, loading the HDF5 model the peers were exported from.
 *
 * <p>The engine's convolutions run in oneDNN's OpenMP pool, which has no per-model thread setting:
 * it takes {@code OMP_NUM_THREADS}, else one thread per core. So a thread count other than the
 * number of cores is only honoured when the JVM was started with {@code OMP_NUM_THREADS} equal to it
 * ({@code run-cpu.sh} exports it); anything else is refused rather than timed with the wrong count.
 */
public final class RenalMtlForward implements ForwardBackend {
    private final Model model;
    private final Path weights;
    private final int threads;

    /**
     * Loads the model.
     *
     * @param weights the renal-mtl HDF5 file
     * @param threads intra-op threads
     * @throws BenchmarkSetupException if {@code threads} cannot be honoured
     */
    public RenalMtlForward(Path weights, int threads) {
        this.weights = weights;
        this.threads = threads;
        requirePool(threads);
        model = Model.load(weights, Device.CPU);
    }

    /**
     * Refuses a thread count oneDNN's OpenMP pool would not use (shared with the baseline engine,
     * which runs on the same pool).
     *
     * @param threads intra-op threads asked for
     * @throws BenchmarkSetupException unless {@code OMP_NUM_THREADS}, or else the number of
     *     processors, equals {@code threads}
     */
    static void requirePool(int threads) {
        String omp = System.getenv("OMP_NUM_THREADS");
        int pool = omp != null && omp.strip().matches("\\d+") ? Integer.parseInt(omp.strip())
                : Runtime.getRuntime().availableProcessors();
        if (pool != threads) {
            throw new BenchmarkSetupException("renal-mtl's oneDNN pool would use " + pool + " threads, not " + threads
                    + ": start the JVM with OMP_NUM_THREADS=" + threads);
        }
    }

    @Override
    public String name() {
        return RatioTable.RENAL_MTL;
    }

    @Override
    public String describe() {
        return "renal-mtl engine (CPU, oneDNN OpenMP pool) on " + weights.getFileName() + ", intra-op threads "
                + threads;
    }

    @Override
    public void forward(MemorySegment input, int cases, MemorySegment probabilities) {
        model.forward(input, cases, probabilities);
    }

    /**
     * @return the fused features that entered the (first) network's head in the last forward, float32
     *     (B, P·F) for batch fusion
     */
    @Override
    public Optional<float[]> lastFeatures() {
        return Optional.of(model.lastFeatures(0));
    }

    @Override
    public void close() {
        model.close();
    }
}
