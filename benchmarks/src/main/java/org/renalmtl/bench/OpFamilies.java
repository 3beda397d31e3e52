package org.renalmtl.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.SplittableRandom;
import org.renalmtl.engine.graph.Activation;
import org.renalmtl.engine.graph.Dims3;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Macs;
import org.renalmtl.engine.graph.Op;
import org.renalmtl.weights.Tensor;

/**
 * The op families of the CPU forward, each as a one-node graph at a shape the real networks run: the
 * R18-3P-96 backbone's convolutions (its three phases as a batch of 3), the segmenter's transposed
 * convolution and instance norm (nnU-Net's 32-channel level), PLE's expert Linear and gate mixing, the
 * stem's max-pool and the global average pool; plus the two yardsticks the others are held to: a
 * compute-bound conv ({@code peak-conv}, the shape {@code renal-mtl bench} measures its peak with) and a
 * memory-bound add ({@code bandwidth-add}, three streams of 85 MB).
 *
 * <p>Each case's input is a graph input, so it is plain NCDHW, and its output plain. Where the real
 * schedule hands a node a blocked layout this changes the kernel: {@code maxpool-stem} runs oneDNN's
 * {@code simple_nchw} here (about 190 ms), while in the R18-3P-96 forward the same shape reads the stem
 * conv's {@code aBcde16b} and runs {@code jit:avx512_core} (about 8 ms on one thread); ONEDNN_VERBOSE
 * evidence in {@code benchmarks/results/onednn-verbose-pools-2026-11-30T2255Z.txt}. Read that row as the
 * plain-layout fallback, not as the model's pool.
 */
final class OpFamilies {
    /** Every case, by name: the values of {@link OpFamilyBenchmark}'s {@code op} parameter. */
    static final List<String> NAMES = List.of("peak-conv", "bandwidth-add", "conv-stem", "conv-layer1", "conv-layer2-down",
            "conv-layer3", "conv-layer4", "deconv-seg", "instnorm-seg", "maxpool-stem", "avgpool-global", "linear-expert",
            "gatemix-ple");

    /**
     * One case: a graph with its inputs, and what one run does.
     *
     * @param flops 2 × multiply-accumulates (0 for ops without products)
     * @param bytes the fewest bytes one run must move: its inputs and weights read once, its output written once
     */
    record Case(String name, Graph graph, long flops, long bytes) {
        /**
         * @return whether the op is judged by FLOP/s against {@code peak-conv}; else by bytes/s against
         *     {@code bandwidth-add} (one case's Linear does 2 FLOP per weight read: memory-bound)
         */
        boolean compute() {
            return flops > 0 && !name.startsWith("linear");
        }
    }

    private OpFamilies() {}

    /** @return the case {@code name}, its constants allocated in {@code arena} */
    static Case build(String name, Arena arena) {
        Graph.Builder b = new Graph.Builder();
        SplittableRandom rnd = new SplittableRandom(7);
        int y = switch (name) {
            case "peak-conv" -> conv(b, arena, rnd, new long[] {1, 256, 16, 16, 16}, 256, 3, 1, 1);
            case "conv-stem" -> conv(b, arena, rnd, new long[] {3, 1, 96, 96, 96}, 64, 7, 2, 3);
            case "conv-layer1" -> conv(b, arena, rnd, new long[] {3, 64, 24, 24, 24}, 64, 3, 1, 1);
            case "conv-layer2-down" -> conv(b, arena, rnd, new long[] {3, 64, 24, 24, 24}, 128, 3, 2, 1);
            case "conv-layer3" -> conv(b, arena, rnd, new long[] {3, 256, 6, 6, 6}, 256, 3, 1, 1);
            case "conv-layer4" -> conv(b, arena, rnd, new long[] {3, 512, 3, 3, 3}, 512, 3, 1, 1);
            case "deconv-seg" -> {
                int x = b.input("x", 1, 64, 32, 32, 32);
                b.constant(tensor("w", new long[] {64, 32, 2, 2, 2}, arena, rnd));
                yield b.add("deconv", new Op.ConvTranspose3d("w", null, Dims3.of(2), Dims3.of(0), Dims3.of(0),
                        Activation.NONE), x);
            }
            case "instnorm-seg" -> {
                int x = b.input("x", 1, 32, 64, 64, 64);
                b.constant(tensor("g", new long[] {32}, arena, rnd));
                b.constant(tensor("beta", new long[] {32}, arena, rnd));
                yield b.add("norm", new Op.InstanceNorm3d("g", "beta", 1e-5f,
                        new Activation(Activation.Kind.LEAKY_RELU, 0.01f)), x);
            }
            case "maxpool-stem" -> b.add("pool", new Op.MaxPool3d(Dims3.of(3), Dims3.of(2), Dims3.of(1)),
                    b.input("x", 3, 64, 48, 48, 48));
            case "avgpool-global" -> b.add("gap", new Op.GlobalAvgPool(), b.input("x", 3, 512, 3, 3, 3));
            case "linear-expert" -> {
                int x = b.input("x", 1, 1536);
                b.constant(tensor("w", new long[] {256, 1536}, arena, rnd));
                b.constant(tensor("bias", new long[] {256}, arena, rnd));
                yield b.add("fc", new Op.Linear("w", "bias", Activation.RELU), x);
            }
            case "gatemix-ple" -> {
                int[] in = new int[5];
                in[0] = b.input("logits", 1, 4);
                for (int e = 1; e < in.length; e++) {
                    in[e] = b.input("expert" + e, 1, 128);
                }
                yield b.add("mix", new Op.GateMix(), in);
            }
            case "bandwidth-add" -> b.add("add", new Op.Add(Activation.NONE), b.input("a", 3, 64, 48, 48, 48),
                    b.input("b", 3, 64, 48, 48, 48));
            default -> throw new IllegalArgumentException("unknown op case " + name + " (one of " + NAMES + ")");
        };
        b.output("y", y);
        Graph g = b.build();
        long bytes = g.value(y).bytes();
        for (int v : g.inputs().values()) {
            bytes += g.value(v).bytes();
        }
        for (Tensor t : g.constants().values()) {
            bytes += t.elements() * Float.BYTES;
        }
        return new Case(name, g, 2 * Macs.of(g), bytes);
    }

    private static int conv(Graph.Builder b, Arena arena, SplittableRandom rnd, long[] x, int out, int k, int stride,
            int pad) {
        int in = b.input("x", x);
        b.constant(tensor("w", new long[] {out, x[1], k, k, k}, arena, rnd));
        return b.add("conv", new Op.Conv3d("w", null, Dims3.of(stride), Dims3.of(pad), Dims3.of(1), false,
                Activation.RELU), in);
    }

    static Tensor tensor(String name, long[] shape, Arena arena, SplittableRandom rnd) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        MemorySegment m = arena.allocate(n * Float.BYTES, 64);
        for (long i = 0; i < n; i++) {
            m.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (0.05 * rnd.nextGaussian()));
        }
        return new Tensor(name, shape, m);
    }
}
