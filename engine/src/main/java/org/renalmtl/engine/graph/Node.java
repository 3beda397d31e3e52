package org.renalmtl.engine.graph;

import java.util.Arrays;

/**
 * One op applied to values, producing one value.
 *
 * @param name unique in the graph; the PyTorch module path where there is one ({@code layer1.0.conv1})
 * @param op what it computes, with its constants named
 * @param inputs value ids, in the op's order
 * @param output the value it writes
 */
public record Node(String name, Op op, int[] inputs, int output) {
    /** Copies the inputs, so a node is immutable. */
    public Node {
        inputs = inputs.clone();
    }

    @Override
    public int[] inputs() {
        return inputs.clone();
    }

    /** @return input {@code i}'s value id */
    public int input(int i) {
        return inputs[i];
    }

    /** @return how many inputs */
    public int arity() {
        return inputs.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Node n && n.name.equals(name) && n.op.equals(op) && Arrays.equals(n.inputs, inputs)
                && n.output == output;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + output;
    }

    @Override
    public String toString() {
        return name + " = " + op + Arrays.toString(inputs) + " -> " + output;
    }
}
