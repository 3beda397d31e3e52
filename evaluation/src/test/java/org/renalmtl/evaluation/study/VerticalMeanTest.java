package org.renalmtl.evaluation.study;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.renalmtl.evaluation.roc.DeLong;
import org.renalmtl.evaluation.roc.RocCurve;
import org.renalmtl.evaluation.roc.RocSample;

/** The readers' mean ROC curve is the vertical average of the curves as their AUCs count them. */
class VerticalMeanTest {

    @Test
    void areaUnderTheMeanCurveIsTheMeanAuc() {
        boolean[] truth = {true, true, true, false, false, false, false, true, false, true};
        double[][] ratings = {{5, 4, 2, 1, 3, 2, 1, 3, 2, 4}, {4, 4, 3, 2, 2, 1, 3, 5, 1, 2}};
        List<RocCurve> curves = List.of(RocCurve.of(RocSample.of(ratings[0], truth)), RocCurve.of(RocSample.of(ratings[1], truth)));
        // Kinks sit at multiples of 1/5 (5 negatives): a grid of step 1/100 has every one, so the trapezoid rule is exact.
        double[] fpr = new double[101];
        for (int i = 0; i < fpr.length; i++) {
            fpr[i] = i / 100.0;
        }
        double[] mean = ReaderAnalysis.verticalMean(curves, fpr);
        double area = 0;
        for (int i = 1; i < fpr.length; i++) {
            area += (fpr[i] - fpr[i - 1]) * (mean[i] + mean[i - 1]) / 2;
        }
        double meanAuc = (DeLong.auc(RocSample.of(ratings[0], truth)) + DeLong.auc(RocSample.of(ratings[1], truth))) / 2;
        assertEquals(meanAuc, area, 1e-12);
        assertEquals(1.0, mean[100], 0);
    }
}
