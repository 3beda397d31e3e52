package org.renalmtl.engine.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.renalmtl.weights.Tensor;

class ScheduleTest {
    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void free() {
        arena.close();
    }

    @Test
    void chainReusesTwoBuffers() {
        Graph.Builder b = new Graph.Builder();
        int v = b.input("x", 1, 4, 8, 8, 8);
        for (int i = 0; i < 6; i++) {
            v = conv(b, "c" + i, v, 4, 1, 1, -1);
        }
        Graph g = b.output("y", v).build();
        Schedule s = Schedule.of(g, Storage.PLAIN);
        assertEquals(2 * 8192, s.arenaBytes(), s.toString());
        assertEquals(s.lowerBound(), s.arenaBytes());
        ScheduleCheck.check(s, Storage.PLAIN);

        // oneDNN's nCdhw16c pads 4 channels to 16: the arena holds two padded buffers.
        Storage blocked = new Storage() {
            @Override
            public long bytes(Graph graph, int value) {
                return graph.value(value).bytes() / 4 * 16;
            }
        };
        Schedule padded = Schedule.of(g, blocked);
        assertEquals(2 * 4 * 8192, padded.arenaBytes(), padded.toString());
        ScheduleCheck.check(padded, blocked);
    }

    @ParameterizedTest
    @ValueSource(strings = {"free", "read later", "graph output", "graph input", "refused"})
    void residualWritesOverTheShortcutOnlyWhenNothingElseNeedsIt(String shortcut) {
        Graph.Builder b = new Graph.Builder();
        int x = b.input("x", 1, 4, 4, 4, 4);
        int s = shortcut.equals("graph input") ? x : conv(b, "stem", x, 4, 3, 1, -1);
        int a = conv(b, "conv1", s, 4, 3, 1, -1);
        int y = conv(b, "conv2", a, 4, 3, 1, s);
        if (shortcut.equals("read later")) {
            y = b.add("add", new Op.Add(Activation.NONE), y, s);
        }
        if (shortcut.equals("graph output")) {
            b.output("stem", s);
        }
        Graph g = b.output("y", conv(b, "head", y, 2, 1, 1, -1)).build();
        Storage storage = !shortcut.equals("refused") ? Storage.PLAIN : new Storage() {
            @Override
            public boolean canAlias(Graph graph, int node, int input, Alias how) {
                return how != Alias.IN_PLACE;
            }
        };
        Schedule sched = Schedule.of(g, storage);
        int conv2 = node(g, "conv2");
        int out = g.nodes().get(conv2).output();
        if (shortcut.equals("free")) {
            assertEquals(1, sched.inPlace(conv2), sched.toString());
            assertEquals(sched.root(s), sched.root(out));
            assertEquals(sched.offset(s), sched.offset(out));
            assertEquals(2 * 1024, sched.arenaBytes(), "two 1 KiB buffers, not three");
        } else {
            assertEquals(-1, sched.inPlace(conv2), sched.toString());
            assertEquals(out, sched.root(out));
        }
        ScheduleCheck.check(sched, storage);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2})
    void unetProducersWriteIntoTheConcat(long batch) {
        Graph g = unet(batch, false);
        Schedule s = Schedule.of(g, Storage.PLAIN);
        int cat = node(g, "cat");
        int up = g.nodes().get(cat).input(0);
        int skip = g.nodes().get(cat).input(1);
        int out = g.nodes().get(cat).output();
        assertTrue(s.elided(cat) && s.sliced(cat, 0) && s.sliced(cat, 1), s.toString());
        assertEquals(out, s.root(up));
        assertEquals(out, s.root(skip));
        assertEquals(s.offset(out), s.offset(up));
        assertEquals(s.offset(out) + 4 * 64 * Float.BYTES, s.offset(skip));
        // Batch 2: each sample's 4 channels sit within the output's 8-channel sample.
        assertArrayEquals(new long[] {(batch == 1 ? 4 : 8) * 64, 64, 16, 4, 1}, s.strides(skip));
        assertArrayEquals(s.strides(skip), s.strides(up));
        // Peak at the decoder conv: the concat's buffer (2 KiB a sample, live since the skip was written)
        // and the conv's output (1 KiB); copying needs skip, upsampled and concat (4 KiB) at the concat.
        assertEquals(3 * 1024 * batch, s.arenaBytes(), s.toString());
        ScheduleCheck.check(s, Storage.PLAIN);

        Storage copying = new Storage() {
            @Override
            public boolean canAlias(Graph graph, int node, int input, Alias how) {
                return how != Alias.CONCAT;
            }
        };
        Schedule copy = Schedule.of(g, copying);
        assertFalse(copy.elided(cat));
        assertEquals(4 * 1024 * batch, copy.arenaBytes(), copy.toString());
        ScheduleCheck.check(copy, copying);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2})
    void aConcatInputReadAfterTheConcatKeepsItsBuffer(long batch) {
        Graph g = unet(batch, true);
        Schedule s = Schedule.of(g, Storage.PLAIN);
        int cat = node(g, "cat");
        int skip = g.nodes().get(cat).input(1);
        assertTrue(s.sliced(cat, 0), s.toString());
        assertFalse(s.sliced(cat, 1));
        assertFalse(s.elided(cat));
        assertEquals(skip, s.root(skip));
        ScheduleCheck.check(s, Storage.PLAIN);
    }

    @Test
    void reshapesAndContiguousSlicesAreViews() {
        Graph.Builder b = new Graph.Builder();
        int x = b.input("x", 2, 4, 2, 2, 2);
        int c = conv(b, "c", x, 4, 1, 1, -1);
        int r = b.add("r", new Op.Reshape(new long[] {2, 8, 1, 2, 2}), c);
        int s0 = b.add("s0", new Op.Slice(0, 1, 1), c);
        int s1 = b.add("s1", new Op.Slice(1, 2, 2), s0);
        int s2 = b.add("s2", new Op.Slice(1, 1, 2), c);
        int xi = b.add("xi", new Op.Slice(0, 1, 1), x);
        int xo = b.add("xo", new Op.Reshape(new long[] {8, 1, 2, 2, 2}), x);
        b.output("xo", xo);
        for (int v : new int[] {r, s1, s2, xi}) {
            b.output("o" + v, conv(b, "h" + v, v, 1, 1, 1, -1));
        }
        Graph g = b.build();
        Schedule s = Schedule.of(g, Storage.PLAIN);
        assertTrue(s.elided(g.producer(r)) && s.elided(g.producer(s0)) && s.elided(g.producer(s1)), s.toString());
        assertEquals(c, s.root(r));
        assertEquals(s.offset(c), s.offset(r));
        assertEquals(s.offset(c) + 32 * Float.BYTES, s.offset(s0));
        assertEquals(s.offset(s0) + 2 * 8 * Float.BYTES, s.offset(s1));
        assertEquals(c, s.root(s1));
        assertFalse(s.elided(g.producer(s2)), "a channel slice at batch 2 would be strided");
        assertEquals(s2, s.root(s2));
        assertTrue(s.external(xi) && s.root(xi) == x && s.offset(xi) == 32 * Float.BYTES);
        assertFalse(s.external(xo), "an output is never a view of caller memory");
        ScheduleCheck.check(s, Storage.PLAIN);

        Storage noViews = new Storage() {
            @Override
            public boolean canAlias(Graph graph, int node, int input, Alias how) {
                return how != Alias.RESHAPE && how != Alias.SLICE;
            }
        };
        Schedule own = Schedule.of(g, noViews);
        for (int v : new int[] {r, s0, s1, xi}) {
            assertEquals(v, own.root(v), own.toString());
            assertFalse(own.elided(g.producer(v)));
        }
        ScheduleCheck.check(own, noViews);
    }

    @Test
    void workspaceIsTheLargestAWorkingNodeAsks() {
        Graph.Builder b = new Graph.Builder();
        int v = conv(b, "c0", b.input("x", 1, 4, 2, 2, 2), 4, 1, 1, -1);
        v = conv(b, "c1", v, 4, 1, 1, -1);
        v = b.add("flat", new Op.Reshape(new long[] {1, 32}), v);
        Graph g = b.output("y", v).build();
        Storage asks = new Storage() {
            @Override
            public long workspace(Graph graph, int node) {
                return 1000L * (node + 1);
            }
        };
        assertEquals(2000, Schedule.of(g, asks).workspaceBytes(), "the reshape is a view and runs nothing");
        assertEquals(0, Schedule.of(g, Storage.PLAIN).workspaceBytes());
        Storage negative = new Storage() {
            @Override
            public long workspace(Graph graph, int node) {
                return -1;
            }
        };
        assertThrows(IllegalArgumentException.class, () -> Schedule.of(g, negative));
        Storage tooSmall = new Storage() {
            @Override
            public long bytes(Graph graph, int value) {
                return graph.value(value).bytes() - 4;
            }
        };
        assertThrows(IllegalArgumentException.class, () -> Schedule.of(g, tooSmall));
    }

    @Test
    void randomGraphsNeverReadClobberedMemory() {
        SplittableRandom r = new SplittableRandom(2024);
        int inPlace = 0;
        int views = 0;
        int slicedInputs = 0;
        for (int trial = 0; trial < 400; trial++) {
            Graph g = randomGraph(r);
            Storage storage = trial % 2 == 0 ? Storage.PLAIN : randomStorage(r.nextLong());
            Schedule s = Schedule.of(g, storage);
            ScheduleCheck.check(s, storage);
            assertTrue(s.arenaBytes() >= s.lowerBound());
            for (int i = 0; i < g.nodes().size(); i++) {
                Node n = g.nodes().get(i);
                inPlace += s.inPlace(i) >= 0 ? 1 : 0;
                views += s.elided(i) && !(n.op() instanceof Op.Concat) ? 1 : 0;
                for (int j = 0; j < n.arity(); j++) {
                    slicedInputs += s.sliced(i, j) ? 1 : 0;
                }
            }
        }
        assertTrue(inPlace > 50 && views > 50 && slicedInputs > 50, inPlace + " in place, " + views + " views, "
                + slicedInputs + " concat inputs in place: the graphs must exercise every alias");
    }

    /** Input, two encoder stages, upsampling, concat(upsampled, skip), conv, optionally skip read again. */
    private Graph unet(long batch, boolean skipReadAfterConcat) {
        Graph.Builder b = new Graph.Builder();
        int x = b.input("x", batch, 1, 4, 4, 4);
        int e0 = conv(b, "enc0", x, 4, 3, 1, -1);
        int e1 = conv(b, "enc1", e0, 8, 3, 2, -1);
        b.constant(tensor("up.weight", 8, 4, 2, 2, 2));
        int up = b.add("up", new Op.ConvTranspose3d("up.weight", null, Dims3.of(2), Dims3.of(0), Dims3.of(0),
                Activation.NONE), e1);
        int cat = b.add("cat", new Op.Concat(), up, e0);
        int d = conv(b, "dec", cat, 4, 3, 1, -1);
        if (skipReadAfterConcat) {
            d = b.add("add", new Op.Add(Activation.NONE), d, e0);
        }
        return b.output("seg", conv(b, "seg", d, 2, 1, 1, -1)).build();
    }

    /** A random DAG of 1³ convs (some with residual), adds, concats, reshapes and slices over small volumes. */
    private Graph randomGraph(SplittableRandom r) {
        Graph.Builder b = new Graph.Builder();
        long n = 1 + r.nextInt(2);
        List<Integer> vs = new ArrayList<>(List.of(b.input("in0", n, 1 + r.nextInt(3), 2, 2, 2)));
        if (r.nextBoolean()) {
            vs.add(b.input("in1", n, 1 + r.nextInt(3), 2, 2, 2));
        }
        int count = 2 + r.nextInt(16);
        for (int k = 0; k < count; k++) {
            String name = "v" + k;
            int x = vs.get(vs.size() - 1 - r.nextInt(Math.min(vs.size(), 4)));
            long[] s = b.shape(x);
            List<Integer> same = new ArrayList<>();
            List<Integer> siblings = new ArrayList<>(); // same shape but for the channels
            for (int v : vs) {
                long[] t = b.shape(v);
                boolean sib = t[0] == s[0] && t[2] == s[2] && t[3] == s[3] && t[4] == s[4];
                if (sib) {
                    siblings.add(v);
                }
                if (sib && t[1] == s[1]) {
                    same.add(v);
                }
            }
            int y = switch (r.nextInt(6)) {
                case 0 -> b.add(name, new Op.Add(Activation.NONE), x, same.get(r.nextInt(same.size())));
                case 1 -> s[1] > 12 ? conv(b, name, x, 3, 1, 1, -1)
                        : b.add(name, new Op.Concat(), x, siblings.get(r.nextInt(siblings.size())));
                case 2 -> b.add(name, new Op.Reshape(switch (r.nextInt(3)) {
                    case 0 -> new long[] {s[0], s[1] * s[2], 1, s[3], s[4]};
                    case 1 -> new long[] {s[0] * s[1], 1, s[2], s[3], s[4]};
                    default -> new long[] {1, s[0] * s[1], s[2], s[3], s[4]};
                }), x);
                case 3 -> {
                    int axis = r.nextInt(5);
                    long start = r.nextLong(s[axis]);
                    yield b.add(name, new Op.Slice(axis, start, 1 + r.nextLong(s[axis] - start)), x);
                }
                default -> {
                    int res = r.nextBoolean() ? siblings.get(r.nextInt(siblings.size())) : -1;
                    yield conv(b, name, x, res >= 0 ? b.shape(res)[1] : 1 + r.nextInt(4), 1, 1, res);
                }
            };
            vs.add(y);
        }
        b.output("out", vs.getLast());
        for (int v : vs) {
            if (r.nextInt(8) == 0) {
                b.output("o" + v, v);
            }
        }
        return b.build();
    }

    /** Pads some values, refuses a quarter of the aliases it is asked about, asks some scratch. */
    private static Storage randomStorage(long seed) {
        return new Storage() {
            @Override
            public long bytes(Graph graph, int value) {
                return graph.value(value).bytes() + 64L * new SplittableRandom(seed + value).nextInt(3);
            }

            @Override
            public boolean canAlias(Graph graph, int node, int input, Alias how) {
                return new SplittableRandom(seed ^ (node * 1009L + input * 31L + how.ordinal())).nextInt(4) != 0;
            }

            @Override
            public long workspace(Graph graph, int node) {
                return new SplittableRandom(seed - node).nextInt(1000);
            }
        };
    }

    /** Adds a conv (k³ kernel, padding k/2) with its weight; {@code residual} ≥ 0 adds that value. */
    private int conv(Graph.Builder b, String name, int x, long cout, int k, int stride, int residual) {
        b.constant(tensor(name + ".weight", cout, b.shape(x)[1], k, k, k));
        Op op = new Op.Conv3d(name + ".weight", null, Dims3.of(stride), Dims3.of(k / 2), Dims3.of(1), residual >= 0,
                Activation.RELU);
        return residual >= 0 ? b.add(name, op, x, residual) : b.add(name, op, x);
    }

    private Tensor tensor(String name, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return new Tensor(name, shape, arena.allocate(n * Float.BYTES, Float.BYTES));
    }

    private static int node(Graph g, String name) {
        for (int i = 0; i < g.nodes().size(); i++) {
            if (g.nodes().get(i).name().equals(name)) {
                return i;
            }
        }
        throw new AssertionError("no node " + name);
    }
}
