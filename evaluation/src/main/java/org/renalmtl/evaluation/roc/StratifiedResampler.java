package org.renalmtl.evaluation.roc;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Stratified bootstrap replicates of an ROC sample held as multiplicities: the scores are sorted and
 * binned by distinct value once, and a replicate is just the count of each bin among m cases and n
 * controls drawn with replacement. AUC and ROC points of a replicate then cost O(m + n) instead of a
 * sort, which makes 2000 replicates of 10 000 patients take a fraction of a second.
 */
final class StratifiedResampler {

    private final int m;                 // number of cases
    private final int n;                 // number of controls
    private final int[] caseBin;         // (m) distinct-value bin of each case
    private final int[] controlBin;      // (n) distinct-value bin of each control
    private final int bins;              // number of distinct scores K
    private final double[] distinct;     // (K) distinct scores, ascending
    private final SplittableRandom rng;
    final int[] caseCount;               // (K) cases drawn per bin in the current replicate
    final int[] controlCount;            // (K) controls drawn per bin in the current replicate

    StratifiedResampler(RocSample s, long seed) {
        m = s.m();
        n = s.n();
        double[] pooled = new double[m + n];
        System.arraycopy(s.cases(), 0, pooled, 0, m);
        System.arraycopy(s.controls(), 0, pooled, m, n);
        Arrays.sort(pooled);
        int k = 0;
        for (int i = 0; i < pooled.length; i++) {
            if (i == 0 || pooled[i] != pooled[i - 1]) {
                pooled[k++] = pooled[i];
            }
        }
        distinct = Arrays.copyOf(pooled, k);
        bins = k;
        caseBin = new int[m];
        controlBin = new int[n];
        for (int i = 0; i < m; i++) {
            caseBin[i] = Arrays.binarySearch(distinct, s.cases()[i]);
        }
        for (int j = 0; j < n; j++) {
            controlBin[j] = Arrays.binarySearch(distinct, s.controls()[j]);
        }
        caseCount = new int[bins];
        controlCount = new int[bins];
        rng = new SplittableRandom(seed);
    }

    /** Number of distinct scores K. */
    int bins() {
        return bins;
    }

    /** Score of distinct-value bin {@code b}. */
    double value(int b) {
        return distinct[b];
    }

    /** Draws the next replicate: m cases from the cases and n controls from the controls, with replacement. */
    void next() {
        Arrays.fill(caseCount, 0);
        Arrays.fill(controlCount, 0);
        for (int i = 0; i < m; i++) {
            caseCount[caseBin[rng.nextInt(m)]]++;
        }
        for (int j = 0; j < n; j++) {
            controlCount[controlBin[rng.nextInt(n)]]++;
        }
    }

    /** AUC of the current replicate (Mann–Whitney, ties count half). */
    double auc() {
        long below = 0;      // controls in lower bins
        double sum = 0;      // Σ over cases of (#controls below + #controls tied / 2)
        for (int b = 0; b < bins; b++) {
            sum += caseCount[b] * (below + controlCount[b] / 2.0);
            below += controlCount[b];
        }
        return sum / ((double) m * n);
    }

    /**
     * ROC points of the current replicate at the thresholds between the original distinct scores
     * (−∞, midpoints, +∞), each as {specificity, sensitivity}; (K + 1, 2).
     */
    double[][] points() {
        double[][] pts = new double[bins + 1][2];
        long casesAbove = m;
        long controlsBelow = 0;
        pts[0][0] = 0;
        pts[0][1] = 1;
        for (int b = 0; b < bins; b++) {
            casesAbove -= caseCount[b];
            controlsBelow += controlCount[b];
            pts[b + 1][0] = controlsBelow / (double) n;
            pts[b + 1][1] = casesAbove / (double) m;
        }
        return pts;
    }
}
