package org.renalmtl.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH benchmark of one whole-model forward (R18-3P-96 MTDL by default: B = 1 case of 3 phases of
 * 96³) on the CPU: renal-mtl's engine, the engine of a baseline commit (from its jars, {@code -p
 * baseline=DIR}), libtorch running the TorchScript copy (as loaded, and frozen +
 * {@code optimize_for_inference}) and ONNX Runtime running the ONNX copy of the same HDF5 model, on
 * the same seeded input, each with {@code threads} intra-op threads. Sample-time mode: every forward
 * is timed, so the launcher can compare medians, which a burst of foreign load on a shared machine
 * moves far less than the mean. Each method runs in its own fork and loads only its own backend, so no thread
 * pool of one backend competes with another's. {@link CpuForwardLauncher} runs them all in one JMH
 * run, checks first that they compute the same probabilities, and prints the ratios.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "-Xms2g", "-Xmx6g"})
@Warmup(iterations = 3, time = 10)
@Measurement(iterations = 5, time = 10)
public class CpuForwardBenchmark {

    /** The model, the input and the output buffer every backend shares. */
    @State(Scope.Benchmark)
    public static class Fixture {
        /** The renal-mtl HDF5 model; the launcher passes an absolute path. */
        @Param("benchmarks/target/model/r18-3p-96-mtdl.h5")
        public String model;

        /** Directory written by {@code export_peers.py --out}; empty = the model's directory. */
        @Param("")
        public String peers;

        /** Intra-op threads for every backend; 0 = one per available processor. */
        @Param("0")
        public int threads;

        /** Seed of the input. */
        @Param("42")
        public long seed;

        PeerModels files;
        int threadCount;
        SeededInput input; // (B, P, D, H, W) float32
        Arena arena;
        MemorySegment probabilities; // (B, T) float32

        /** Resolves the files and fills the input. */
        @Setup(Level.Trial)
        public void setUp() {
            Path weights = Path.of(model).toAbsolutePath();
            files = PeerModels.open(weights, peers.isEmpty() ? weights.getParent() : Path.of(peers));
            threadCount = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
            input = new SeededInput(files.inputElements(), seed);
            arena = Arena.ofShared();
            probabilities = arena.allocate(ValueLayout.JAVA_FLOAT, (long) files.cases() * files.tasks());
        }

        /** Frees the input and output. */
        @TearDown(Level.Trial)
        public void tearDown() {
            input.close();
            arena.close();
        }
    }

    /** renal-mtl's engine, loaded once per trial. */
    @State(Scope.Benchmark)
    public static class RenalMtlState {
        ForwardBackend backend;

        /** @param f the shared fixture */
        @Setup(Level.Trial)
        public void setUp(Fixture f) {
            backend = CpuForwardLauncher.open(RatioTable.RENAL_MTL, f.files, f.threadCount, "");
        }

        /** Releases the model. */
        @TearDown(Level.Trial)
        public void tearDown() {
            backend.close();
        }
    }

    /** The engine of another commit (the baseline), loaded once per trial. */
    @State(Scope.Benchmark)
    public static class RenalMtlBaselineState {
        /**
         * A directory holding the baseline commit's {@code engine-*.jar} and {@code weights-*.jar}
         * ({@code run-cpu.sh --baseline COMMIT} builds one); empty = no baseline, and this benchmark
         * fails its setup (the launcher skips it instead).
         */
        @Param("")
        public String baseline;

        ForwardBackend backend;

        /** @param f the shared fixture */
        @Setup(Level.Trial)
        public void setUp(Fixture f) {
            backend = CpuForwardLauncher.open(RenalMtlBaselineForward.NAME, f.files, f.threadCount, baseline);
        }

        /** Releases the model and the baseline's jars. */
        @TearDown(Level.Trial)
        public void tearDown() {
            backend.close();
        }
    }

    /** libtorch with the TorchScript copy, loaded once per trial. */
    @State(Scope.Benchmark)
    public static class LibtorchState {
        ForwardBackend backend;

        /** @param f the shared fixture */
        @Setup(Level.Trial)
        public void setUp(Fixture f) {
            backend = CpuForwardLauncher.open("libtorch", f.files, f.threadCount, "");
        }

        /** Releases the module. */
        @TearDown(Level.Trial)
        public void tearDown() {
            backend.close();
        }
    }

    /** libtorch with the TorchScript copy frozen and optimised for inference, once per trial. */
    @State(Scope.Benchmark)
    public static class LibtorchOptimizedState {
        ForwardBackend backend;

        /** @param f the shared fixture */
        @Setup(Level.Trial)
        public void setUp(Fixture f) {
            backend = CpuForwardLauncher.open("libtorchOptimized", f.files, f.threadCount, "");
        }

        /** Releases the module. */
        @TearDown(Level.Trial)
        public void tearDown() {
            backend.close();
        }
    }

    /** ONNX Runtime with the ONNX copy, one session per trial. */
    @State(Scope.Benchmark)
    public static class OnnxRuntimeState {
        ForwardBackend backend;

        /** @param f the shared fixture */
        @Setup(Level.Trial)
        public void setUp(Fixture f) {
            backend = CpuForwardLauncher.open("onnxRuntime", f.files, f.threadCount, "");
        }

        /** Releases the session. */
        @TearDown(Level.Trial)
        public void tearDown() {
            backend.close();
        }
    }

    /**
     * renal-mtl's {@code Model.forward}.
     *
     * @return the first probability, so the call has a result
     */
    @Benchmark
    public float renalMtl(Fixture f, RenalMtlState s) {
        return run(f, s.backend);
    }

    /**
     * The baseline commit's {@code Model.forward}, called through a method handle.
     *
     * @return the first probability, so the call has a result
     */
    @Benchmark
    public float renalMtlBaseline(Fixture f, RenalMtlBaselineState s) {
        return run(f, s.backend);
    }

    /**
     * libtorch's {@code JitModule.forward}.
     *
     * @return the first probability, so the call has a result
     */
    @Benchmark
    public float libtorch(Fixture f, LibtorchState s) {
        return run(f, s.backend);
    }

    /**
     * libtorch's {@code JitModule.forward} after {@code freeze} and {@code optimize_for_inference}.
     *
     * @return the first probability, so the call has a result
     */
    @Benchmark
    public float libtorchOptimized(Fixture f, LibtorchOptimizedState s) {
        return run(f, s.backend);
    }

    /**
     * ONNX Runtime's {@code OrtSession.run}.
     *
     * @return the first probability, so the call has a result
     */
    @Benchmark
    public float onnxRuntime(Fixture f, OnnxRuntimeState s) {
        return run(f, s.backend);
    }

    private static float run(Fixture f, ForwardBackend backend) {
        backend.forward(f.input.values(), f.files.cases(), f.probabilities);
        return f.probabilities.getAtIndex(ValueLayout.JAVA_FLOAT, 0);
    }
}
