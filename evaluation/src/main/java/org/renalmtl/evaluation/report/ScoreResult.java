package org.renalmtl.evaluation.report;

import java.util.List;

import org.renalmtl.evaluation.calibration.Calibration;
import org.renalmtl.evaluation.roc.BootstrapAuc;
import org.renalmtl.evaluation.roc.DeLong;
import org.renalmtl.evaluation.roc.RocCurve;
import org.renalmtl.evaluation.roc.SensitivityBand;

/**
 * Everything computed for one score column.
 *
 * @param name        score column name
 * @param delong      AUC with DeLong variance and CI
 * @param bootstrap   stratified percentile bootstrap CI
 * @param curve       empirical ROC curve
 * @param youden      Youden-optimal operating point
 * @param atThresholds operating points at the user's thresholds
 * @param band        bootstrap band of the sensitivity for the plot
 * @param calibration calibration summary, or null when the scores are not probabilities in [0, 1]
 * @param isProbability whether all scores lie in [0, 1] (then DCA and calibration apply)
 */
public record ScoreResult(String name, DeLong.AucEstimate delong, BootstrapAuc.Interval bootstrap, RocCurve curve,
                          RocCurve.OperatingPoint youden, List<RocCurve.OperatingPoint> atThresholds,
                          SensitivityBand.Band band, Calibration.Result calibration, boolean isProbability) {
}
