package org.renalmtl.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
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
import org.openjdk.jmh.annotations.Warmup;
import org.renalmtl.engine.CompiledGraph;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.Graphs;
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.graph.Graph;

/**
 * One op family on the CPU per {@code op} value ({@link OpFamilies}), compiled through the engine's public
 * graph entry point as the networks compile it (oneDNN primitives, the engine's own Java kernels for
 * instance norm and gate mixing); {@link OpFamilyLauncher} turns the times into GFLOP/s or GB/s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
    "-Dorg.bytedeco.javacpp.logger=slf4j"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class OpFamilyBenchmark {
    /** Which case. */
    @Param({"peak-conv", "bandwidth-add", "conv-stem", "conv-layer1", "conv-layer2-down", "conv-layer3", "conv-layer4",
        "deconv-seg", "instnorm-seg", "maxpool-stem", "avgpool-global", "linear-expert", "gatemix-ple"})
    public String op;

    private final Arena arena = Arena.ofShared();
    private CompiledGraph compiled;
    private MemorySegment[] inputs; // per graph input, dense row-major of its shape
    private MemorySegment[] outputs; // the one output

    /** Builds and compiles the case, with seeded inputs. */
    @Setup(Level.Trial)
    public void setUp() {
        OpFamilies.Case c = OpFamilies.build(op, arena);
        Graph g = c.graph();
        SplittableRandom rnd = new SplittableRandom(42);
        inputs = new MemorySegment[g.inputs().size()];
        int k = 0;
        for (int v : g.inputs().values()) {
            MemorySegment m = arena.allocate(g.value(v).bytes(), 64);
            for (long i = 0; i < g.value(v).elements(); i++) {
                m.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextGaussian());
            }
            inputs[k++] = m;
        }
        outputs = new MemorySegment[] {arena.allocate(g.value(g.outputs().get("y")).bytes(), 64)};
        compiled = Graphs.compile(g, Device.CPU, Precision.FP32);
    }

    /** Frees the compiled graph and the buffers. */
    @TearDown(Level.Trial)
    public void tearDown() {
        compiled.close();
        arena.close();
    }

    /** @return one output value, so the run is not dead code */
    @Benchmark
    public float run() {
        compiled.run(inputs, outputs);
        return outputs[0].get(ValueLayout.JAVA_FLOAT, 0);
    }
}
