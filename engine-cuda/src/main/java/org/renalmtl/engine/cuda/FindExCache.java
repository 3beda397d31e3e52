package org.renalmtl.engine.cuda;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.renalmtl.engine.Precision;

/**
 * The usable {@code cudnnFindConvolution*AlgorithmEx} results of one plan, by what determines
 * them, so identical layers (and the three backbones of a separate-fusion network, which differ only
 * in their weights) run the search once. One cache per plan: the results also depend on the device
 * and the search workspace, which are fixed within a plan.
 */
final class FindExCache {
    /**
     * What a search depends on.
     *
     * @param direction {@code forward} (a convolution) or {@code backward-data} (a transposed one)
     * @param input x dims (N, C, D, H, W) as stored
     * @param filter w dims (K, C, kD, kH, kW)
     * @param padding (pD, pH, pW)
     * @param stride (sD, sH, sW)
     * @param dilation (dD, dH, dW)
     * @param precision the plan's precision (with the cuDNN version, it fixes the math types)
     */
    record Key(String direction, List<Integer> input, List<Integer> filter, List<Integer> padding, List<Integer> stride,
            List<Integer> dilation, Precision precision) {
        /** @return a key comparing the arrays by content */
        static Key of(String direction, int[] input, int[] filter, int[] padding, int[] stride, int[] dilation,
                Precision precision) {
            return new Key(direction, list(input), list(filter), list(padding), list(stride), list(dilation), precision);
        }

        private static List<Integer> list(int[] a) {
            return Arrays.stream(a).boxed().toList();
        }
    }

    private final Map<Key, List<ConvCandidate>> found = new HashMap<>();

    /**
     * @param key what the search depends on
     * @param search runs the search (only when no layer with this key has)
     * @return the usable candidates, fastest first
     */
    List<ConvCandidate> candidates(Key key, Supplier<List<ConvCandidate>> search) {
        List<ConvCandidate> c = found.get(key);
        if (c == null) {
            c = List.copyOf(search.get());
            found.put(key, c);
        }
        return c;
    }

    /** @return searches run so far (distinct keys) */
    int searches() {
        return found.size();
    }
}
