package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudnn.CUDNN_FMA_MATH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_SUCCESS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.renalmtl.engine.Precision;

/** One algorithm search per distinct (shapes, convolution parameters, precision), on any machine. */
class FindExCacheTest {
    private static final List<ConvCandidate> FOUND = List.of(
            new ConvCandidate(1, CUDNN_STATUS_SUCCESS, CUDNN_FMA_MATH, 0, 1f),
            new ConvCandidate(0, CUDNN_STATUS_SUCCESS, CUDNN_FMA_MATH, 64, 2f));

    /** A key built from fresh arrays each time, as every layer builds its own. */
    private static FindExCache.Key key(int channels, int stride, Precision p) {
        return key("forward", channels, stride, p);
    }

    private static FindExCache.Key key(String direction, int channels, int stride, Precision p) {
        return FindExCache.Key.of(direction, new int[] {2, channels, 12, 12, 12}, new int[] {channels, channels, 3, 3, 3},
                new int[] {1, 1, 1}, new int[] {stride, stride, stride}, new int[] {1, 1, 1}, p);
    }

    @Test
    void identicalLayersSearchOnce() {
        FindExCache cache = new FindExCache();
        AtomicInteger runs = new AtomicInteger();
        Supplier<List<ConvCandidate>> search = () -> {
            runs.incrementAndGet();
            return new ArrayList<>(FOUND);
        };
        // The three backbones of a separate-fusion network: the same layer three times.
        for (int backbone = 0; backbone < 3; backbone++) {
            assertEquals(FOUND, cache.candidates(key(16, 1, Precision.FP32), search));
        }
        assertEquals(1, runs.get());
        assertEquals(1, cache.searches());
    }

    @Test
    void anyDifferenceSearchesAgain() {
        FindExCache cache = new FindExCache();
        AtomicInteger runs = new AtomicInteger();
        Supplier<List<ConvCandidate>> search = () -> {
            runs.incrementAndGet();
            return FOUND;
        };
        cache.candidates(key(16, 1, Precision.FP32), search);
        cache.candidates(key(16, 2, Precision.FP32), search);
        cache.candidates(key(24, 1, Precision.FP32), search);
        cache.candidates(key(16, 1, Precision.TF32), search);
        cache.candidates(key(16, 1, Precision.FP32), search);
        // A transposed conv of the same shapes is another search: backward data, other algorithms.
        cache.candidates(key("backward-data", 16, 1, Precision.FP32), search);
        assertEquals(5, runs.get());
        assertEquals(5, cache.searches());
    }

    @Test
    void cachedResultsCannotBeChangedByTheirUser() {
        FindExCache cache = new FindExCache();
        List<ConvCandidate> got = cache.candidates(key(8, 1, Precision.FP32), () -> new ArrayList<>(FOUND));
        assertThrows(UnsupportedOperationException.class, got::clear);
    }
}
