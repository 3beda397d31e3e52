package org.renalmtl.evaluation.roc;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The empirical ROC curve of a sample and the classification metrics at operating points.
 *
 * <p>Thresholds follow pROC: −∞, the midpoints between consecutive distinct scores, +∞; a case is
 * called positive when its score is ≥ the threshold (at midpoints ≥ and &gt; agree, so the points are
 * pROC's {@code coords(roc, "all")}). The Youden point maximises sensitivity + specificity; among
 * ties the lowest threshold wins, the first row pROC's {@code coords(roc, "best")} returns.
 */
public final class RocCurve {

    /**
     * Confusion-matrix metrics at one threshold.
     *
     * @param threshold   score at or above which a case is called positive
     * @param sensitivity TP / (TP + FN)
     * @param specificity TN / (TN + FP)
     * @param ppv         TP / (TP + FP), NaN when nothing is called positive
     * @param npv         TN / (TN + FN), NaN when nothing is called negative
     * @param tp          true positives
     * @param fp          false positives
     * @param tn          true negatives
     * @param fn          false negatives
     */
    public record OperatingPoint(double threshold, double sensitivity, double specificity, double ppv,
                                 double npv, int tp, int fp, int tn, int fn) {

        /** Youden's J = sensitivity + specificity − 1. */
        public double youden() {
            return sensitivity + specificity - 1;
        }
    }

    private final double[] sortedCases;    // (m) ascending
    private final double[] sortedControls; // (n) ascending
    private final List<OperatingPoint> points;

    private RocCurve(double[] sortedCases, double[] sortedControls, List<OperatingPoint> points) {
        this.sortedCases = sortedCases;
        this.sortedControls = sortedControls;
        this.points = points;
    }

    /** Builds the empirical curve (O(N log N)). */
    public static RocCurve of(RocSample s) {
        double[] cases = s.cases().clone();
        double[] controls = s.controls().clone();
        Arrays.sort(cases);
        Arrays.sort(controls);
        double[] all = new double[cases.length + controls.length];
        System.arraycopy(cases, 0, all, 0, cases.length);
        System.arraycopy(controls, 0, all, cases.length, controls.length);
        Arrays.sort(all);
        List<Double> thresholds = new ArrayList<>();
        thresholds.add(Double.NEGATIVE_INFINITY);
        for (int i = 1; i < all.length; i++) {
            if (all[i] != all[i - 1]) {
                thresholds.add((all[i] + all[i - 1]) / 2);
            }
        }
        thresholds.add(Double.POSITIVE_INFINITY);
        RocCurve curve = new RocCurve(cases, controls, List.of());
        List<OperatingPoint> pts = new ArrayList<>(thresholds.size());
        for (double t : thresholds) {
            pts.add(curve.at(t));
        }
        return new RocCurve(cases, controls, List.copyOf(pts));
    }

    /** Points of the curve in order of increasing threshold (decreasing sensitivity). */
    public List<OperatingPoint> points() {
        return points;
    }

    /**
     * At most {@code maxPoints} of the curve's points, for drawing or listing a curve of a large sample
     * (which has up to N + 1 points): all of them when there are that few; otherwise the first and the
     * last, and in between a point whenever sensitivity or 1 − specificity has moved by at least
     * δ = 2 / (maxPoints − 2) since the last point kept. Both coordinates are monotone along the curve,
     * so they move by at most 2 in all, which bounds the count; every point left out lies within δ, in
     * both coordinates, of a point kept, so a plot of the kept points is the curve to within δ.
     *
     * @param maxPoints at least 3
     */
    public List<OperatingPoint> thinned(int maxPoints) {
        if (maxPoints < 3) {
            throw new IllegalArgumentException("maxPoints must be at least 3, got " + maxPoints);
        }
        if (points.size() <= maxPoints) {
            return points;
        }
        double delta = 2.0 / (maxPoints - 2);
        List<OperatingPoint> kept = new ArrayList<>();
        OperatingPoint last = points.getFirst();
        kept.add(last);
        for (int i = 1; i < points.size() - 1; i++) {
            OperatingPoint p = points.get(i);
            if (Math.abs(p.sensitivity() - last.sensitivity()) >= delta
                || Math.abs(p.specificity() - last.specificity()) >= delta) {
                kept.add(p);
                last = p;
            }
        }
        kept.add(points.getLast());
        return List.copyOf(kept);
    }

    /** Metrics when scores ≥ {@code threshold} are called positive. */
    public OperatingPoint at(double threshold) {
        int m = sortedCases.length;
        int n = sortedControls.length;
        int tp = m - countBelow(sortedCases, threshold);
        int fp = n - countBelow(sortedControls, threshold);
        int fn = m - tp;
        int tn = n - fp;
        double ppv = tp + fp == 0 ? Double.NaN : tp / (double) (tp + fp);
        double npv = tn + fn == 0 ? Double.NaN : tn / (double) (tn + fn);
        return new OperatingPoint(threshold, tp / (double) m, tn / (double) n, ppv, npv, tp, fp, tn, fn);
    }

    /** Youden-optimal point (maximal sensitivity + specificity; lowest threshold among ties). */
    public OperatingPoint youden() {
        OperatingPoint best = points.getFirst();
        for (OperatingPoint p : points) {
            if (p.sensitivity() + p.specificity() > best.sensitivity() + best.specificity()) {
                best = p;
            }
        }
        return best;
    }

    // Number of values strictly below t in a sorted array.
    private static int countBelow(double[] sorted, double t) {
        int lo = 0;
        int hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < t) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
