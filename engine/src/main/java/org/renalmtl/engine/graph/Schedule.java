package org.renalmtl.engine.graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.renalmtl.engine.plan.ArenaPlanner;

/**
 * How one graph runs at its input shape, on any backend: execution order, liveness, where every value
 * lives in one arena, which nodes write in place and which do no work, and the scratch the nodes need.
 * Built once per (graph, input shape) from what the backend says about its layouts ({@link Storage});
 * immutable; every accessor is O(1) apart from the copy {@link #strides} returns.
 *
 * <p><b>Order and liveness.</b> Step {@code i} runs node {@code i} (the graph's order). A value is live
 * from the step that writes it to the last step that reads it. Graph inputs live in the caller's memory,
 * are live from step 0 and are never written. Graph outputs are live to the last step and always live in
 * the arena, dense, where nothing overwrites them once written (the caller copies them out after the
 * run), except a graph input declared an output, which no node writes.
 *
 * <p><b>Sharing.</b> A value lives in the buffer of its <em>root</em> value, at a byte offset, with
 * element strides (row-major when dense). Roots own the buffers; aliases chain to one root, whose
 * lifetime is the union of its members'. The aliases:
 *
 * <ul>
 *   <li><b>Concat in place.</b> An input of a {@link Op.Concat} that a node of this graph writes, that
 *       is not a graph output, that appears once among the concat's inputs, and that no node reads after
 *       the concat, lives in its slice of the concat's output: its producer writes straight there, and
 *       nodes that read it before the concat (a U-Net's skip feeding the next encoder stage) read it
 *       there. With batch above 1 the slice is strided (each sample's channel block sits within the
 *       output's sample), so such producers and readers use strided descriptors. When every input is
 *       placed so, the concat is {@link #elided}; otherwise it copies only the inputs not
 *       {@link #sliced}. The concat's buffer is then live from its first input's write, which costs less
 *       than the copy's extra buffers at the concat (a U-Net's skip lives that long anyway). Concats
 *       nested in concats resolve to the outermost output. These placements are decided before the
 *       others and win over them: a concat input's producer writes into the slice rather than viewing or
 *       overwriting its own input.
 *   <li><b>Reshape</b> of a dense input is a view of the same bytes (elided).
 *   <li><b>Slice</b> whose axes before the sliced one all have extent 1 (axis 0, or axis 1 at batch 1)
 *       is a view at an offset (elided); other slices would be strided views that every reader would have
 *       to handle, so they get their own buffer. A view of a graph input lies in the caller's dense buffer
 *       ({@link #external}) when its storage fits there and it is no graph output (outputs are copied
 *       into the arena).
 *   <li><b>In place.</b> A {@link Op.Conv3d} with residual writes over its residual (input 1), an
 *       {@link Op.Add} over one of its inputs, when that input is in the arena, dense, appears once among
 *       the node's inputs, is no graph output and is read by no later node, and no other value in its
 *       buffer is read by this node or a later one: then nothing still needed is overwritten. Otherwise
 *       the node gets its own buffer and {@link #inPlace} is -1 (a conv backend then adds the residual
 *       from elsewhere).
 * </ul>
 *
 * The backend may refuse any alias its layouts cannot express ({@link Storage#canAlias}), and the value
 * then gets its own buffer. Offsets and strides are those of the plain layout of the logical shape; see
 * {@link Storage} for how blocked layouts relate to them.
 *
 * <p><b>Placement.</b> One {@link ArenaPlanner#plan} over the roots in the arena, each asking for the
 * bytes its members span (in the backend's storage sizes) over the union of their lifetimes. Workspace is
 * one scratch buffer outside the arena, as large as the largest any working node asks for, shared by all
 * nodes since they run one at a time.
 */
public final class Schedule {
    private final Graph graph;
    private final Aliasing alias;
    private final long[] offset; // per value: bytes from the arena's start, or from its graph input's start when external
    private final long arenaBytes;
    private final long lowerBound;
    private final long workspaceBytes;

    private Schedule(Graph graph, Aliasing alias, long[] offset, ArenaPlanner.Plan plan, long workspaceBytes) {
        this.graph = graph;
        this.alias = alias;
        this.offset = offset;
        this.arenaBytes = plan.size();
        this.lowerBound = plan.lowerBound();
        this.workspaceBytes = workspaceBytes;
    }

    /**
     * Schedules a graph.
     *
     * @param graph the graph, at its concrete input shape
     * @param storage the backend's storage sizes, alias abilities and scratch needs
     * @return the schedule
     * @throws IllegalArgumentException if the storage reports fewer bytes than a value's dense size or
     *     a negative workspace
     */
    public static Schedule of(Graph graph, Storage storage) {
        Aliasing alias = new Aliasing(graph, storage);
        int values = graph.values().size();
        long[] need = new long[values]; // per root: bytes its buffer must span
        int[] from = new int[values]; // per root: first step any member is live
        int[] to = new int[values]; // per root: last step any member is live
        Arrays.fill(from, Integer.MAX_VALUE);
        Arrays.fill(to, -1);
        for (int v = 0; v < values; v++) {
            if (graph.producer(v) < 0) {
                continue;
            }
            long bytes = storage.bytes(graph, v);
            if (bytes < graph.value(v).bytes()) {
                throw new IllegalArgumentException("storage of " + graph.value(v) + " is " + bytes + " bytes, less than its "
                        + graph.value(v).bytes() + " dense bytes");
            }
            if (alias.external(v)) {
                continue;
            }
            int r = alias.root[v];
            need[r] = Math.max(need[r], alias.within[v] + Math.max(bytes, span(graph.value(v), alias.strides[v])));
            from[r] = Math.min(from[r], alias.first[v]);
            to[r] = Math.max(to[r], alias.last[v]);
        }
        List<ArenaPlanner.Request> requests = new ArrayList<>();
        int[] request = new int[values]; // per root in the arena: index of its request
        for (int v = 0; v < values; v++) {
            if (alias.root[v] == v && !alias.external(v)) {
                request[v] = requests.size();
                requests.add(new ArenaPlanner.Request(graph.value(v).name(), need[v], from[v], to[v]));
            }
        }
        ArenaPlanner.Plan plan = ArenaPlanner.plan(requests);
        long[] offset = new long[values];
        for (int v = 0; v < values; v++) {
            offset[v] = alias.within[v] + (alias.external(v) ? 0 : plan.offsets()[request[alias.root[v]]]);
        }
        long workspace = 0;
        for (int i = 0; i < graph.nodes().size(); i++) {
            if (alias.elided[i]) {
                continue;
            }
            long w = storage.workspace(graph, i);
            if (w < 0) {
                throw new IllegalArgumentException("node " + graph.nodes().get(i).name() + " asks for " + w
                        + " workspace bytes");
            }
            workspace = Math.max(workspace, w);
        }
        return new Schedule(graph, alias, offset, plan, workspace);
    }

    /** @return the graph this schedules */
    public Graph graph() {
        return graph;
    }

    /** @return the step that writes value {@code v} (0 for a graph input) */
    public int first(int v) {
        return alias.first[v];
    }

    /** @return the last step that reads value {@code v}; the last step for a graph output */
    public int last(int v) {
        return alias.last[v];
    }

    /** @return the value that owns the buffer holding value {@code v}; {@code v} itself if it owns one */
    public int root(int v) {
        return alias.root[v];
    }

    /** @return whether value {@code v} lies in the memory of graph input {@link #root}, not in the arena */
    public boolean external(int v) {
        return alias.external(v);
    }

    /**
     * @return byte offset of element 0 of value {@code v}: from the arena's start, or from the start of
     *     its graph input's memory when {@link #external}
     */
    public long offset(int v) {
        return offset[v];
    }

    /** @return element strides of value {@code v} per logical axis: row-major unless a strided concat slice */
    public long[] strides(int v) {
        return alias.strides[v].clone();
    }

    /** @return index of the input node {@code i} writes its output over, or -1 if it writes elsewhere */
    public int inPlace(int i) {
        return alias.inPlace[i];
    }

    /** @return whether node {@code i} does no work: a view, or a concat its producers assembled */
    public boolean elided(int i) {
        return alias.elided[i];
    }

    /** @return whether input {@code j} of node {@code i} is a concat input already written into its slice */
    public boolean sliced(int i, int j) {
        return alias.sliced[i][j];
    }

    /** @return bytes of the arena every non-external value lives in */
    public long arenaBytes() {
        return arenaBytes;
    }

    /** @return the most bytes of buffers live at one step: no placement of these buffers needs less */
    public long lowerBound() {
        return lowerBound;
    }

    /** @return bytes of the one scratch buffer: the most any working node asks for */
    public long workspaceBytes() {
        return workspaceBytes;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("schedule: arena " + arenaBytes + " bytes (lower bound " + lowerBound
                + "), workspace " + workspaceBytes + "\n");
        for (int i = 0; i < graph.nodes().size(); i++) {
            Node n = graph.nodes().get(i);
            int y = n.output();
            s.append(i).append(' ').append(n.name()).append(alias.elided[i] ? " elided" : "")
                    .append(alias.inPlace[i] >= 0 ? " in place over input " + alias.inPlace[i] : "").append(": ")
                    .append(graph.value(y)).append(" in ").append(graph.value(alias.root[y]).name()).append(" at ")
                    .append(offset[y]).append(" strides ").append(Arrays.toString(alias.strides[y])).append(" live ")
                    .append(alias.first[y]).append("..").append(alias.last[y]).append('\n');
        }
        return s.toString();
    }

    /** @return bytes from element 0 to just past the last element under these strides */
    private static long span(Value v, long[] strides) {
        long last = 0;
        for (int a = 0; a < v.rank(); a++) {
            last = Math.addExact(last, Math.multiplyExact(v.dim(a) - 1, strides[a]));
        }
        return Math.multiplyExact(last + 1, (long) Float.BYTES);
    }
}
