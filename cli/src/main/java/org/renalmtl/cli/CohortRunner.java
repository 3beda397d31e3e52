package org.renalmtl.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.renalmtl.engine.ModelRunException;
import org.renalmtl.engine.Prediction;
import org.renalmtl.evaluation.io.CsvTable;
import org.renalmtl.loader.ImageInput;
import org.renalmtl.loader.MaskSelection;
import org.renalmtl.loader.measure.PhaseStats;
import org.renalmtl.pipeline.CasePipeline;
import org.renalmtl.pipeline.CaseReport;
import org.renalmtl.weights.ModelConfig;

/**
 * A cohort run: one results row per case, appended and flushed as each case ends, so an
 * interrupted run loses at most the case in flight and a re-run skips every case already in the
 * file. A failing case is recorded with its error and the run goes on. The results CSV feeds
 * {@code renal-mtl evaluate} directly ({@code --score p_<task>}).
 *
 * <p>A phase cell may name a NIfTI file or a DICOM series folder; an optional column {@code PHASE_series} chooses
 * that phase's series per case (a UID or description), else {@code --series} does. A case's warnings (the same scan
 * for two phases, a tumour at the scan's edge) go to stderr, {@code renal-mtl: warning: case ID: ...}; the results
 * file keeps its columns.
 */
final class CohortRunner {
    private final CasePipeline pipeline;
    private final ModelConfig config;
    private final MaskSelection selection;
    private final SeriesChoice series;

    CohortRunner(CasePipeline pipeline, ModelConfig config, MaskSelection selection, SeriesChoice series) {
        this.pipeline = pipeline;
        this.config = config;
        this.selection = selection;
        this.series = series;
    }

    /** @return the results header for this model */
    List<String> header() {
        List<String> h = new ArrayList<>(List.of("case_id", "status", "error"));
        for (ModelConfig.Task t : config.tasks()) {
            h.add("p_" + t.name());
        }
        for (ModelConfig.Task t : config.tasks()) {
            h.add("label_" + t.name());
        }
        h.addAll(List.of("volume_ml", "max_diameter_mm", "renal_r_points"));
        for (String p : config.phases()) {
            h.add("hu_" + p + "_mean");
            h.add("hu_" + p + "_sd");
        }
        h.add("seconds");
        return h;
    }

    int run(Path casesCsv, Path out) {
        AtomicFiles.checkWritable(out);
        if (Files.exists(out) && sameFile(out, casesCsv)) {
            throw new InputException(out + ": --out is the cohort list itself; choose another file");
        }
        CsvTable cases = CsvTable.read(casesCsv);
        int idCol = cases.column("case_id", "--cohort");
        int[] phaseCols = config.phases().stream().mapToInt(p -> cases.column(p, "--cohort")).toArray();
        int maskCol = cases.column("mask", "--cohort");
        int[] seriesCols = config.phases().stream()
                .mapToInt(p -> cases.hasColumn(p + "_series") ? cases.column(p + "_series", "--cohort") : -1).toArray();
        Path base = casesCsv.toAbsolutePath().getParent();
        Set<String> ids = new HashSet<>();
        for (int r = 0; r < cases.rowCount(); r++) {
            String id = cases.cell(r, idCol);
            String problem = id.isEmpty() ? "is empty" : id.chars().anyMatch(Character::isISOControl)
                    ? "holds a control character (line break, tab, ...)" : !ids.add(id) ? "is a duplicate" : null;
            if (problem != null) {
                throw new InputException(casesCsv + " line " + cases.lineOf(r) + ": case_id '"
                        + id.replaceAll("\\p{Cntrl}", "?") + "' " + problem);
            }
        }
        int failed = 0;
        int todo;
        int skipped;
        try (ResultsFile results = ResultsFile.open(out, header())) {
            Set<String> done = results.done();
            skipped = done.size();
            todo = (int) ids.stream().filter(id -> !done.contains(id)).count();
            if (skipped > 0) {
                System.err.printf("renal-mtl: %s already holds %d case(s); skipping them%n", out, skipped);
            }
            Progress progress = Progress.forCases(todo);
            for (int r = 0; r < cases.rowCount(); r++) {
                String id = cases.cell(r, idCol);
                if (done.contains(id)) {
                    continue;
                }
                progress.start(id);
                List<ImageInput> phases = new ArrayList<>();
                for (int p = 0; p < phaseCols.length; p++) {
                    String own = seriesCols[p] < 0 ? "" : cases.cell(r, seriesCols[p]).strip();
                    phases.add(new ImageInput(base.resolve(cases.cell(r, phaseCols[p])),
                            own.isEmpty() ? series.forImage(config.phases().get(p)) : own));
                }
                Path mask = base.resolve(cases.cell(r, maskCol));
                List<String> row;
                try {
                    CaseReport res = pipeline.run(phases, mask, selection, null);
                    for (String w : res.warnings()) {
                        progress.report("renal-mtl: warning: case " + id + ": " + w);
                    }
                    row = okRow(id, res, progress.caseSeconds());
                } catch (RuntimeException e) {
                    if (!isCaseError(e)) {
                        throw e;
                    }
                    failed++;
                    row = errorRow(id, e.getMessage(), header().size());
                }
                results.append(row);
                progress.done(row.get(1).equals("ok"));
            }
            progress.finish();
        }
        System.out.printf("%d case(s) run, %d failed, %d skipped (already in %s)%n", todo, failed, skipped, out);
        return 0;
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
        return e instanceof org.renalmtl.loader.VolumeInputException || e instanceof InputException
                || e instanceof ModelRunException
                || e instanceof UncheckedIOException || e instanceof IllegalArgumentException;
    }

    private List<String> okRow(String id, CaseReport res, double seconds) {
        List<String> row = new ArrayList<>(List.of(csv(id), "ok", ""));
        for (Prediction.TaskResult t : res.prediction().tasks()) {
            row.add(String.format(Locale.ROOT, "%.6f", t.probability()));
        }
        for (Prediction.TaskResult t : res.prediction().tasks()) {
            row.add(t.positive() ? "1" : "0");
        }
        row.add(String.format(Locale.ROOT, "%.3f", res.tumour().volumeMl()));
        row.add(String.format(Locale.ROOT, "%.2f", res.tumour().maxDiameterMm()));
        row.add(Integer.toString(res.tumour().renalRPoints()));
        for (PhaseStats s : res.tumour().phases()) {
            row.add(String.format(Locale.ROOT, "%.2f", s.meanHu()));
            row.add(String.format(Locale.ROOT, "%.2f", s.sdHu()));
        }
        row.add(String.format(Locale.ROOT, "%.3f", seconds));
        return row;
    }

    private static List<String> errorRow(String id, String message, int columns) {
        List<String> row = new ArrayList<>(List.of(csv(id), "error", csv(message == null ? "error" : message)));
        while (row.size() < columns) {
            row.add("");
        }
        return row;
    }

    /** RFC 4180 quoting where needed. */
    static String csv(String s) {
        if (s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r")) {
            return "\"" + s.replace("\"", "\"\"").replace("\r", " ").replace("\n", " ") + "\"";
        }
        return s;
    }
}
