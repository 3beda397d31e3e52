package org.renalmtl.cli.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.renalmtl.engine.CompiledGraph;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.Graphs;
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.graph.Activation;
import org.renalmtl.engine.graph.Dims3;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Macs;
import org.renalmtl.engine.graph.Op;
import org.renalmtl.weights.Tensor;

/**
 * The machine's attainable float32 peak as {@code bench} measures it: one large, compute-bound 3³
 * convolution (256 → 256 channels over 16³ voxels, 14.5 GFLOP) through the engine's own oneDNN path,
 * the best of {@value #RUNS} runs. It is what the reference model's own primitive reaches at a shape
 * where memory does not limit it, so "fraction of peak" says how much the model's smaller, memory-bound
 * layers lose; it is not the vendor's theoretical FMA rate.
 */
final class PeakConv {
    /** Timed runs; the best counts (the others lost time to the machine, not to the convolution). */
    static final int RUNS = 10;
    /** What the figure is, for the JSON. */
    static final String METHOD = "oneDNN conv3d 256->256, 3^3, pad 1, input 1x256x16^3 (the engine's conv path), "
            + "best of " + RUNS + " runs after 2 untimed";
    private static final int C = 256;
    private static final int S = 16;

    private PeakConv() {}

    /** @return {best GFLOP/s, FLOPs of one run} */
    static double[] measure() {
        try (Arena arena = Arena.ofConfined()) {
            long[] wShape = {C, C, 3, 3, 3};
            MemorySegment w = arena.allocate((long) C * C * 27 * Float.BYTES, 64);
            SplittableRandom rnd = new SplittableRandom(1);
            for (long i = 0; i < w.byteSize() / Float.BYTES; i++) {
                w.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (0.02 * rnd.nextGaussian()));
            }
            Graph.Builder b = new Graph.Builder();
            int x = b.input("x", 1, C, S, S, S);
            b.constant(new Tensor("w", wShape, w));
            int y = b.add("conv", new Op.Conv3d("w", null, Dims3.of(1), Dims3.of(1), Dims3.of(1), false, Activation.NONE), x);
            b.output("y", y);
            Graph g = b.build();
            long flops = 2 * Macs.of(g);
            MemorySegment in = arena.allocate((long) C * S * S * S * Float.BYTES, 64);
            for (long i = 0; i < in.byteSize() / Float.BYTES; i++) {
                in.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextGaussian());
            }
            MemorySegment out = arena.allocate(g.value(y).bytes(), 64);
            try (CompiledGraph cg = Graphs.compile(g, Device.CPU, Precision.FP32)) {
                for (int i = 0; i < 2; i++) {
                    cg.run(new MemorySegment[] {in}, new MemorySegment[] {out});
                }
                long best = Long.MAX_VALUE;
                for (int i = 0; i < RUNS; i++) {
                    long t = System.nanoTime();
                    cg.run(new MemorySegment[] {in}, new MemorySegment[] {out});
                    best = Math.min(best, System.nanoTime() - t);
                }
                return new double[] {flops / (double) best, flops};
            }
        }
    }
}
