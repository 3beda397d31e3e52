package org.renalmtl.engine.graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.renalmtl.weights.Tensor;

/**
 * A network as data: values with shapes, nodes in execution order (each reads values defined before
 * it), named inputs and outputs, and the constants (weights) its ops name. Immutable; built with
 * {@link Builder}, which checks every op's shape rule as nodes are added, so a built graph is
 * well-formed. Shapes are concrete: a graph is built per input size, as plans are.
 *
 * <p>Constants are the weight tensors themselves (no copy): whoever built the graph keeps their memory
 * alive while the graph is used.
 */
public final class Graph {
    private final List<Value> values;
    private final List<Node> nodes;
    private final Map<String, Integer> inputs;
    private final Map<String, Integer> outputs;
    private final Map<String, Tensor> constants;
    private final int[] producer; // per value: index of the node that writes it, -1 for a graph input

    private Graph(Builder b) {
        this.values = List.copyOf(b.values);
        this.nodes = List.copyOf(b.nodes);
        this.inputs = Collections.unmodifiableMap(new LinkedHashMap<>(b.inputs));
        this.outputs = Collections.unmodifiableMap(new LinkedHashMap<>(b.outputs));
        this.constants = Collections.unmodifiableMap(new LinkedHashMap<>(b.constants));
        this.producer = new int[values.size()];
        Arrays.fill(producer, -1);
        for (int i = 0; i < nodes.size(); i++) {
            producer[nodes.get(i).output()] = i;
        }
    }

    /** @return every value, indexed by {@link Value#id} */
    public List<Value> values() {
        return values;
    }

    /** @return value {@code id} */
    public Value value(int id) {
        return values.get(id);
    }

    /** @return the nodes in execution order */
    public List<Node> nodes() {
        return nodes;
    }

    /** @return graph inputs: name → value id, in declaration order */
    public Map<String, Integer> inputs() {
        return inputs;
    }

    /** @return graph outputs: name → value id, in declaration order */
    public Map<String, Integer> outputs() {
        return outputs;
    }

    /** @return the constants by name */
    public Map<String, Tensor> constants() {
        return constants;
    }

    /**
     * @return the constant named {@code name}
     * @throws IllegalArgumentException if there is none
     */
    public Tensor constant(String name) {
        Tensor t = constants.get(name);
        if (t == null) {
            throw new IllegalArgumentException("graph has no constant '" + name + "'");
        }
        return t;
    }

    /** @return index of the node that writes value {@code id}, or -1 for a graph input */
    public int producer(int id) {
        return producer[id];
    }

    /** @return indices of the nodes that read value {@code id}, in execution order */
    public List<Integer> consumers(int id) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            for (int in : nodes.get(i).inputs()) {
                if (in == id) {
                    out.add(i);
                    break;
                }
            }
        }
        return out;
    }

    /** @return a builder that starts from this graph's inputs and constants, for passes that rewrite nodes */
    public Builder rebuild() {
        Builder b = new Builder();
        for (Map.Entry<String, Tensor> c : constants.entrySet()) {
            b.constant(c.getValue());
        }
        for (Map.Entry<String, Integer> in : inputs.entrySet()) {
            b.input(in.getKey(), values.get(in.getValue()).shape());
        }
        return b;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder();
        inputs.forEach((n, v) -> s.append("input ").append(values.get(v)).append('\n'));
        for (Node n : nodes) {
            s.append(values.get(n.output())).append(" = ").append(n.op()).append('(');
            int[] in = n.inputs();
            for (int i = 0; i < in.length; i++) {
                s.append(i == 0 ? "" : ", ").append(values.get(in[i]).name());
            }
            s.append(")\n");
        }
        outputs.forEach((n, v) -> s.append("output ").append(n).append(" = ").append(values.get(v).name()).append('\n'));
        return s.toString();
    }

    /** Builds a graph node by node, checking each op's shape rule on the way. */
    public static final class Builder {
        private final List<Value> values = new ArrayList<>();
        private final List<Node> nodes = new ArrayList<>();
        private final Map<String, Integer> inputs = new LinkedHashMap<>();
        private final Map<String, Integer> outputs = new LinkedHashMap<>();
        private final Map<String, Tensor> constants = new LinkedHashMap<>();
        private final Set<String> names = new HashSet<>();

        /** An empty graph. */
        public Builder() {}

        /**
         * Adds a constant under its tensor name; adding the same tensor again is a no-op.
         *
         * @throws IllegalArgumentException if another tensor of that name is there
         */
        public Builder constant(Tensor t) {
            Tensor old = constants.putIfAbsent(t.name(), t);
            if (old != null && old != t) {
                throw new IllegalArgumentException("two constants named '" + t.name() + "'");
            }
            return this;
        }

        /** @return whether a constant of this name was added */
        public boolean hasConstant(String name) {
            return constants.containsKey(name);
        }

        /** @return the constant of this name (for passes that fold constants) */
        public Tensor constantNamed(String name) {
            Tensor t = constants.get(name);
            if (t == null) {
                throw new IllegalArgumentException("graph has no constant '" + name + "'");
            }
            return t;
        }

        /**
         * Declares a graph input.
         *
         * @return its value id
         */
        public int input(String name, long... shape) {
            int id = newValue(name, shape);
            inputs.put(name, id);
            return id;
        }

        /** @return the shape of value {@code id} added so far */
        public long[] shape(int id) {
            return values.get(id).shape();
        }

        /**
         * Appends a node; its inputs must be values already defined.
         *
         * @return the id of its output value
         * @throws IllegalArgumentException if the name is taken, an input is unknown, a constant is
         *     missing, or the op's shape rule refuses the inputs (the message names the node)
         */
        public int add(String name, Op op, int... in) {
            long[][] shapes = new long[in.length][];
            for (int i = 0; i < in.length; i++) {
                if (in[i] < 0 || in[i] >= values.size()) {
                    throw new IllegalArgumentException("node " + name + ": input " + i + " is not a value of this graph");
                }
                shapes[i] = values.get(in[i]).shape();
            }
            long[] out;
            try {
                out = op.outputShape(shapes, this::constantShape);
            } catch (IllegalArgumentException | ArithmeticException e) {
                throw new IllegalArgumentException("node " + name + ": " + e.getMessage(), e);
            }
            int id = newValue(name, out);
            nodes.add(new Node(name, op, in, id));
            return id;
        }

        /** Declares value {@code id} a graph output. */
        public Builder output(String name, int id) {
            if (outputs.putIfAbsent(name, id) != null) {
                throw new IllegalArgumentException("two outputs named '" + name + "'");
            }
            values.get(id); // bounds check
            return this;
        }

        /** @return the graph */
        public Graph build() {
            if (outputs.isEmpty()) {
                throw new IllegalStateException("a graph needs at least one output");
            }
            return new Graph(this);
        }

        private long[] constantShape(String name) {
            return constantNamed(name).shape().clone();
        }

        private int newValue(String name, long[] shape) {
            if (!names.add(name)) {
                throw new IllegalArgumentException("two values named '" + name + "'");
            }
            Value v = new Value(values.size(), name, shape);
            values.add(v);
            return v.id();
        }
    }
}
