package org.renalmtl.engine.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import org.renalmtl.engine.plan.ArenaPlanner;

/**
 * Brute-force memory safety of a {@link Schedule}, from the graph alone rather than from the schedule's
 * own liveness: it runs the schedule symbolically, every element slot holding a tag naming the value and
 * element last written there, and checks that every node reads what its inputs' writers wrote, that no
 * node writes over what it reads except its declared in-place input, that buffers of different roots
 * never share bytes while both are live, and that the outputs hold their values at the end.
 */
final class ScheduleCheck {
    private final Graph g;
    private final Schedule s;
    private final Storage storage;
    private final long[] base; // per graph input: start of its dense caller buffer, after the arena
    private final long[][] expected; // per value, per element: tag of the write it must read as, null until needed

    private ScheduleCheck(Schedule s, Storage storage) {
        this.g = s.graph();
        this.s = s;
        this.storage = storage;
        this.base = new long[g.values().size()];
        this.expected = new long[g.values().size()][];
        long next = s.arenaBytes();
        for (int v : g.inputs().values()) {
            base[v] = next;
            next += g.value(v).bytes();
        }
    }

    /** Checks everything the class comment lists; fails the test with the schedule in the message. */
    static void check(Schedule s, Storage storage) {
        new ScheduleCheck(s, storage).run();
    }

    private void run() {
        int nodes = g.nodes().size();
        int[] first = new int[g.values().size()]; // per value: its writing step (0 for graph inputs)
        int[] last = new int[g.values().size()]; // per value: its last reading step (the end for outputs)
        for (int v = 0; v < first.length; v++) {
            first[v] = Math.max(g.producer(v), 0);
            last[v] = first[v];
        }
        for (int i = 0; i < nodes; i++) {
            for (int in : g.nodes().get(i).inputs()) {
                last[in] = i;
            }
        }
        for (int o : g.outputs().values()) {
            last[o] = Math.max(nodes - 1, 0);
            assertTrue(g.producer(o) < 0 || !s.external(o), "output " + g.value(o) + " in caller memory\n" + s);
            assertArrayEquals(Value.rowMajorStrides(g.value(o).shape()), s.strides(o), "output strided\n" + s);
        }
        for (int v = 0; v < first.length; v++) {
            assertEquals(first[v] + ".." + last[v], s.first(v) + ".." + s.last(v), "lifetime of " + g.value(v));
            if (!s.external(v) && s.root(v) == v) {
                assertEquals(0, s.offset(v) % ArenaPlanner.ALIGNMENT, "root " + g.value(v) + " misaligned");
            }
            assertTrue(s.offset(v) + range(v) <= (s.external(v) ? g.value(s.root(v)).bytes() : s.arenaBytes()),
                    g.value(v) + " out of its buffer\n" + s);
        }
        long[] range = new long[first.length]; // per value: bytes it may occupy from its offset
        for (int v = 0; v < first.length; v++) {
            range[v] = range(v);
        }
        for (int step = 0; step < nodes; step++) {
            for (int a = 0; a < first.length; a++) {
                for (int b = a + 1; b < first.length; b++) {
                    if (live(a, step, first, last) && live(b, step, first, last) && s.root(a) != s.root(b)
                            && !s.external(a) && !s.external(b) && s.offset(a) < s.offset(b) + range[b]
                            && s.offset(b) < s.offset(a) + range[a]) {
                        fail(g.value(a) + " and " + g.value(b) + " share bytes at step " + step + "\n" + s);
                    }
                }
            }
        }
        simulate();
    }

    private void simulate() {
        long[] mem = new long[Math.toIntExact((s.arenaBytes() + inputBytes()) / Float.BYTES)];
        Arrays.fill(mem, -1);
        int[] written = new int[mem.length]; // per slot: 1 + the step that last wrote it, 0 if none did
        for (int v : g.inputs().values()) {
            for (long e = 0; e < g.value(v).elements(); e++) {
                mem[slot(v, e)] = tag(v, e);
            }
        }
        for (int i = 0; i < g.nodes().size(); i++) {
            Node n = g.nodes().get(i);
            int y = n.output();
            for (int j = 0; j < n.arity(); j++) {
                int x = n.input(j);
                for (long e = 0; e < g.value(x).elements(); e++) {
                    if (mem[slot(x, e)] != expected(x, e)) {
                        fail("node " + n.name() + " reads a clobbered " + g.value(x) + "[" + e + "]\n" + s);
                    }
                }
            }
            if (!s.elided(i)) {
                boolean concat = n.op() instanceof Op.Concat;
                for (long e = 0; e < g.value(y).elements(); e++) {
                    if (!concat || !s.sliced(i, (int) concatSource(n, e)[0])) {
                        written[slot(y, e)] = i + 1;
                    }
                }
            }
            if (s.inPlace(i) >= 0) {
                for (long e = 0; e < g.value(y).elements(); e++) {
                    if (slot(n.input(s.inPlace(i)), e) != slot(y, e)) {
                        fail("in-place " + n.name() + " misaligned\n" + s);
                    }
                }
            }
            for (int j = 0; j < n.arity(); j++) {
                for (long e = 0; j != s.inPlace(i) && e < g.value(n.input(j)).elements(); e++) {
                    if (written[slot(n.input(j), e)] == i + 1) {
                        fail("node " + n.name() + " writes over input " + j + "\n" + s);
                    }
                }
            }
            for (long e = 0; e < g.value(y).elements(); e++) {
                if (written[slot(y, e)] == i + 1) {
                    mem[slot(y, e)] = tag(y, e);
                }
            }
        }
        for (int o : g.outputs().values()) {
            for (long e = 0; e < g.value(o).elements(); e++) {
                if (mem[slot(o, e)] != expected(o, e)) {
                    fail("output " + g.value(o) + " overwritten\n" + s);
                }
            }
        }
    }

    /** @return the tag element {@code e} of value {@code v} must read as: its writer's, through views */
    private long expected(int v, long e) {
        if (expected[v] == null) {
            expected[v] = new long[Math.toIntExact(g.value(v).elements())];
            Arrays.fill(expected[v], Long.MIN_VALUE);
        }
        int k = (int) e;
        if (expected[v][k] == Long.MIN_VALUE) {
            int p = g.producer(v);
            Node n = p < 0 ? null : g.nodes().get(p);
            long t = tag(v, e);
            if (n != null && n.op() instanceof Op.Concat) {
                long[] src = concatSource(n, e);
                t = s.sliced(p, (int) src[0]) ? expected(n.input((int) src[0]), src[1]) : t;
            } else if (n != null && s.elided(p) && n.op() instanceof Op.Reshape) {
                t = expected(n.input(0), e);
            } else if (n != null && s.elided(p) && n.op() instanceof Op.Slice sl) {
                t = expected(n.input(0), sliceSource(g.value(n.input(0)), sl, g.value(v), e));
            }
            expected[v][k] = t;
        }
        return expected[v][k];
    }

    /** @return {input index, element in that input} holding element {@code e} of concat node {@code n}'s output */
    private long[] concatSource(Node n, long e) {
        long[] idx = index(g.value(n.output()), e);
        for (int j = 0; j < n.arity(); j++) {
            Value x = g.value(n.input(j));
            if (idx[1] < x.dim(1)) {
                return new long[] {j, flat(x, idx)};
            }
            idx[1] -= x.dim(1);
        }
        throw new AssertionError("element " + e + " outside the concat");
    }

    private static long sliceSource(Value in, Op.Slice sl, Value out, long e) {
        long[] idx = index(out, e);
        idx[sl.axis()] += sl.start();
        return flat(in, idx);
    }

    private int slot(int v, long e) {
        long[] idx = index(g.value(v), e);
        long[] st = s.strides(v);
        long el = 0;
        for (int a = 0; a < idx.length; a++) {
            el += idx[a] * st[a];
        }
        long address = (s.external(v) ? base[s.root(v)] : 0) + s.offset(v) + el * Float.BYTES;
        if (address % Float.BYTES != 0) {
            fail("unaligned float at " + address);
        }
        return Math.toIntExact(address / Float.BYTES);
    }

    /** @return bytes value {@code v} may occupy from its offset: its storage, or the span of its strides */
    private long range(int v) {
        if (g.producer(v) < 0) {
            return g.value(v).bytes();
        }
        long[] st = s.strides(v);
        long lastElement = 0;
        for (int a = 0; a < st.length; a++) {
            lastElement += (g.value(v).dim(a) - 1) * st[a];
        }
        return Math.max(storage.bytes(g, v), (lastElement + 1) * Float.BYTES);
    }

    private long inputBytes() {
        long b = 0;
        for (int v : g.inputs().values()) {
            b += g.value(v).bytes();
        }
        return b;
    }

    private static boolean live(int v, int step, int[] first, int[] last) {
        return first[v] <= step && step <= last[v];
    }

    private static long tag(int v, long e) {
        return ((long) v << 32) | e;
    }

    private static long[] index(Value v, long e) {
        long[] idx = new long[v.rank()];
        for (int a = v.rank() - 1; a >= 0; a--) {
            idx[a] = e % v.dim(a);
            e /= v.dim(a);
        }
        return idx;
    }

    private static long flat(Value v, long[] idx) {
        long e = 0;
        for (int a = 0; a < idx.length; a++) {
            e = e * v.dim(a) + idx[a];
        }
        return e;
    }
}
