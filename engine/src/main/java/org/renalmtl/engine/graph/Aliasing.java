package org.renalmtl.engine.graph;

import java.util.Arrays;

/**
 * The {@link Schedule}'s liveness and memory-sharing decisions: which buffer (root) holds each value,
 * where in it, with which strides, and which nodes run in place or not at all. The rules are stated in
 * {@link Schedule}'s class comment; this class applies them, concat inputs first (their producers run
 * before the concat, so where they write must be known before the pass over the nodes reaches them),
 * then views and in-place outputs node by node.
 */
final class Aliasing {
    final int[] first; // per value: step that writes it; 0 for a graph input
    final int[] last; // per value: last step that reads it; the final step for a graph output
    final int[] root; // per value: the value owning the buffer that holds it (itself if it owns one); -1 while undecided
    final long[] within; // per value: byte offset of its element 0 from the start of its root's buffer
    final long[][] strides; // per value, per axis: element stride in its root's buffer (row-major when dense)
    final int[] inPlace; // per node: index of the input its output overwrites, -1 for none
    final boolean[] elided; // per node: computes nothing (a view, or a concat whose inputs all wrote into it)
    final boolean[][] sliced; // per node, per input: a concat input whose producer wrote it into the output

    private final Graph graph;
    private final Storage storage;
    private final boolean[] output; // per value: a graph output
    private final int[] lastReader; // per value: the last node that reads it, -1 for none

    Aliasing(Graph graph, Storage storage) {
        this.graph = graph;
        this.storage = storage;
        int values = graph.values().size();
        int nodes = graph.nodes().size();
        first = new int[values];
        last = new int[values];
        root = new int[values];
        within = new long[values];
        strides = new long[values][];
        inPlace = new int[nodes];
        elided = new boolean[nodes];
        sliced = new boolean[nodes][];
        output = new boolean[values];
        lastReader = new int[values];
        Arrays.fill(lastReader, -1);
        for (int i = 0; i < nodes; i++) {
            for (int in : graph.nodes().get(i).inputs()) {
                lastReader[in] = i;
            }
        }
        for (int v : graph.outputs().values()) {
            output[v] = true;
        }
        for (int v = 0; v < values; v++) {
            first[v] = Math.max(graph.producer(v), 0);
            last[v] = Math.max(Math.max(first[v], lastReader[v]), output[v] ? nodes - 1 : -1);
        }
        Arrays.fill(root, -1);
        Arrays.fill(inPlace, -1);
        placeConcatInputs();
        for (int v : graph.inputs().values()) {
            own(v);
        }
        for (int i = 0; i < nodes; i++) {
            place(i);
        }
    }

    /** @return whether value {@code v} lives in a graph input's memory rather than the arena */
    boolean external(int v) {
        return graph.producer(root[v]) < 0;
    }

    /** @return whether value {@code v} is laid out row-major without gaps */
    boolean dense(int v) {
        return Arrays.equals(strides[v], Value.rowMajorStrides(graph.value(v).shape()));
    }


    /**
     * Marks the concat inputs that live in a slice of the concat's output and places them there. Nested
     * concats resolve to the outermost output; all their strides are that output's, since every level
     * slices axis 1 only.
     */
    private void placeConcatInputs() {
        int values = graph.values().size();
        int[] into = new int[values]; // per value: the concat output it is a slice of, -1 for none
        long[] channel = new long[values]; // per value: its first channel within that output
        Arrays.fill(into, -1);
        for (int i = 0; i < graph.nodes().size(); i++) {
            Node n = graph.nodes().get(i);
            sliced[i] = new boolean[n.arity()];
            if (!(n.op() instanceof Op.Concat)) {
                continue;
            }
            long c = 0;
            boolean all = true;
            for (int j = 0; j < n.arity(); j++) {
                int x = n.input(j);
                sliced[i][j] = graph.producer(x) >= 0 && !output[x] && lastReader[x] == i && occurrences(n, x) == 1
                        && storage.canAlias(graph, i, j, Storage.Alias.CONCAT);
                if (sliced[i][j]) {
                    into[x] = n.output();
                    channel[x] = c;
                }
                all &= sliced[i][j];
                c += graph.value(x).dim(1);
            }
            elided[i] = all;
        }
        for (int v = 0; v < values; v++) {
            if (into[v] < 0) {
                continue;
            }
            int top = v;
            long c = 0;
            while (into[top] >= 0) {
                c += channel[top];
                top = into[top];
            }
            long[] s = Value.rowMajorStrides(graph.value(top).shape());
            root[v] = top;
            within[v] = Math.multiplyExact(c * s[1], (long) Float.BYTES);
            strides[v] = normalized(graph.value(v).shape(), s);
        }
    }

    /** Decides where node {@code i}'s output lives, unless it is a concat input placed already. */
    private void place(int i) {
        Node n = graph.nodes().get(i);
        int y = n.output();
        if (root[y] >= 0) {
            return;
        }
        boolean shared = switch (n.op()) {
            case Op.Reshape _ -> view(i, 0, Storage.Alias.RESHAPE);
            case Op.Slice s -> contiguous(n.input(0), s) && view(i, sliceOffset(n.input(0), s), Storage.Alias.SLICE);
            case Op.Conv3d c -> c.residual() && inPlace(i, 1);
            case Op.Add _ -> inPlace(i, 0) || inPlace(i, 1);
            default -> false;
        };
        if (!shared) {
            own(y);
        }
    }

    /**
     * A view shares its dense input's bytes and writes nothing. A graph output never views caller memory,
     * and a view of caller memory must fit in it: the caller's buffer is dense, whatever the backend pads.
     */
    private boolean view(int i, long offset, Storage.Alias how) {
        Node n = graph.nodes().get(i);
        int x = n.input(0);
        int y = n.output();
        boolean fits = !external(x)
                || within[x] + offset + storage.bytes(graph, y) <= graph.value(root[x]).bytes() && !output[y];
        if (!dense(x) || !fits || !storage.canAlias(graph, i, 0, how)) {
            return false;
        }
        root[y] = root[x];
        within[y] = within[x] + offset;
        strides[y] = Value.rowMajorStrides(graph.value(y).shape());
        elided[i] = true;
        return true;
    }

    /**
     * Node {@code i} may write over input {@code k} when nothing else needs those bytes from this step on:
     * the input is in the arena, dense, read once by this node and never after, not a graph output, and
     * every other value in its buffer is dead before this step (which also keeps the node's other inputs
     * out of that buffer).
     */
    private boolean inPlace(int i, int k) {
        Node n = graph.nodes().get(i);
        int x = n.input(k);
        int r = root[x];
        if (external(x) || output[x] || last[x] != i || occurrences(n, x) != 1 || !dense(x)) {
            return false;
        }
        for (int a = 0; a < root.length; a++) {
            if (a != x && root[a] == r && last[a] >= i) {
                return false;
            }
        }
        if (!storage.canAlias(graph, i, k, Storage.Alias.IN_PLACE)) {
            return false;
        }
        int y = n.output();
        root[y] = r;
        within[y] = within[x];
        strides[y] = strides[x].clone();
        inPlace[i] = k;
        return true;
    }

    private void own(int v) {
        root[v] = v;
        within[v] = 0;
        strides[v] = Value.rowMajorStrides(graph.value(v).shape());
    }

    /** A slice is one run of its dense input's bytes when every axis before the sliced one has extent 1. */
    private boolean contiguous(int x, Op.Slice s) {
        for (int a = 0; a < s.axis(); a++) {
            if (graph.value(x).dim(a) != 1) {
                return false;
            }
        }
        return true;
    }

    private long sliceOffset(int x, Op.Slice s) {
        long[] rm = Value.rowMajorStrides(graph.value(x).shape());
        return Math.multiplyExact(s.start() * rm[s.axis()], (long) Float.BYTES);
    }

    /** Strides of the root, except that an axis of extent 1 gets its row-major stride: it is never stepped. */
    private static long[] normalized(long[] shape, long[] rootStrides) {
        long[] s = rootStrides.clone();
        long[] rm = Value.rowMajorStrides(shape);
        for (int a = 0; a < shape.length; a++) {
            if (shape[a] == 1) {
                s[a] = rm[a];
            }
        }
        return s;
    }

    private static int occurrences(Node n, int v) {
        int c = 0;
        for (int j = 0; j < n.arity(); j++) {
            c += n.input(j) == v ? 1 : 0;
        }
        return c;
    }
}
