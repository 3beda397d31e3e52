package org.renalmtl.cli;

import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.function.IntFunction;
import org.renalmtl.pipeline.PreparedCase;

/**
 * A cohort's cases prepared (read, cropped, normalised, measured) in list order, up to {@code ahead} of them by a
 * thread of their own while the caller runs the network on earlier ones; with {@code ahead = 0}, on the caller's
 * thread when asked. Memory: at most {@code ahead} prepared cases wait in the queue (each its network input, about
 * 10.6 MB at 3 × 96³) while the thread holds one more case's whole scans as it prepares it; the cases the caller
 * took are the caller's to close. A case whose input is bad arrives as its error; an error that is not a case's
 * (a bug) arrives in its place and is thrown by {@link #next}, after which nothing more is prepared.
 */
final class CasePrefetch implements AutoCloseable {
    /**
     * One case, prepared or failed.
     *
     * @param row      the case's row in the list
     * @param prepared the prepared case, or null if it failed
     * @param error    why it failed (a case error, {@link CohortRunner#isCaseError}), or null
     * @param seconds  time spent preparing it
     */
    record Item(int row, PreparedCase prepared, RuntimeException error, double seconds) {}

    /** What the thread hands over when preparing stopped on a bug. */
    private record Fatal(Throwable cause) {}

    private final List<Integer> rows;
    private final IntFunction<PreparedCase> prepare;
    private final BlockingQueue<Object> queue; // Item or Fatal, list order; null when preparing on the caller's thread
    private final Thread thread;
    private int taken;

    /**
     * @param rows    the rows to prepare, in this order
     * @param prepare prepares one row (throws for a bad case)
     * @param ahead   cases prepared ahead of the caller, 0 to prepare on the caller's thread
     */
    CasePrefetch(List<Integer> rows, IntFunction<PreparedCase> prepare, int ahead) {
        this.rows = List.copyOf(rows);
        this.prepare = prepare;
        if (ahead == 0 || rows.isEmpty()) {
            queue = null;
            thread = null;
            return;
        }
        queue = new ArrayBlockingQueue<>(ahead);
        // A daemon: Ctrl-C ends the run without waiting for a case being read; the rows written are whole.
        thread = Thread.ofPlatform().name("renal-mtl-prefetch").daemon().unstarted(this::produce);
        thread.start();
    }

    boolean hasNext() {
        return taken < rows.size();
    }

    /**
     * @return the next case in list order (waiting for it if it is not prepared yet)
     * @throws RuntimeException or Error that stopped the preparing (a bug), as it was thrown
     */
    Item next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        int row = rows.get(taken++);
        if (queue == null) {
            try {
                return prepareOne(row);
            } catch (RuntimeException | Error e) {
                taken = rows.size();
                throw e;
            }
        }
        Object o;
        try {
            o = queue.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for case row " + row, e);
        }
        if (o instanceof Fatal(Throwable cause)) {
            taken = rows.size();
            switch (cause) {
                case RuntimeException r -> throw r;
                case Error err -> throw err;
                default -> throw new IllegalStateException(cause);
            }
        }
        return (Item) o;
    }

    private Item prepareOne(int row) {
        long t0 = System.nanoTime();
        try {
            PreparedCase c = prepare.apply(row);
            return new Item(row, c, null, (System.nanoTime() - t0) / 1e9);
        } catch (RuntimeException e) {
            if (!CohortRunner.isCaseError(e)) {
                throw e;
            }
            return new Item(row, null, e, (System.nanoTime() - t0) / 1e9);
        }
    }

    private void produce() {
        for (int row : rows) {
            Object o;
            try {
                o = prepareOne(row);
            } catch (Throwable t) { // a bug, or out of memory: the caller throws it in this case's place
                o = new Fatal(t);
            }
            try {
                queue.put(o);
            } catch (InterruptedException e) {
                if (o instanceof Item i && i.prepared() != null) {
                    i.prepared().close();
                }
                return; // closed by the caller
            }
            if (o instanceof Fatal) {
                return;
            }
        }
    }

    /** Stops preparing and frees the cases prepared but not taken. */
    @Override
    public void close() {
        if (thread == null) {
            return;
        }
        thread.interrupt();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Object o : queue) {
            if (o instanceof Item i && i.prepared() != null) {
                i.prepared().close();
            }
        }
        queue.clear();
    }
}
