package org.renalmtl.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The summary printed after the JMH run: time per forward for each backend and how renal-mtl's time
 * compares with each peer's and with the baseline engine's. A ratio renal-mtl / peer below 1 means
 * renal-mtl is faster. Ratios are of medians: on a shared machine a burst of foreign load inflates a
 * few forwards, which moves the mean a lot and the median little.
 *
 * @param rows one per backend that ran
 * @param baseline what the baseline engine's row is called, its commit for {@code run-cpu.sh
 *     --baseline} ("renal-mtl (baseline 060882f)"); "" where no baseline ran
 */
public record RatioTable(List<Row> rows, String baseline) {

    /** Name of renal-mtl's own benchmark method, the numerator of every ratio. */
    public static final String RENAL_MTL = "renalMtl";

    /**
     * One backend's JMH sample-time result.
     *
     * @param backend benchmark method name (renalMtl, renalMtlBaseline, libtorch, libtorchOptimized,
     *     onnxRuntime)
     * @param median median time per forward
     * @param mean mean time per forward
     * @param error half-width of JMH's 99.9% confidence interval of the mean (NaN with too few samples)
     * @param min fastest forward
     * @param samples number of timed forwards
     * @param unit JMH's unit of all times, e.g. {@code ms/op}
     */
    public record Row(String backend, double median, double mean, double error, double min, long samples,
            String unit) {}

    /** Copies the rows. */
    public RatioTable {
        rows = List.copyOf(rows);
    }

    /**
     * A table without a baseline.
     *
     * @param rows one per backend that ran
     */
    public RatioTable(List<Row> rows) {
        this(rows, "");
    }

    /** @return renal-mtl's row, if it ran */
    public Optional<Row> renalMtl() {
        return rows.stream().filter(r -> r.backend().equals(RENAL_MTL)).findFirst();
    }

    /**
     * @param peer a backend name
     * @return renal-mtl's median time / the peer's, if both ran with the same unit
     */
    public Optional<Double> ratio(String peer) {
        Optional<Row> ours = renalMtl();
        Optional<Row> theirs = rows.stream().filter(r -> r.backend().equals(peer)).findFirst();
        if (ours.isEmpty() || theirs.isEmpty() || !ours.get().unit().equals(theirs.get().unit())) {
            return Optional.empty();
        }
        return Optional.of(ours.get().median() / theirs.get().median());
    }

    /**
     * @param r a row
     * @return its name in the table: the backend, "renal-mtl (baseline C)" for the baseline engine
     */
    public String label(Row r) {
        return r.backend().equals(RenalMtlBaselineForward.NAME) ? "renal-mtl (baseline " + baseline + ")"
                : r.backend();
    }

    /** @return the table, then one line per ratio */
    public String format() {
        int width = rows.stream().mapToInt(r -> label(r).length()).reduce(18, Math::max);
        List<String> lines = new ArrayList<>();
        lines.add(String.format(Locale.ROOT, "%-" + width + "s %9s %9s %9s %9s %7s %-6s %s", "backend", "median",
                "mean", "±99.9%", "min", "samples", "unit", "renal-mtl / backend (medians)"));
        for (Row r : rows) {
            String ratio = ratio(r.backend()).map(x -> String.format(Locale.ROOT, "%.3f", x)).orElse("-");
            lines.add(String.format(Locale.ROOT, "%-" + width + "s %9.1f %9.1f %9s %9.1f %7d %-6s %s", label(r),
                    r.median(), r.mean(),
                    Double.isNaN(r.error()) ? "n/a" : String.format(Locale.ROOT, "%.1f", r.error()),
                    r.min(), r.samples(), r.unit(), ratio));
        }
        for (Row r : rows) {
            if (r.backend().equals(RENAL_MTL)) {
                continue;
            }
            ratio(r.backend()).ifPresent(x -> lines.add(comparison(r, x)));
        }
        return String.join("\n", lines);
    }

    /**
     * One ratio line: how many times faster or slower than a peer, and for the baseline the change of
     * the median in percent, the unit a regression bound is stated in.
     */
    private String comparison(Row r, double x) {
        if (r.backend().equals(RenalMtlBaselineForward.NAME)) {
            return String.format(Locale.ROOT, "renal-mtl / baseline %s = %.3f (renal-mtl's median %+.1f%% against"
                    + " the baseline's)", baseline, x, 100 * (x - 1));
        }
        return String.format(Locale.ROOT, "renal-mtl / %s = %.3f (renal-mtl %.2fx %s)", r.backend(), x,
                x <= 1 ? 1 / x : x, x <= 1 ? "faster" : "slower");
    }
}
