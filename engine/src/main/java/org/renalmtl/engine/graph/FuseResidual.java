package org.renalmtl.engine.graph;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Fuses a residual add into the conv before it: {@code Add(act)(conv(x), r)} becomes one Conv3d with
 * {@code residual = true} reading (x, r) and applying the add's activation, which is how oneDNN's sum
 * post-op and cuDNN's z input express a residual block. The conv must have no activation and no
 * residual yet, and the add must be the only reader of its output (which is no graph output): the
 * fused conv never writes the bare conv result.
 *
 * <p>The add's first input is tried first, so a block written {@code Add(block output, shortcut)} fuses
 * its last conv and keeps the shortcut (a type-B downsample conv, itself fusable) as the residual. The
 * fused conv takes the add's place in the order, after both of its inputs exist.
 */
public final class FuseResidual {
    private FuseResidual() {}

    /**
     * @param graph the graph (run {@link FoldBatchNorm} first: a conv followed by a BatchNorm does not fuse)
     * @return the graph with every fusable conv + add pair fused
     */
    public static Graph apply(Graph graph) {
        List<Node> nodes = graph.nodes();
        Map<Integer, Integer> convOfAdd = new HashMap<>(); // add's node index → conv's node index
        Map<Integer, Integer> residualOfAdd = new HashMap<>(); // add's node index → residual value (old id)
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i).op() instanceof Op.Add) {
                for (int k = 0; k < 2; k++) {
                    int v = nodes.get(i).input(k);
                    int other = nodes.get(i).input(1 - k);
                    int p = graph.producer(v);
                    if (other != v && p >= 0 && fusable(nodes.get(p).op()) && graph.consumers(v).equals(List.of(i))
                            && !graph.outputs().containsValue(v)) {
                        convOfAdd.put(i, p);
                        residualOfAdd.put(i, other);
                        break;
                    }
                }
            }
        }
        Rewrite r = new Rewrite(graph);
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            Integer convIndex = convOfAdd.get(i);
            if (convIndex != null) {
                Node conv = nodes.get(convIndex);
                Op.Conv3d c = (Op.Conv3d) conv.op();
                Op.Add add = (Op.Add) n.op();
                Op.Conv3d fused = new Op.Conv3d(c.weight(), c.bias(), c.stride(), c.padding(), c.dilation(), true,
                        add.activation());
                int y = r.add(conv.name(), fused, conv.input(0), residualOfAdd.get(i));
                r.alias(n.output(), y);
            } else if (!convOfAdd.containsValue(i)) {
                r.copy(n);
            }
        }
        return r.build();
    }

    private static boolean fusable(Op op) {
        return op instanceof Op.Conv3d c && !c.residual() && c.activation().equals(Activation.NONE);
    }
}
