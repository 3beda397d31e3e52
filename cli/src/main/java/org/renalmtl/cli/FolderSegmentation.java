package org.renalmtl.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import org.renalmtl.loader.ImageInput;
import org.renalmtl.loader.Volume;
import org.renalmtl.segmentation.SegmentationModel;
import org.renalmtl.segmentation.SegmentationResult;

/**
 * {@code segment -i IN_DIR -o OUT_DIR}: every case of an nnU-Net input folder ({@link CaseFolder}) through one
 * loaded model, as the cohort runner runs cases: {@link Progress} on stderr, resumable (a case whose outputs
 * all exist is skipped, like {@code nnUNetv2_predict --continue_prediction}; {@code --overwrite} redoes it),
 * a bad case reported on one line and the run going on ({@link CohortRunner#isCaseError}), a summary at the end,
 * and exit code 3 ({@link CohortRunner#SOME_CASES_FAILED}) if any case failed. Each case's outputs are complete or absent.
 */
final class FolderSegmentation {
    /** Appended to a case's name for its probabilities file. */
    static final String PROBABILITIES_SUFFIX = "_probabilities.nii.gz";

    private final SegmentationModel model;
    private final boolean probabilities;
    private final boolean overwrite;
    private final String series; // the series to take from DICOM folders holding several, or null

    FolderSegmentation(SegmentationModel model, boolean probabilities, boolean overwrite, String series) {
        this.model = model;
        this.probabilities = probabilities;
        this.overwrite = overwrite;
        this.series = series;
    }

    /**
     * @param folder the scanned input folder
     * @param out    the output folder (created if absent)
     * @return 0 if every case ran or was skipped, 3 if any failed
     */
    int run(CaseFolder folder, Path out) {
        SortedMap<String, List<Path>> cases = folder.forChannels(model.config().channels().size());
        prepare(folder.dir(), out);
        Map<Path, String> outputs = new HashMap<>();
        for (String id : cases.keySet()) {
            for (Path p : outputs(out, id)) {
                String before = outputs.put(p, id);
                if (before != null) {
                    throw new InputException(p + ": would be written for case " + before + " and case " + id
                            + "; rename one of them");
                }
            }
        }
        List<String> todo = new ArrayList<>();
        for (String id : cases.keySet()) {
            if (overwrite || !outputs(out, id).stream().allMatch(Files::isRegularFile)) {
                todo.add(id);
            }
        }
        int skipped = cases.size() - todo.size();
        if (skipped > 0) {
            System.err.printf("renal-mtl: %s already holds the outputs of %d case(s); skipping them (--overwrite"
                    + " redoes them)%n", out, skipped);
        }
        String descrip = SegmentCommand.descrip(model.config());
        Progress progress = Progress.forCases(todo.size());
        int failed = 0;
        for (String id : todo) {
            progress.start(id);
            boolean ok = false;
            try {
                segment(cases.get(id), out.resolve(id + ".nii.gz"), probabilities ? probabilitiesFile(out, id) : null,
                        descrip);
                ok = true;
            } catch (RuntimeException e) {
                if (!CohortRunner.isCaseError(e)) {
                    throw e;
                }
                failed++;
                String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
                progress.report("renal-mtl: error: case " + id + ": " + msg); // a DICOM folder's series, one per line
            }
            progress.done(ok);
        }
        progress.finish();
        System.out.printf("%d case(s) run, %d failed, %d skipped (outputs already in %s)%n", todo.size(), failed,
                skipped, out);
        if (failed > 0) {
            System.err.printf("renal-mtl: error: %d of %d case(s) failed (reported above)%n", failed, todo.size());
            return CohortRunner.SOME_CASES_FAILED;
        }
        return 0;
    }

    private void segment(List<Path> channels, Path labels, Path probs, String descrip) {
        List<Volume> volumes = new ArrayList<>();
        try {
            for (Path p : channels) {
                volumes.add(new ImageInput(p, series).read().volume());
            }
            try (SegmentationResult r = model.segment(volumes, probs != null)) {
                SegmentCommand.write(r, labels, probs, descrip);
            }
        } finally {
            volumes.forEach(Volume::close);
        }
    }

    private List<Path> outputs(Path out, String id) {
        Path labels = out.resolve(id + ".nii.gz");
        return probabilities ? List.of(labels, probabilitiesFile(out, id)) : List.of(labels);
    }

    private static Path probabilitiesFile(Path out, String id) {
        return out.resolve(id + PROBABILITIES_SUFFIX);
    }

    /** The output folder: created if absent; never the input folder, whose next reading its outputs would spoil. */
    private static void prepare(Path in, Path out) {
        if (Files.exists(out, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(out)) {
            throw new InputException(out + ": -o must be a folder, and this is a file");
        }
        try {
            Files.createDirectories(out);
            if (Files.isSameFile(in, out)) {
                throw new InputException(out + ": -o is the input folder; choose another (CASE.nii.gz there would"
                        + " be taken for a misnamed input next time)");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(out + ": cannot create the output folder (" + e.getMessage() + ")", e);
        }
        if (!Files.isWritable(out)) {
            throw new InputException(out + ": cannot write: the output folder is not writable");
        }
    }
}
