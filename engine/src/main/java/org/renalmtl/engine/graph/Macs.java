package org.renalmtl.engine.graph;

/**
 * Multiply-accumulates of a graph: what FLOP counts in papers measure (2 FLOP per MAC), from the
 * convolutions, transposed convolutions and Linears; norms, pools, adds and copies are left out, as
 * papers leave them out.
 */
public final class Macs {
    private Macs() {}

    /** @return the graph's multiply-accumulates at its batch size */
    public static long of(Graph g) {
        long n = 0;
        for (Node node : g.nodes()) {
            n += switch (node.op()) {
                // Each output element: C_in · kD·kH·kW products.
                case Op.Conv3d c -> g.value(node.output()).elements() * perElement(g.constant(c.weight()).shape(), 1);
                // Each input element reaches C_out · kD·kH·kW outputs.
                case Op.ConvTranspose3d t -> g.value(node.input(0)).elements() * perElement(g.constant(t.weight()).shape(), 1);
                case Op.Linear l -> g.value(node.input(0)).dim(0) * g.constant(l.weight()).shape()[0]
                        * g.constant(l.weight()).shape()[1];
                default -> 0L;
            };
        }
        return n;
    }

    /** @return the product of a filter's axes from {@code from} on: (O, I, k…) from 1 is I·k³ */
    private static long perElement(long[] filter, int from) {
        long p = 1;
        for (int a = from; a < filter.length; a++) {
            p *= filter[a];
        }
        return p;
    }
}
