package org.renalmtl.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The renal-mtl engine of another commit (the baseline a change is held to), on the CPU, loading the
 * same HDF5 model as {@link RenalMtlForward}. Its classes come from that commit's jars through a
 * {@link BaselineClassLoader}, so they share the JVM, the bytedeco presets and oneDNN's native
 * library with the current engine and differ from it only in renal-mtl's own code. They are driven
 * through method handles on the API both commits share ({@code Model.load(Path, Device)},
 * {@code Device.CPU}, {@code forward(MemorySegment, int, MemorySegment)}, {@code lastFeatures(int)},
 * {@code close()}); a handle call costs nanoseconds against a forward of about 200 ms.
 *
 * <p>The baseline runs on the same oneDNN OpenMP pool as the current engine, so the same thread rule
 * holds: {@code OMP_NUM_THREADS} must equal the thread count asked for.
 */
public final class RenalMtlBaselineForward implements ForwardBackend {
    /** Benchmark method and backend name. */
    public static final String NAME = "renalMtlBaseline";

    private final BaselineClassLoader loader;
    private final Path dir;
    private final Path weights;
    private final int threads;
    private final Object model;
    private final MethodHandle forward; // (MemorySegment, int, MemorySegment) void, bound to model
    private final MethodHandle lastFeatures; // (int) float[], bound to model
    private final MethodHandle close; // () void, bound to model

    /**
     * Loads the baseline engine and, with it, the model.
     *
     * @param baseline a directory holding another commit's {@code engine-*.jar} and {@code weights-*.jar}
     *     (what {@code run-cpu.sh --baseline COMMIT} builds); empty = none
     * @param weights the renal-mtl HDF5 file
     * @param threads intra-op threads
     * @throws BenchmarkSetupException if {@code baseline} is empty or not such a directory, its engine
     *     lacks the API above, or {@code threads} cannot be honoured
     */
    public RenalMtlBaselineForward(String baseline, Path weights, int threads) {
        if (baseline.isBlank()) {
            throw new BenchmarkSetupException(NAME + " needs -p baseline=DIR, a directory of another commit's engine"
                    + " and weights jars (run-cpu.sh --baseline COMMIT builds one)");
        }
        RenalMtlForward.requirePool(threads);
        this.dir = Path.of(baseline).toAbsolutePath().normalize();
        this.weights = weights;
        this.threads = threads;
        this.loader = BaselineClassLoader.open(dir);
        try {
            Class<?> modelClass = loader.loadClass("org.renalmtl.engine.Model");
            Class<?> deviceClass = loader.loadClass("org.renalmtl.engine.Device");
            MethodHandles.Lookup lookup = MethodHandles.publicLookup();
            Object cpu = lookup.findStaticGetter(deviceClass, "CPU", deviceClass).invoke();
            model = lookup.findStatic(modelClass, "load", MethodType.methodType(modelClass, Path.class, deviceClass))
                    .invoke(weights, cpu);
            forward = lookup.findVirtual(modelClass, "forward", MethodType.methodType(void.class, MemorySegment.class,
                    int.class, MemorySegment.class)).bindTo(model);
            lastFeatures = lookup.findVirtual(modelClass, "lastFeatures",
                    MethodType.methodType(float[].class, int.class)).bindTo(model);
            close = lookup.findVirtual(modelClass, "close", MethodType.methodType(void.class)).bindTo(model);
        } catch (ClassNotFoundException | NoSuchMethodException | NoSuchFieldException | IllegalAccessException e) {
            closeLoader();
            throw new BenchmarkSetupException(dir + ": its engine lacks the Model API the benchmark drives: " + e);
        } catch (RuntimeException | Error e) {
            closeLoader();
            throw e;
        } catch (Throwable e) {
            closeLoader();
            throw new IllegalStateException("the baseline engine failed to load " + weights, e);
        }
    }

    /**
     * @param dir a baseline directory
     * @return the baseline's name in the ratio table: the directory's name, the commit for run-cpu.sh's
     */
    public static String label(Path dir) {
        return dir.toAbsolutePath().normalize().getFileName().toString();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String describe() {
        return "renal-mtl engine of baseline " + label(dir) + " (" + BaselineClassLoader.jars(dir).stream()
                .map(p -> p.getFileName().toString()).toList() + " in " + dir + "; CPU, oneDNN OpenMP pool) on "
                + weights.getFileName() + ", intra-op threads " + threads;
    }

    @Override
    public void forward(MemorySegment input, int cases, MemorySegment probabilities) {
        try {
            forward.invokeExact(input, cases, probabilities);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("the baseline engine's forward failed", e);
        }
    }

    @Override
    public Optional<float[]> lastFeatures() {
        try {
            return Optional.of((float[]) lastFeatures.invokeExact(0));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("the baseline engine's lastFeatures failed", e);
        }
    }

    @Override
    public void close() {
        try {
            close.invokeExact();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("the baseline engine's close failed", e);
        } finally {
            closeLoader();
        }
    }

    private void closeLoader() {
        try {
            loader.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close the baseline's jars in " + dir, e);
        }
    }
}
