package org.renalmtl.evaluation.roc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** The multiplicity-based replicates must equal the explicit resampled samples they stand for. */
class StratifiedResamplerTest {

    @Test
    void countsReproduceAucAndRocOfTheExplicitReplicate() {
        SplittableRandom data = new SplittableRandom(5);
        double[] x = new double[37];
        double[] y = new double[52];
        for (int i = 0; i < x.length; i++) {
            x[i] = data.nextInt(9) * 0.5; // ties within and across classes
        }
        for (int j = 0; j < y.length; j++) {
            y[j] = data.nextInt(6) * 0.5;
        }
        RocSample s = new RocSample(x, y);
        StratifiedResampler r = new StratifiedResampler(s, 99);
        for (int rep = 0; rep < 50; rep++) {
            r.next();
            double[] bx = new double[x.length];
            double[] by = new double[y.length];
            int a = 0;
            int b = 0;
            for (int k = 0; k < r.bins(); k++) {
                for (int c = 0; c < r.caseCount[k]; c++) {
                    bx[a++] = r.value(k);
                }
                for (int c = 0; c < r.controlCount[k]; c++) {
                    by[b++] = r.value(k);
                }
            }
            assertEquals(x.length, a);
            assertEquals(y.length, b);
            RocSample explicit = new RocSample(bx, by);
            assertEquals(DeLong.auc(explicit), r.auc(), 1e-15);
            double[][] pts = r.points();
            RocCurve curve = RocCurve.of(explicit);
            for (double[] p : pts) {
                // every replicate point lies on the explicit replicate's curve (same specificity -> a
                // point of the explicit curve with that sensitivity)
                boolean found = curve.points().stream().anyMatch(q -> Math.abs(q.specificity() - p[0]) < 1e-15
                    && Math.abs(q.sensitivity() - p[1]) < 1e-15);
                assertEquals(true, found, "point " + p[0] + "," + p[1]);
            }
        }
    }
}
