package org.renalmtl.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.UNetBuilder;
import org.renalmtl.weights.SegmentationConfig;
import org.renalmtl.weights.SegmentationFile;

/**
 * A one-off measurement, not a test: one 1×1×128³ patch through nnU-Net's default 6-stage
 * PlainConvUNet (32…320 features, strides [1,2,2,2,2,2]) with random weights on the CPU backend, or one
 * tile of a segmentation weight file's network at its patch size.
 * Run with {@code OMP_NUM_THREADS} set (see the segmentation report for the command); prints the
 * compile time and the median of {@code args[0]} (default 5) runs after one warm-up.
 */
public final class UNetTiming {
    private UNetTiming() {}

    /** @param args [runs] [S.h5]: with a segmentation weight file, one tile of its network at its patch instead */
    public static void main(String[] args) {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        if (args.length > 1) {
            try (SegmentationFile f = SegmentationFile.load(Path.of(args[1])); Arena arena = Arena.ofConfined()) {
                time(UNetBuilder.build(f.config(), f.tensors(), 1), arena, new SplittableRandom(1), runs);
            }
            return;
        }
        SegmentationConfig cfg = BuiltinUNets.nnunetDefault();
        try (Arena arena = Arena.ofConfined()) {
            time(UNetBuilder.build(cfg, BuiltinUNets.seeded(cfg, 1, arena), 1), arena, new SplittableRandom(2), runs);
        }
    }

    /** Times one tile (batch 1) through {@code g}: random input, compile time, then the median of {@code runs}. */
    private static void time(Graph g, Arena arena, SplittableRandom rnd, int runs) {
        long[] in = g.value(g.inputs().get(UNetBuilder.INPUT)).shape();
        long[] out = g.value(g.outputs().get(UNetBuilder.OUTPUT)).shape();
        MemorySegment x = arena.allocate(g.value(g.inputs().get(UNetBuilder.INPUT)).bytes(), 64);
        for (long i = 0; i < x.byteSize() / Float.BYTES; i++) {
            x.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextDouble(-1, 1));
        }
        MemorySegment y = arena.allocate(g.value(g.outputs().get(UNetBuilder.OUTPUT)).bytes(), 64);
        long t0 = System.nanoTime();
        try (CompiledGraph c = Graphs.compile(g, Device.CPU, Precision.FP32)) {
            System.out.printf("compile %.2f s, arena %d MiB%n", (System.nanoTime() - t0) / 1e9, c.arenaBytes() >> 20);
            c.run(new MemorySegment[] {x}, new MemorySegment[] {y});
            double[] t = new double[runs];
            for (int r = 0; r < runs; r++) {
                long s = System.nanoTime();
                c.run(new MemorySegment[] {x}, new MemorySegment[] {y});
                t[r] = (System.nanoTime() - s) / 1e6;
            }
            java.util.Arrays.sort(t);
            System.out.printf("engine CPU %s -> %s: median %.1f ms over %d runs (min %.1f, max %.1f)%n",
                    java.util.Arrays.toString(in), java.util.Arrays.toString(out), t[runs / 2], runs, t[0], t[runs - 1]);
        }
    }
}
