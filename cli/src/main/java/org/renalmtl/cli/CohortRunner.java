package org.renalmtl.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.renalmtl.loader.ImageInput;
import org.renalmtl.loader.MaskSelection;
import org.renalmtl.loader.ScratchDirectory;
import org.renalmtl.pipeline.CasePipeline;
import org.renalmtl.pipeline.CaseReport;
import org.renalmtl.pipeline.CohortRow;
import org.renalmtl.pipeline.EngineVersion;
import org.renalmtl.pipeline.PreparedCase;
import org.renalmtl.pipeline.Provenance;
import org.renalmtl.pipeline.TumourSegmentation;
import org.renalmtl.weights.ModelConfig;

/**
 * A cohort run: one results row per case, appended as each case ends, so an interrupted run loses at most the case
 * in flight and a re-run skips every case already in the file. A failing case is recorded with its error and the
 * run goes on; {@code --retry-failed} runs the cases with error rows again. Every row names the model's SHA-256,
 * the engine version and the row-changing options ({@link Provenance}): a file written otherwise is refused, never
 * mixed. {@code --part K/N} runs one of N disjoint parts, by case id ({@link CohortPart}). The next cases are read
 * and preprocessed on another thread while the network runs ({@link CasePrefetch}), and {@code --batch N} runs N per
 * forward; rows stay in list order and the serial runner's. With a segmentation model ({@code --seg-model}) the
 * list names no masks: each case's tumour is segmented as it is prepared (on the prefetch thread), its largest
 * component classified, and the row says how many components there were and on which side. The results CSV feeds
 * {@code renal-mtl evaluate} directly ({@code --score p_<task>}).
 *
 * <p>A phase cell may name a NIfTI file or a DICOM series folder; an optional column {@code PHASE_series} chooses
 * that phase's series per case (a UID or description), else {@code --series} does. A case's warnings (the same scan
 * for two phases, a tumour at the scan's edge) go to stderr, {@code renal-mtl: warning: case ID: ...}; the results
 * file keeps its columns.
 */
final class CohortRunner {
    /** Exit code of a run in which some case of the cohort (or part) has an error row. */
    static final int SOME_CASES_FAILED = 3;

    private final CasePipeline pipeline;
    private final TumourSegmentation segmentation; // null when the list gives each case's mask
    private final ModelConfig config;
    private final MaskSelection selection;
    private final SeriesChoice series;
    private final Provenance provenance;
    private final List<CohortRow.Column> columns;
    private final Throughput throughput;

    /**
     * How cases move through the runner; neither changes a row's numbers beyond float rounding (batching) or at
     * all (prefetching).
     *
     * @param prefetch cases prepared ahead on a thread of their own while the network runs (0: one thread)
     * @param batch    cases per forward
     */
    record Throughput(int prefetch, int batch) {}

    /**
     * @param segmentation finds each case's tumour, or null when the list names masks; checked here against the
     *                     classifier's phases, so models that do not fit stop the run before any case
     */
    CohortRunner(CasePipeline pipeline, TumourSegmentation segmentation, ModelConfig config, MaskSelection selection,
            SeriesChoice series, String options, Throughput throughput) {
        this.pipeline = pipeline;
        this.segmentation = segmentation;
        this.throughput = throughput;
        this.columns = CohortRow.columns(config, segmentation != null);
        this.config = config;
        this.selection = selection;
        this.series = series;
        this.provenance = new Provenance(pipeline.modelSha256(), segmentation == null ? "" : segmentation.sha256(),
                EngineVersion.VERSION, options);
        if (segmentation != null) {
            segmentation.channelPhases(config.phases());
        }
    }

    /** @return the results header for this model */
    List<String> header() {
        return CohortRow.header(columns);
    }

    /**
     * @param casesCsv    the case list
     * @param out         the results file (created, or resumed)
     * @param part        the part of the cohort to run
     * @param retryFailed whether cases with an error row run again
     * @return 0 if every case of the part has an ok row, {@link #SOME_CASES_FAILED} otherwise
     */
    int run(Path casesCsv, Path out, CohortPart part, boolean retryFailed) {
        AtomicFiles.checkWritable(out);
        if (Files.exists(out) && sameFile(out, casesCsv)) {
            throw new InputException(out + ": --out is the cohort list itself; choose another file");
        }
        CohortManifest cases = CohortManifest.read(casesCsv, config.phases(), segmentation == null);
        Path base = casesCsv.toAbsolutePath().getParent();
        List<Integer> mine = new ArrayList<>();
        for (int r = 0; r < cases.size(); r++) {
            if (part.contains(cases.id(r))) {
                mine.add(r);
            }
        }
        int failed = 0;
        int failedBefore = 0;
        List<Integer> todo = new ArrayList<>();
        try (ResultsFile results = ResultsFile.open(out, header(), provenance)) {
            Map<String, String> status = results.status();
            for (int r : mine) {
                String s = status.get(cases.id(r));
                if (s == null || s.equals("error") && retryFailed) {
                    todo.add(r);
                } else if (s.equals("error")) {
                    failedBefore++;
                }
            }
            int skipped = mine.size() - todo.size();
            if (skipped > 0) {
                System.err.printf("renal-mtl: %s already holds %d case(s); skipping them%n", out, skipped);
            }
            Progress progress = Progress.forCases(todo.size());
            Map<Integer, TumourSegmentation.Found> found = new ConcurrentHashMap<>(); // row -> its segmentation
            try (ScratchDirectory scratch = segmentation == null ? null : ScratchDirectory.create("renal-mtl-masks");
                    CasePrefetch prefetch = new CasePrefetch(todo, r -> prepare(cases, r, base, scratch, found),
                            throughput.prefetch())) {
                while (prefetch.hasNext()) {
                    List<CasePrefetch.Item> group = new ArrayList<>();
                    try {
                        while (group.size() < throughput.batch() && prefetch.hasNext()) {
                            group.add(prefetch.next());
                        }
                        failed += runGroup(cases, group, found, results, progress);
                    } finally {
                        for (CasePrefetch.Item i : group) {
                            if (i.prepared() != null) {
                                i.prepared().close();
                            }
                        }
                    }
                }
            }
            progress.finish();
            System.out.printf("%d case(s) run, %d failed, %d skipped (already in %s)%n", todo.size(), failed, skipped,
                    out);
        }
        if (failed + failedBefore == 0) {
            return 0;
        }
        System.err.printf("renal-mtl: error: %d of %d case(s)%s have an error row in %s%s%n", failed + failedBefore,
                mine.size(), part.n() > 1 ? " of part " + part.k() + "/" + part.n() : "", out,
                failedBefore > 0 ? " (" + failedBefore + " from an earlier run: --retry-failed runs them again)" : "");
        return SOME_CASES_FAILED;
    }

    /**
     * Reads and preprocesses one case; with a segmentation model, first segments it into a mask in {@code scratch}
     * (removed once the case is prepared) and records what it found under the case's row.
     */
    private PreparedCase prepare(CohortManifest cases, int r, Path base, ScratchDirectory scratch,
            Map<Integer, TumourSegmentation.Found> found) {
        List<ImageInput> phases = inputs(cases, r, base);
        if (segmentation == null) {
            return pipeline.prepare(phases, path(cases, r, cases.maskColumn, base), selection);
        }
        Path mask = scratch.path().resolve("case-" + r + ".nii.gz");
        try {
            found.put(r, segmentation.segment(segmentation.channelFiles(config.phases(), phases), mask));
            return pipeline.prepare(phases, mask, MaskSelection.largestComponent());
        } finally {
            try {
                Files.deleteIfExists(mask);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * Runs the network on a group's prepared cases (one forward when batching), then appends each case's row in
     * list order.
     *
     * @return the group's failed cases
     */
    private int runGroup(CohortManifest cases, List<CasePrefetch.Item> group,
            Map<Integer, TumourSegmentation.Found> found, ResultsFile results, Progress progress) {
        List<PreparedCase> ready = group.stream().map(CasePrefetch.Item::prepared).filter(c -> c != null).toList();
        Map<PreparedCase, Object> outcome = new IdentityHashMap<>(); // CaseReport or the case's RuntimeException
        if (ready.size() > 1 || ready.size() == 1 && throughput.batch() > 1) {
            try {
                List<CaseReport> reports = pipeline.inferBatch(ready, throughput.batch());
                for (int i = 0; i < ready.size(); i++) {
                    outcome.put(ready.get(i), reports.get(i));
                }
            } catch (RuntimeException e) {
                if (!isCaseError(e)) {
                    throw e;
                }
                // Some case of the batch failed the forward: each alone says which.
            }
        }
        for (PreparedCase c : ready) {
            if (!outcome.containsKey(c)) {
                try {
                    outcome.put(c, pipeline.infer(c));
                } catch (RuntimeException e) {
                    if (!isCaseError(e)) {
                        throw e;
                    }
                    outcome.put(c, e);
                }
            }
        }
        int failed = 0;
        for (CasePrefetch.Item item : group) {
            String id = cases.id(item.row());
            TumourSegmentation.Found seg = found.remove(item.row());
            Object o = item.prepared() == null ? item.error() : outcome.get(item.prepared());
            Object[] row;
            double seconds = item.seconds();
            if (o instanceof CaseReport res) {
                seconds += res.timings().get("inference_s");
                for (String w : res.warnings()) {
                    progress.report("renal-mtl: warning: case " + id + ": " + w);
                }
                row = CohortRow.ok(id, res, seg, provenance, seconds);
            } else {
                failed++;
                row = CohortRow.error(columns, id, ((RuntimeException) o).getMessage(), provenance, seconds);
            }
            results.append(id, CohortRow.csvCells(columns, row));
            progress.done(id, row[1].equals("ok"), seconds);
        }
        return failed;
    }

    private List<ImageInput> inputs(CohortManifest cases, int r, Path base) {
        List<ImageInput> phases = new ArrayList<>();
        for (int p = 0; p < cases.phaseColumns.length; p++) {
            String own = cases.seriesColumns[p] < 0 ? "" : cases.table.cell(r, cases.seriesColumns[p]).strip();
            phases.add(new ImageInput(path(cases, r, cases.phaseColumns[p], base),
                    own.isEmpty() ? series.forImage(config.phases().get(p)) : own));
        }
        return phases;
    }

    /** A case's file, relative to the case list; an empty cell or a file that cannot be read fails that case only. */
    private static Path path(CohortManifest cases, int r, int column, Path base) {
        String cell = cases.table.cell(r, column);
        String name = cases.table.header().get(column);
        if (cell.isBlank()) {
            throw new InputException(cases.table.source() + " line " + cases.table.lineOf(r) + ": no " + name
                    + " given (empty cell)");
        }
        Path p = base.resolve(cell);
        if (!Files.exists(p)) {
            throw new InputException(p + ": no such file (" + name + ")");
        }
        if (!Files.isReadable(p)) {
            throw new InputException(p + ": not readable (" + name + "; check its permissions)");
        }
        return p;
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return false; // b unreadable: reading it reports that
        }
    }

    /**
     * Per-case input problems are recorded and the run goes on; anything else is a bug and stops the run
     * (also in {@code segment}'s folder mode).
     */
    static boolean isCaseError(RuntimeException e) {
        return e instanceof InputException || CohortRow.isCaseError(e);
    }
}
