package org.renalmtl.evaluation.mrmc;

import java.util.ArrayList;
import java.util.List;

import org.renalmtl.evaluation.roc.DeLong;
import org.renalmtl.evaluation.roc.RocCurve;
import org.renalmtl.evaluation.roc.RocSample;

/**
 * The comparison a model paper reports next to an MRMC analysis: the model's AUC against each
 * reader's AUC on the same cases, by the paired DeLong test, one test per reader and modality (no
 * multiplicity correction; say so when reporting), plus each reader's Youden operating point for
 * plotting against the model's ROC curve.
 */
public final class ModelVersusReaders {

    /**
     * Model versus one reader under one test.
     *
     * @param test      test label
     * @param reader    reader label
     * @param comparison paired DeLong test, model first (difference = model − reader)
     * @param readerPoint reader's Youden-optimal operating point on the rating scale
     */
    public record Comparison(String test, String reader, DeLong.PairedTest comparison,
                             RocCurve.OperatingPoint readerPoint) {
    }

    private ModelVersusReaders() {
    }

    /**
     * Compares the model with every reader of every test.
     *
     * @param study       the reader study
     * @param modelScores (T, C) the model's score of each case, per test (the same row repeated when the
     *                    model does not depend on the modality)
     * @param level       confidence level of the difference CI
     */
    public static List<Comparison> compare(ReaderStudy study, double[][] modelScores, double level) {
        List<Comparison> out = new ArrayList<>();
        for (int t = 0; t < study.testCount(); t++) {
            RocSample model = RocSample.of(modelScores[t], study.truth());
            for (int r = 0; r < study.readerCount(); r++) {
                RocSample reader = RocSample.of(study.ratings()[t][r], study.truth());
                out.add(new Comparison(study.tests().get(t), study.readers().get(r),
                    DeLong.pairedTest(model, reader, level), RocCurve.of(reader).youden()));
            }
        }
        return out;
    }
}
