package org.renalmtl.segmentation;

import java.util.List;
import java.util.stream.IntStream;

/**
 * Splits an index range into a few contiguous chunks run in parallel on the common pool: a few per core, so
 * that each chunk can allocate its own scratch buffers once and uneven chunks still balance. Every use computes
 * each output element from its inputs alone (or reduces exactly, as min and max do), so results do not depend
 * on the split.
 */
final class Chunks {

    /** Work on {@code [from, to)}. */
    @FunctionalInterface
    interface Body {
        void run(long from, long to);
    }

    /** Work on {@code [from, to)} with a result. */
    @FunctionalInterface
    interface Mapper<T> {
        T apply(long from, long to);
    }

    private Chunks() {
    }

    /**
     * @param n     range size
     * @param align chunk boundaries are multiples of this (e.g. a block of lines)
     * @param body  run once per chunk, in parallel
     */
    static void forEach(long n, long align, Body body) {
        map(n, align, (from, to) -> {
            body.run(from, to);
            return Boolean.TRUE;
        });
    }

    /** @return the chunks' results, in index order */
    static <T> List<T> map(long n, long align, Mapper<T> mapper) {
        long units = (n + align - 1) / align;
        int parts = (int) Math.max(1, Math.min(units, 4L * Runtime.getRuntime().availableProcessors()));
        long per = (units + parts - 1) / parts * align;
        return IntStream.range(0, parts).parallel()
            .mapToObj(p -> {
                long from = p * per;
                return from < n ? mapper.apply(from, Math.min(n, from + per)) : null;
            })
            .filter(r -> r != null)
            .toList();
    }
}
