package org.renalmtl.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Whether the backends compute the same thing: the outputs each wrote for the same input, compared
 * pairwise by the largest absolute difference.
 *
 * <p>All backends run the same float32 weights and differ only in the order of summation (direct or
 * im2col convolutions, blocked reductions over up to 27·512 = 13 824 products). That moves pooled
 * features and logits by about 1e-6 to 1e-5 relative.
 *
 * @param what what is compared, for the report ("probabilities", "backbone features")
 * @param tolerance largest absolute difference that still counts as the same computation
 * @param names backend names, in the order of {@code outputs}
 * @param outputs each backend's float32 output, flattened
 */
public record Agreement(String what, double tolerance, List<String> names, List<float[]> outputs) {

    /**
     * Tolerance on the probabilities, float32 (B, T). A probability moves by at most a quarter of
     * its logit's change, so same-model noise stays near 1e-7. A model with other weights moves
     * them by 1e-3 to 1e-2 (the seed-0 and seed-1 R18-3P-96 MTDL models differ by 0.011 on the same
     * input), so a stale or mismatched peer cannot pass. The seeded model's probabilities hardly
     * depend on the input, though (5e-6 between two random inputs): this check guards the weights,
     * not the input handling; {@link #FEATURE_TOLERANCE} does that.
     */
    public static final double PROBABILITY_TOLERANCE = 1e-4;

    /**
     * Tolerance on the pooled backbone features, float32 (B, P·F), of the seeded R18-3P-96 model:
     * they lie in [0, 0.37] and move by about 0.027 between two random inputs and by 0.025 when two
     * phases are swapped; float32 summation order moves them by about 1e-6. 1e-4 sits two orders of
     * magnitude from both.
     */
    public static final double FEATURE_TOLERANCE = 1e-4;

    /** Copies the lists; every output must have the same length. */
    public Agreement {
        names = List.copyOf(names);
        outputs = outputs.stream().map(float[]::clone).toList();
        if (names.size() != outputs.size()) {
            throw new IllegalArgumentException(names.size() + " names for " + outputs.size() + " outputs");
        }
        for (int i = 1; i < outputs.size(); i++) {
            if (outputs.get(i).length != outputs.get(0).length) {
                throw new IllegalArgumentException(names.get(i) + " wrote " + outputs.get(i).length + " " + what
                        + ", " + names.get(0) + " " + outputs.get(0).length);
            }
        }
    }

    /** @return max |a_k − b_k| over the outputs of backends {@code a} and {@code b}; NaN anywhere gives NaN */
    public double maxAbsDifference(int a, int b) {
        float[] x = outputs.get(a);
        float[] y = outputs.get(b);
        double worst = 0;
        for (int k = 0; k < x.length; k++) {
            double d = Math.abs((double) x[k] - y[k]);
            if (Double.isNaN(d)) {
                return Double.NaN;
            }
            worst = Math.max(worst, d);
        }
        return worst;
    }

    /** @return the largest pairwise difference (NaN if any output holds NaN) */
    public double worst() {
        double worst = 0;
        for (int a = 0; a < names.size(); a++) {
            for (int b = a + 1; b < names.size(); b++) {
                double d = maxAbsDifference(a, b);
                if (Double.isNaN(d)) {
                    return Double.NaN;
                }
                worst = Math.max(worst, d);
            }
        }
        return worst;
    }

    /** @return true iff every pair agrees within {@code tolerance} (and nothing is NaN) */
    public boolean agrees() {
        return worst() <= tolerance;
    }

    /** @return the outputs (the first 8 values of each) and each pair's largest difference, one line each */
    public String report() {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            float[] values = outputs.get(i);
            StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "  %-17s", names.get(i)));
            for (int k = 0; k < Math.min(8, values.length); k++) {
                s.append(String.format(Locale.ROOT, " %.8f", values[k]));
            }
            lines.add(s.append(values.length > 8 ? " ... (" + values.length + " values)" : "").toString());
        }
        for (int a = 0; a < names.size(); a++) {
            for (int b = a + 1; b < names.size(); b++) {
                lines.add(String.format(Locale.ROOT, "  max |%s - %s| = %.3e", names.get(a), names.get(b),
                        maxAbsDifference(a, b)));
            }
        }
        if (names.size() < 2) {
            lines.add("  one backend only: nothing to compare");
        } else {
            lines.add(String.format(Locale.ROOT, "  %s: largest difference %.3e, tolerance %.0e: %s", what, worst(),
                    tolerance, agrees() ? "same" : "MISMATCH"));
        }
        return String.join("\n", lines);
    }
}
