package org.renalmtl.engine.graph;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.renalmtl.weights.Tensor;

/**
 * The cases of the per-op oracle (ggml's {@code test-backend-ops}): one-node graphs covering every IR op
 * with odd shapes, tails (channel counts that are not multiples of a vector or block width), batch 1
 * and N, per-axis strides, dilation and every activation; random inputs and constants from a seed.
 * Shared by every backend's oracle test, so the CPU and CUDA backends are held to the same cases.
 */
public final class OpCases {
    /**
     * One case.
     *
     * @param name what it covers, for the test's display name
     * @param graph the one-node graph (its constants live in the arena passed to {@link #all})
     * @param inputs the graph inputs' contents // per input: dense row-major
     */
    public record Case(String name, Graph graph, Map<String, float[]> inputs) {
        /** @return the node under test */
        public Node node() {
            return graph.nodes().getLast();
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private final Arena arena;
    private final SplittableRandom random;
    private final List<Case> cases = new ArrayList<>();

    private OpCases(Arena arena, long seed) {
        this.arena = arena;
        this.random = new SplittableRandom(seed);
    }

    /** @return every case, constants allocated in {@code arena} */
    public static List<Case> all(Arena arena) {
        OpCases c = new OpCases(arena, 20261130);
        c.convs();
        c.transposedConvs();
        c.norms();
        c.pools();
        c.vectors();
        c.dataMovement();
        return c.cases;
    }

    private void convs() {
        Activation[] acts = {Activation.NONE, Activation.RELU, Activation.leakyRelu(0.01f), Activation.SIGMOID,
            Activation.TANH};
        for (Activation act : acts) {
            conv("conv3d 3→17 k3 s1 p1 " + act, 1, 3, 17, new long[] {5, 7, 9}, 3, Dims3.of(1), Dims3.of(1), Dims3.of(1),
                    true, false, act);
        }
        conv("conv3d batch 2, 17→5, k3, stride (1,2,2), pad (1,0,1)", 2, 17, 5, new long[] {6, 9, 7}, 3,
                new Dims3(1, 2, 2), new Dims3(1, 0, 1), Dims3.of(1), true, false, Activation.RELU);
        conv("conv3d dilation 2, pad 2, no bias", 1, 8, 16, new long[] {9, 8, 7}, 3, Dims3.of(1), Dims3.of(2),
                Dims3.of(2), false, false, Activation.NONE);
        conv("conv3d stem k7 s2 p3, 1→16, odd volume", 2, 1, 16, new long[] {13, 11, 9}, 7, Dims3.of(2), Dims3.of(3),
                Dims3.of(1), false, false, Activation.RELU);
        conv("conv3d 1×1×1 stride 2 (shortcut B)", 1, 16, 32, new long[] {7, 7, 7}, 1, Dims3.of(2), Dims3.of(0),
                Dims3.of(1), true, false, Activation.NONE);
        conv("conv3d residual + relu", 2, 16, 16, new long[] {6, 5, 7}, 3, Dims3.of(1), Dims3.of(1), Dims3.of(1), false,
                true, Activation.RELU);
        conv("conv3d residual, 19 channels (tail), leaky 0.2", 1, 19, 19, new long[] {5, 5, 5}, 3, Dims3.of(1),
                Dims3.of(1), Dims3.of(1), true, true, Activation.leakyRelu(0.2f));
    }

    private void conv(String name, int n, int cin, int cout, long[] dhw, int k, Dims3 stride, Dims3 pad, Dims3 dil,
            boolean bias, boolean residual, Activation act) {
        build(name, b -> {
            int x = b.input("x", n, cin, dhw[0], dhw[1], dhw[2]);
            String w = constant(b, "w", cout, cin, k, k, k);
            String bi = bias ? constant(b, "b", cout) : null;
            Op.Conv3d op = new Op.Conv3d(w, bi, stride, pad, dil, residual, act);
            if (residual) {
                // The residual cases keep the volume (stride 1, "same" padding): the residual is (n, cout, D, H, W).
                int r = b.input("residual", n, cout, dhw[0], dhw[1], dhw[2]);
                b.output("y", b.add("conv", op, x, r));
            } else {
                b.output("y", b.add("conv", op, x));
            }
        });
    }

    private void transposedConvs() {
        build("conv_transpose3d k2 s2 (nnU-Net), 32→16, batch 2", b -> {
            int x = b.input("x", 2, 32, 3, 4, 5);
            String w = constant(b, "w", 32, 16, 2, 2, 2);
            b.output("y", b.add("up", new Op.ConvTranspose3d(w, constant(b, "b", 16), Dims3.of(2), Dims3.of(0), Dims3.of(0),
                    Activation.NONE), x));
        });
        build("conv_transpose3d k3 s2 p1 output padding 1, 5→7, relu", b -> {
            int x = b.input("x", 1, 5, 4, 3, 5);
            String w = constant(b, "w", 5, 7, 3, 3, 3);
            b.output("y", b.add("up", new Op.ConvTranspose3d(w, null, Dims3.of(2), Dims3.of(1), Dims3.of(1),
                    Activation.RELU), x));
        });
    }

    private void norms() {
        build("instance_norm3d affine + leaky 0.01, batch 2, 6 channels", b -> {
            int x = b.input("x", 2, 6, 5, 6, 7);
            b.output("y", b.add("norm", new Op.InstanceNorm3d(positive(b, "g", 6), constant(b, "b", 6), 1e-5f,
                    Activation.leakyRelu(0.01f)), x));
        });
        build("instance_norm3d not affine, 17 channels", b -> {
            int x = b.input("x", 1, 17, 4, 5, 3);
            b.output("y", b.add("norm", new Op.InstanceNorm3d(null, null, 1e-5f, Activation.NONE), x));
        });
        build("batch_norm 5-D + relu", b -> {
            int x = b.input("x", 2, 5, 3, 4, 5);
            b.output("y", b.add("bn", new Op.BatchNorm(constant(b, "g", 5), constant(b, "b", 5), constant(b, "m", 5),
                    positive(b, "v", 5), 1e-5f, Activation.RELU), x));
        });
        build("batch_norm 2-D", b -> {
            int x = b.input("x", 3, 33);
            b.output("y", b.add("bn", new Op.BatchNorm(constant(b, "g", 33), constant(b, "b", 33), constant(b, "m", 33),
                    positive(b, "v", 33), 1e-5f, Activation.NONE), x));
        });
    }

    private void pools() {
        build("max_pool3d k3 s2 p1, odd volume, 17 channels", b -> {
            int x = b.input("x", 2, 17, 9, 8, 7);
            b.output("y", b.add("pool", new Op.MaxPool3d(Dims3.of(3), Dims3.of(2), Dims3.of(1)), x));
        });
        build("max_pool3d k2 s2 p0, odd volume (floor)", b -> {
            int x = b.input("x", 1, 4, 5, 7, 9);
            b.output("y", b.add("pool", new Op.MaxPool3d(Dims3.of(2), Dims3.of(2), Dims3.of(0)), x));
        });
        build("global_avg_pool, batch 3", b -> {
            int x = b.input("x", 3, 19, 3, 5, 4);
            b.output("y", b.add("gap", new Op.GlobalAvgPool(), x));
        });
        build("shortcut_a stride 2, 16→32 channels", b -> {
            int x = b.input("x", 2, 16, 5, 6, 7);
            b.output("y", b.add("shortcut", new Op.ShortcutA(2, 32), x));
        });
    }

    private void vectors() {
        for (Activation act : new Activation[] {Activation.NONE, Activation.RELU, Activation.SIGMOID, Activation.TANH}) {
            build("linear 37→11 " + act + ", batch 3", b -> {
                int x = b.input("x", 3, 37);
                b.output("y", b.add("fc", new Op.Linear(constant(b, "w", 11, 37), constant(b, "b", 11), act), x));
            });
        }
        build("linear without bias, batch 1", b -> {
            int x = b.input("x", 1, 64);
            b.output("y", b.add("fc", new Op.Linear(constant(b, "w", 1, 64), null, Activation.NONE), x));
        });
        build("gate_mix of 3 experts, batch 2", b -> {
            int logits = b.input("logits", 2, 3);
            int e0 = b.input("e0", 2, 13);
            int e1 = b.input("e1", 2, 13);
            int e2 = b.input("e2", 2, 13);
            b.output("y", b.add("gate", new Op.GateMix(), logits, e0, e1, e2));
        });
        build("add + relu, 5-D", b -> {
            int x = b.input("x", 2, 7, 3, 4, 5);
            int y = b.input("y", 2, 7, 3, 4, 5);
            b.output("z", b.add("add", new Op.Add(Activation.RELU), x, y));
        });
    }

    private void dataMovement() {
        build("concat of 3 volumes, 5+3+17 channels, batch 2", b -> {
            int x = b.input("x", 2, 5, 3, 4, 5);
            int y = b.input("y", 2, 3, 3, 4, 5);
            int z = b.input("z", 2, 17, 3, 4, 5);
            b.output("c", b.add("cat", new Op.Concat(), x, y, z));
        });
        build("concat of 2 vectors", b -> {
            int x = b.input("x", 3, 10);
            int y = b.input("y", 3, 6);
            b.output("c", b.add("cat", new Op.Concat(), x, y));
        });
        build("slice phase 1 of 3 (axis 1), batch 2", b -> {
            int x = b.input("x", 2, 3, 4, 5, 6);
            b.output("y", b.add("slice", new Op.Slice(1, 1, 1), x));
        });
        build("reshape phases into the batch", b -> {
            int x = b.input("x", 2, 3, 4, 5, 6);
            b.output("y", b.add("reshape", new Op.Reshape(new long[] {6, 1, 4, 5, 6}), x));
        });
    }

    private void build(String name, Consumer<Graph.Builder> body) {
        Graph.Builder b = new Graph.Builder();
        body.accept(b);
        Graph g = b.build();
        Map<String, float[]> in = new LinkedHashMap<>();
        g.inputs().forEach((n, id) -> in.put(n, randoms(g.value(id).elements(), 1f)));
        cases.add(new Case(name, g, in));
    }

    private String constant(Graph.Builder b, String name, long... shape) {
        return tensor(b, name, shape, false);
    }

    /** Variances and norm scales: positive, as trained ones are. */
    private String positive(Graph.Builder b, String name, long... shape) {
        return tensor(b, name, shape, true);
    }

    private String tensor(Graph.Builder b, String name, long[] shape, boolean positive) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] v = randoms(n, 0.5f);
        if (positive) {
            for (int i = 0; i < v.length; i++) {
                v[i] = 0.5f + Math.abs(v[i]);
            }
        }
        MemorySegment seg = arena.allocate(n * Float.BYTES, 64);
        MemorySegment.copy(v, 0, seg, ValueLayout.JAVA_FLOAT, 0, v.length);
        b.constant(new Tensor(name, shape, seg));
        return name;
    }

    private float[] randoms(long n, float scale) {
        float[] a = new float[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (random.nextGaussian() * scale);
        }
        return a;
    }
}
