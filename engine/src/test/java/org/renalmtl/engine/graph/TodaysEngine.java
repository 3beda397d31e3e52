package org.renalmtl.engine.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.renalmtl.engine.classifier.BackboneGraph;
import org.renalmtl.engine.classifier.HeadGraph;
import org.renalmtl.weights.ModelConfig;

/**
 * The oracle: today's engine's description of a network ({@link BackboneGraph}, {@link HeadGraph}, and
 * the wiring {@code CpuHead} and {@code CpuNetwork} give them), compared op for op with a graph after
 * {@link FoldBatchNorm} and {@link FuseResidual}. Weights and biases must be bit for bit the same.
 */
final class TodaysEngine {
    private TodaysEngine() {}

    /**
     * Asserts that the graph's backbone nodes under {@code prefix} are {@code old}'s ops one to one.
     *
     * @param in the graph value that holds the backbone's input
     * @param samples the backbone's batch (cases, or cases·phases for batch fusion)
     * @return how many type-A shortcuts were matched (so that a caller can check some were)
     */
    static int assertBackbone(BackboneGraph old, Graph g, String prefix, int in, long samples) {
        List<Node> mine = g.nodes().stream().filter(n -> n.name().startsWith(prefix) && switch (n.op()) {
            case Op.Conv3d c -> true;
            case Op.ShortcutA a -> true;
            case Op.MaxPool3d p -> true;
            case Op.GlobalAvgPool p -> true;
            default -> false;
        }).toList();
        assertEquals(old.ops().size(), mine.size(), prefix + " op count");
        Map<Integer, Integer> values = new HashMap<>(Map.of(0, in)); // old value → graph value
        int shortcutsA = 0;
        for (int i = 0; i < mine.size(); i++) {
            Node n = mine.get(i);
            org.renalmtl.engine.classifier.Op o = old.ops().get(i);
            String what = prefix + " op " + i + " (" + n.name() + ")";
            assertEquals(values.get(o.src()), n.input(0), what + " reads the wrong value");
            switch (o) {
                case org.renalmtl.engine.classifier.Op.Conv c when c.identityShortcut() -> {
                    // Today's type-A shortcut is a 1³ strided conv with an identity weight and no bias:
                    // subsampling and zero channels, which is ShortcutA's definition.
                    Op.ShortcutA a = assertInstanceOf(Op.ShortcutA.class, n.op(), what);
                    assertEquals(prefix + c.name().replace("shortcutA", "downsample"), n.name(), what);
                    assertArrayEquals(new int[] {a.stride(), a.stride(), a.stride()}, c.stride(), what);
                    assertArrayEquals(new int[] {1, 1, 1}, c.kernel(), what);
                    assertEquals(c.cout(), a.channels(), what);
                    float[] identity = new float[c.cout() * c.cin()];
                    for (int k = 0; k < c.cin(); k++) {
                        identity[k * c.cin() + k] = 1f;
                    }
                    assertArrayEquals(identity, c.weight(), what);
                    assertArrayEquals(new float[c.cout()], c.bias(), what);
                    assertTrue(!c.relu() && c.residual() < 0, what);
                    shortcutsA++;
                }
                case org.renalmtl.engine.classifier.Op.Conv c -> {
                    Op.Conv3d v = assertInstanceOf(Op.Conv3d.class, n.op(), what);
                    String name = c.name().endsWith("downsample") ? c.name() + ".0" : c.name();
                    assertEquals(prefix + name, n.name(), what);
                    long[] k = {c.cout(), c.cin(), c.kernel()[0], c.kernel()[1], c.kernel()[2]};
                    assertArrayEquals(k, g.constant(v.weight()).shape(), what);
                    assertEquals(Dims3.of(c.stride()), v.stride(), what);
                    assertEquals(Dims3.of(c.padding()), v.padding(), what);
                    assertEquals(Dims3.of(c.dilation()), v.dilation(), what);
                    assertEquals(c.relu() ? Activation.RELU : Activation.NONE, v.activation(), what);
                    assertEquals(c.residual() >= 0, v.residual(), what + " residual");
                    if (v.residual()) {
                        assertEquals(values.get(c.residual()), n.input(1), what + " adds the wrong residual");
                    }
                    assertArrayEquals(c.weight(), g.constant(v.weight()).toArray(), what + " weight");
                    assertNotNull(v.bias(), what);
                    assertArrayEquals(c.bias(), g.constant(v.bias()).toArray(), what + " bias");
                }
                case org.renalmtl.engine.classifier.Op.MaxPool m -> {
                    Op.MaxPool3d p = assertInstanceOf(Op.MaxPool3d.class, n.op(), what);
                    assertEquals(new Op.MaxPool3d(Dims3.of(m.kernel()), Dims3.of(m.stride()), Dims3.of(m.padding())), p);
                }
                case org.renalmtl.engine.classifier.Op.GlobalAvgPool p ->
                    assertInstanceOf(Op.GlobalAvgPool.class, n.op(), what);
            }
            org.renalmtl.engine.classifier.Value ov = old.values().get(o.dst());
            long[] shape = o instanceof org.renalmtl.engine.classifier.Op.GlobalAvgPool
                    ? new long[] {samples, ov.channels()}
                    : new long[] {samples, ov.channels(), ov.d(), ov.h(), ov.w()};
            assertArrayEquals(shape, g.value(n.output()).shape(), what + " shape");
            values.put(o.dst(), n.output());
        }
        assertEquals(mine.getLast().output(), values.get(old.output()));
        return shortcutsA;
    }

    /**
     * Asserts that the graph's head is {@code old}: every Linear by name with its weights, bias and
     * activation, every expert and gate reading what {@code CpuHead} feeds it, every gate mixing the
     * experts of its selection in order, and the probabilities made of the towers in task order.
     */
    static void assertHead(HeadGraph old, Graph g, ModelConfig.Network net, int features) {
        Map<String, Node> byName = new HashMap<>();
        g.nodes().forEach(n -> byName.put(n.name(), n));
        String p = net.prefix() + "head.";
        int probabilities = g.outputs().get(ClassifierGraphs.PROBABILITIES);
        if (old.levels().isEmpty()) {
            assertEquals(probabilities, mlp(old.towers().getFirst(), g, byName, p, "hidden.", features, true));
            return;
        }
        ModelConfig.Ple ple = (ModelConfig.Ple) net.head();
        int tasks = net.tasks().size();
        int m = ple.taskExperts();
        int[] taskIn = new int[tasks];
        Arrays.fill(taskIn, features);
        int sharedIn = features;
        for (int j = 0; j < old.levels().size(); j++) {
            HeadGraph.Level level = old.levels().get(j);
            String lp = p + "levels." + j + ".";
            int[] experts = new int[level.experts().size()];
            for (int e = 0; e < experts.length; e++) {
                // CpuHead.expertInput: task experts read their task's input, the rest the shared one.
                boolean task = e < tasks * m;
                String ep = task ? lp + "task_experts." + e / m + "." + e % m + "."
                        : lp + "shared_experts." + (e - tasks * m) + ".";
                int in = task ? taskIn[e / m] : sharedIn;
                experts[e] = mlp(level.experts().get(e), g, byName, ep, "layers.", in, false);
            }
            int[] taskOut = new int[tasks];
            for (int t = 0; t < tasks; t++) {
                HeadGraph.Gate gate = level.taskGates().get(t);
                int logits = mlp(gate.mlp(), g, byName, lp + "task_gates." + t + ".", "hidden.", taskIn[t], false);
                taskOut[t] = gateMix(byName.get(lp + "task_outputs." + t), logits, gate.selection(), experts);
            }
            assertEquals(j < old.levels().size() - 1, level.sharedGate() != null);
            if (level.sharedGate() != null) {
                HeadGraph.Gate gate = level.sharedGate();
                int logits = mlp(gate.mlp(), g, byName, lp + "shared_gate.", "hidden.", sharedIn, false);
                sharedIn = gateMix(byName.get(lp + "shared_output"), logits, gate.selection(), experts);
            } else {
                assertTrue(!byName.containsKey(lp + "shared_output") && !byName.containsKey(lp + "shared_gate.out"));
            }
            taskIn = taskOut;
        }
        int[] towers = new int[tasks];
        for (int t = 0; t < tasks; t++) {
            towers[t] = mlp(old.towers().get(t), g, byName, p + "towers." + t + ".", "hidden.", taskIn[t], true);
        }
        if (tasks == 1) {
            assertEquals(towers[0], probabilities);
        } else {
            Node concat = g.nodes().get(g.producer(probabilities));
            assertInstanceOf(Op.Concat.class, concat.op());
            assertArrayEquals(towers, concat.inputs(), "probabilities: the towers in task order");
        }
    }

    /**
     * One MLP: hidden Linears {@code p+stem+i}, and for gates and towers a last Linear {@code p+"out"}
     * (experts have none: their last layer is a hidden one). Returns the MLP's output value.
     */
    private static int mlp(HeadGraph.Mlp old, Graph g, Map<String, Node> byName, String p, String stem, int in,
            boolean tower) {
        boolean endsInOut = !stem.equals("layers.");
        int x = in;
        for (int i = 0; i < old.layers().size(); i++) {
            HeadGraph.Linear l = old.layers().get(i);
            boolean last = i == old.layers().size() - 1;
            String name = last && endsInOut ? p + "out" : p + stem + i;
            Node n = byName.get(name);
            assertNotNull(n, name);
            Op.Linear op = assertInstanceOf(Op.Linear.class, n.op(), name);
            assertEquals(x, n.input(0), name + " reads the wrong value");
            assertArrayEquals(new long[] {l.out(), l.in()}, g.constant(op.weight()).shape(), name);
            assertArrayEquals(l.weight(), g.constant(op.weight()).toArray(), name + " weight");
            // Today's engine keeps zeros where a Linear has no bias; the graph names none.
            assertArrayEquals(l.bias(), op.bias() == null ? new float[l.out()] : g.constant(op.bias()).toArray(),
                    name + " bias");
            assertTrue(l.relu() || last, name);
            Activation expected = l.relu() ? Activation.RELU : tower ? Activation.SIGMOID : Activation.NONE;
            assertEquals(expected, op.activation(), name);
            x = n.output();
        }
        return x;
    }

    private static int gateMix(Node mix, int logits, int[] selection, int[] experts) {
        assertNotNull(mix);
        assertInstanceOf(Op.GateMix.class, mix.op(), mix.name());
        int[] expected = new int[1 + selection.length];
        expected[0] = logits;
        for (int i = 0; i < selection.length; i++) {
            expected[1 + i] = experts[selection[i]];
        }
        assertArrayEquals(expected, mix.inputs(), mix.name() + ": logits, then the selected experts in order");
        return mix.output();
    }
}
