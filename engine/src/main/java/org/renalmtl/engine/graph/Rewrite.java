package org.renalmtl.engine.graph;

import java.util.Arrays;
import java.util.Map;

/**
 * A pass's copy of a graph under construction: a builder from {@link Graph#rebuild()} and the map
 * from the old graph's value ids to the new one's, so that a pass copies the nodes it keeps, emits
 * the ones it rewrites, and says which new value stands for an old one it dropped.
 */
final class Rewrite {
    private final Graph old;
    private final Graph.Builder builder;
    private final int[] ids; // old value id → new value id, -1 until defined

    Rewrite(Graph old) {
        this.old = old;
        this.builder = old.rebuild();
        this.ids = new int[old.values().size()];
        Arrays.fill(ids, -1);
        // rebuild() declares the inputs first and in order, so the k-th input is new value k.
        int k = 0;
        for (int in : old.inputs().values()) {
            ids[in] = k++;
        }
    }

    /** @return the builder, to add constants */
    Graph.Builder builder() {
        return builder;
    }

    /** Copies node {@code n} unchanged (its inputs mapped). */
    void copy(Node n) {
        alias(n.output(), add(n.name(), n.op(), n.inputs()));
    }

    /**
     * Adds a node reading old values {@code in}.
     *
     * @return the new node's output value id
     */
    int add(String name, Op op, int... in) {
        int[] mapped = new int[in.length];
        for (int i = 0; i < in.length; i++) {
            mapped[i] = ids[in[i]];
            if (mapped[i] < 0) {
                throw new IllegalStateException("node " + name + " reads " + old.value(in[i]).name()
                        + " before the rewrite defines it");
            }
        }
        return builder.add(name, op, mapped);
    }

    /** Records that new value {@code now} holds what old value {@code was} held. */
    void alias(int was, int now) {
        ids[was] = now;
    }

    /** @return the new graph, with the old graph's outputs under their names */
    Graph build() {
        for (Map.Entry<String, Integer> out : old.outputs().entrySet()) {
            int id = ids[out.getValue()];
            if (id < 0) {
                throw new IllegalStateException("the rewrite dropped output " + out.getKey());
            }
            builder.output(out.getKey(), id);
        }
        return builder.build();
    }
}
