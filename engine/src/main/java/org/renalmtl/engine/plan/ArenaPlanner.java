package org.renalmtl.engine.plan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Liveness-based placement of buffers in one arena: two buffers may share bytes iff their
 * lifetimes (inclusive step intervals) do not overlap. Greedy best-fit by decreasing size, the
 * usual heuristic of inference engines (TFLite's arena planner, ggml-alloc); it is within a few
 * percent of the lower bound (the largest sum of sizes live at one step) for chain-like networks.
 */
public final class ArenaPlanner {
    /** Offsets are aligned for AVX-512 loads and cuDNN's 256-byte preference. */
    public static final long ALIGNMENT = 256;

    /**
     * A buffer to place.
     *
     * @param name for messages
     * @param bytes size
     * @param first first step at which it is written
     * @param last last step at which it is read or written
     */
    public record Request(String name, long bytes, int first, int last) {}

    /**
     * The placement.
     *
     * @param offsets byte offset of each request, in request order
     * @param size arena size needed
     * @param lowerBound largest total of bytes live at one step: no placement can use less
     */
    public record Plan(long[] offsets, long size, long lowerBound) {}

    private ArenaPlanner() {}

    /** @return offsets for every request such that overlapping lifetimes never share bytes */
    public static Plan plan(List<Request> requests) {
        int n = requests.size();
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, Comparator.comparingLong((Integer i) -> -requests.get(i).bytes())
                .thenComparingInt(i -> requests.get(i).first()));
        long[] offsets = new long[n];
        List<Integer> placed = new ArrayList<>();
        long size = 0;
        for (int idx : order) {
            Request r = requests.get(idx);
            long bytes = align(r.bytes());
            // Busy intervals of already-placed buffers whose lifetimes overlap this one.
            List<long[]> busy = new ArrayList<>();
            for (int j : placed) {
                Request q = requests.get(j);
                if (q.first() <= r.last() && r.first() <= q.last()) {
                    busy.add(new long[] {offsets[j], offsets[j] + align(q.bytes())});
                }
            }
            busy.sort(Comparator.comparingLong(a -> a[0]));
            long best = -1;
            long bestGap = Long.MAX_VALUE;
            long cursor = 0;
            for (long[] b : busy) {
                long gap = b[0] - cursor;
                if (gap >= bytes && gap < bestGap) {
                    best = cursor;
                    bestGap = gap;
                }
                cursor = Math.max(cursor, b[1]);
            }
            offsets[idx] = best >= 0 ? best : cursor;
            size = Math.max(size, offsets[idx] + bytes);
            placed.add(idx);
        }
        int steps = 0;
        for (Request r : requests) {
            steps = Math.max(steps, r.last() + 1);
        }
        long lower = 0;
        for (int s = 0; s < steps; s++) {
            long live = 0;
            for (Request r : requests) {
                if (r.first() <= s && s <= r.last()) {
                    live += align(r.bytes());
                }
            }
            lower = Math.max(lower, live);
        }
        return new Plan(offsets, size, lower);
    }

    /** @return bytes rounded up to {@link #ALIGNMENT} */
    public static long align(long bytes) {
        return (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }
}
