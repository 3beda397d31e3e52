package org.renalmtl.engine.graph;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.renalmtl.engine.ModelRunException;
import org.renalmtl.weights.Tensor;

/**
 * Folds eval-mode BatchNorm into the Conv3d or Linear before it: {@code scale = γ / √(var + eps)},
 * {@code w' = w · scale} per output channel, {@code b' = β + (b − mean) · scale}; the BatchNorm's
 * activation moves to the conv or Linear. A BatchNorm folds when the node that writes its input is a
 * Conv3d (no residual) or Linear without an activation, and nothing else reads that node's output
 * (nor is it a graph output): otherwise the unnormalised value is needed too, and the BatchNorm stays.
 *
 * <p>The arithmetic is the hand-written classifier engine's that this pass replaced (060882f), so that
 * folded weights stayed bit for bit the same: the scale in double, each product rounded once to float32. The folded tensors are new constants named {@code <weight>#folded} and {@code <β>#folded},
 * allocated in the caller's arena; the graph's other constants stay the caller's tensors. A caller whose
 * tensors are its own to spend (a weight file's, released once packed) may let the folded weights
 * overwrite the originals instead: the largest copy of the model made while planning is then avoided.
 */
public final class FoldBatchNorm {
    private FoldBatchNorm() {}

    /**
     * @param graph the graph
     * @param arena owner of the folded tensors' memory; must outlive the returned graph
     * @return the graph with every foldable BatchNorm folded
     * @throws ModelRunException if a folded weight or bias is not finite (a layer would compute around it)
     */
    public static Graph apply(Graph graph, Arena arena) {
        return apply(graph, arena, false);
    }

    /**
     * @param graph the graph
     * @param arena owner of the folded biases' memory (and the weights', unless overwritten)
     * @param overwrite whether a weight read by one node only may be folded in its own memory: the caller
     *     must then never use those tensors again (they hold folded values); a weight read by several
     *     nodes is always copied
     * @return the graph with every foldable BatchNorm folded
     * @throws ModelRunException if a folded weight or bias is not finite
     */
    public static Graph apply(Graph graph, Arena arena, boolean overwrite) {
        List<Node> nodes = graph.nodes();
        Map<String, Integer> readers = new HashMap<>(); // weight name → nodes that read it
        for (Node n : nodes) {
            String w = switch (n.op()) {
                case Op.Conv3d c -> c.weight();
                case Op.Linear l -> l.weight();
                default -> null;
            };
            if (w != null) {
                readers.merge(w, 1, Integer::sum);
            }
        }
        Map<Integer, Integer> foldInto = new HashMap<>(); // producer's node index → BatchNorm's node index
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i).op() instanceof Op.BatchNorm) {
                int v = nodes.get(i).input(0);
                int p = graph.producer(v);
                if (p >= 0 && foldable(nodes.get(p).op()) && graph.consumers(v).equals(List.of(i))
                        && !graph.outputs().containsValue(v)) {
                    foldInto.put(p, i);
                }
            }
        }
        Rewrite r = new Rewrite(graph);
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            Integer bnIndex = foldInto.get(i);
            if (bnIndex != null) {
                Node bn = nodes.get(bnIndex);
                int y = r.add(n.name(), fold(graph, r.builder(), arena, n, bn, overwrite, readers), n.inputs());
                r.alias(bn.output(), y);
            } else if (!foldInto.containsValue(i)) {
                r.copy(n);
            }
        }
        return r.build();
    }

    private static boolean foldable(Op op) {
        return switch (op) {
            case Op.Conv3d c -> !c.residual() && c.activation().equals(Activation.NONE);
            case Op.Linear l -> l.activation().equals(Activation.NONE);
            default -> false;
        };
    }

    /** @return the producer's op with BatchNorm {@code bnNode} folded into new constants */
    private static Op fold(Graph g, Graph.Builder b, Arena arena, Node producer, Node bnNode, boolean overwrite,
            Map<String, Integer> readers) {
        Op.BatchNorm bn = (Op.BatchNorm) bnNode.op();
        boolean conv = producer.op() instanceof Op.Conv3d;
        String weightName = conv ? ((Op.Conv3d) producer.op()).weight() : ((Op.Linear) producer.op()).weight();
        String biasName = conv ? ((Op.Conv3d) producer.op()).bias() : ((Op.Linear) producer.op()).bias();
        Tensor weight = g.constant(weightName);
        // The weight is folded where it will stay (its own memory when it may be overwritten, else a copy in
        // the arena), never through a heap array: the whole model would otherwise pass through the Java heap
        // while planning, and the heap keeps the pages it touched.
        boolean inPlace = overwrite && readers.get(weightName) == 1;
        MemorySegment w = inPlace ? weight.data() : copy(arena, weight.data(), weight.elements());
        float[] b0 = biasName == null ? null : g.constant(biasName).toArray();
        float[] gamma = g.constant(bn.scale()).toArray();
        float[] beta = g.constant(bn.bias()).toArray();
        float[] mean = g.constant(bn.mean()).toArray();
        float[] var = g.constant(bn.variance()).toArray();
        // The op holds eps as float32; the checkpoint's eps is a decimal (PyTorch's 1e-5, a double), and
        // the float's shortest decimal gives that double back, which is what the folding has always used.
        double eps = Double.parseDouble(Float.toString(bn.eps()));
        int out = gamma.length;
        long per = weight.elements() / out;
        float[] bias = new float[out];
        for (int c = 0; c < out; c++) {
            double scale = gamma[c] / Math.sqrt(var[c] + eps);
            for (long i = c * per; i < (c + 1) * per; i++) {
                w.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (w.getAtIndex(ValueLayout.JAVA_FLOAT, i) * scale));
            }
            // A conv's bias minus the mean in double, a Linear's in float32 (b − mean of two floats), as the
            // replaced engine's backbone and head did: probabilities stay bit for bit those it gave.
            double shifted = conv ? (b0 == null ? 0 : b0[c]) - (double) mean[c] : (b0 == null ? 0f : b0[c]) - mean[c];
            bias[c] = (float) (beta[c] + shifted * scale);
        }
        requireFinite(producer.name(), bnNode.name(), w, weight.elements(), bias);
        String fw = weightName + "#folded";
        String fb = bn.bias() + "#folded";
        b.constant(new Tensor(fw, weight.shape(), w));
        b.constant(tensor(arena, fb, new long[] {out}, bias));
        return producer.op() instanceof Op.Conv3d c
                ? new Op.Conv3d(fw, fb, c.stride(), c.padding(), c.dilation(), false, bn.activation())
                : new Op.Linear(fw, fb, bn.activation());
    }

    /**
     * Weights that are not finite once BatchNorm is folded in are refused before they run: a ReLU turns a
     * NaN into 0 (x86 max), so the network would hand out a plausible answer computed around a dead
     * layer. A weight file cannot get here (it is checked on load); weights built in memory can.
     */
    private static void requireFinite(String layer, String bn, MemorySegment weight, long elements, float[] bias) {
        for (long i = 0; i < elements; i++) {
            float v = weight.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            if (!Float.isFinite(v)) {
                throw notFinite(layer, bn, "weight", v);
            }
        }
        for (float v : bias) {
            if (!Float.isFinite(v)) {
                throw notFinite(layer, bn, "bias", v);
            }
        }
    }

    private static ModelRunException notFinite(String layer, String bn, String what, float v) {
        return new ModelRunException("layer " + layer + " folded with BatchNorm " + bn + " has a " + what + " of " + v
                + ": its tensors overflow float32 or a variance is negative");
    }

    private static MemorySegment copy(Arena arena, MemorySegment values, long elements) {
        MemorySegment seg = arena.allocate(elements * Float.BYTES, 64);
        MemorySegment.copy(values, 0, seg, 0, elements * Float.BYTES);
        return seg;
    }

    private static Tensor tensor(Arena arena, String name, long[] shape, float[] values) {
        MemorySegment seg = arena.allocate((long) values.length * Float.BYTES, 64);
        MemorySegment.copy(values, 0, seg, ValueLayout.JAVA_FLOAT, 0, values.length);
        return new Tensor(name, shape, seg);
    }
}
