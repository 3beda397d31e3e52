package org.renalmtl.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;

import org.renalmtl.evaluation.io.OutputFiles;
import org.renalmtl.evaluation.study.ReaderAnalysis;
import org.renalmtl.evaluation.study.StudyData;
import org.renalmtl.evaluation.study.StudyEvaluation;
import org.renalmtl.evaluation.study.StudyOutputs;
import org.renalmtl.evaluation.study.StudySpec;
import org.renalmtl.evaluation.study.StudyTables;

/**
 * {@code evaluate --study}: reads the study, evaluates every task × model × cohort (and the readers),
 * builds all files in memory and commits them together, then prints Table 2 in Markdown.
 */
final class StudyRun {

    /**
     * Bootstrap replicates of the calibration band: each refits lowess, and 500 give percentile limits
     * stable to about 0.01 at any cohort size.
     */
    static final int CALIBRATION_REPLICATES = 500;

    private StudyRun() {
    }

    static int run(Path studyFile, Path out, double[] thresholds, int bins, long seed, PrintWriter w) {
        StudySpec spec = StudySpec.read(studyFile);
        List<StudyData.Slice> slices = StudyData.load(spec);
        List<StudyEvaluation.SliceResult> results = StudyEvaluation.run(spec, slices,
            new StudyEvaluation.Settings(thresholds, bins, CALIBRATION_REPLICATES, seed));
        ReaderAnalysis readers = spec.readers() == null ? null : ReaderAnalysis.of(spec, slices);
        OutputFiles files = StudyOutputs.build(spec, results, readers);
        files.commit(out);
        for (String cohort : StudyTables.cohortSizes(results).keySet()) {
            w.println("Table 2, " + cohort + " cohort");
            w.print(StudyTables.markdown(StudyTables.TABLE2_HEADER, StudyTables.table2(results, cohort)));
            w.println();
        }
        w.print(StudyTables.markdown(StudyTables.PAIRS_HEADER, StudyTables.pairs(results)));
        w.println("wrote " + files.names().size() + " files to " + out);
        w.flush();
        return 0;
    }
}
