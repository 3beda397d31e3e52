package org.renalmtl.cli.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;

/**
 * Timed forwards of one model set and what may be said from them: p50, p90 and min by nearest rank. A p90
 * needs at least {@value #MIN_FOR_P90} samples (with fewer, the "90th percentile" is one of the two
 * slowest runs, a worst case rather than a percentile); below that it is omitted, and the JSON says why.
 *
 * @param samplesMs the forwards in ms, in the order they ran
 */
public record Latency(double[] samplesMs) {
    /** Fewest samples a p90 is reported from. */
    public static final int MIN_FOR_P90 = 20;

    /** Copies the samples and checks that there is one. */
    public Latency {
        if (samplesMs.length == 0) {
            throw new IllegalArgumentException("no samples");
        }
        samplesMs = samplesMs.clone();
    }

    /** @return the median (nearest rank) */
    public double p50() {
        return percentile(0.5);
    }

    /** @return the 90th percentile (nearest rank), or NaN from fewer than {@value #MIN_FOR_P90} samples */
    public double p90() {
        return samplesMs.length < MIN_FOR_P90 ? Double.NaN : percentile(0.9);
    }

    /** @return the fastest forward */
    public double min() {
        return Arrays.stream(samplesMs).min().orElseThrow();
    }

    private double percentile(double q) {
        double[] s = samplesMs.clone();
        Arrays.sort(s);
        int i = (int) Math.ceil(q * s.length) - 1;
        return s[Math.max(0, Math.min(s.length - 1, i))];
    }

    /** Writes n, p50, p90 (or why not), min, mean and the raw samples into {@code out}. */
    public void write(ObjectNode out) {
        out.put("n", samplesMs.length);
        out.put("p50_ms", p50());
        if (Double.isNaN(p90())) {
            out.putNull("p90_ms");
            out.put("p90_omitted", "fewer than " + MIN_FOR_P90 + " samples");
        } else {
            out.put("p90_ms", p90());
        }
        out.put("min_ms", min());
        out.put("mean_ms", Arrays.stream(samplesMs).average().orElseThrow());
        var raw = out.putArray("samples_ms");
        Arrays.stream(samplesMs).forEach(raw::add);
    }
}
