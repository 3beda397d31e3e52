package org.renalmtl.spark;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.renalmtl.loader.ImageInput;
import org.renalmtl.loader.MaskSelection;
import org.renalmtl.loader.ScratchDirectory;
import org.renalmtl.pipeline.CaseReport;
import org.renalmtl.pipeline.CohortRow;
import org.renalmtl.pipeline.Provenance;
import org.renalmtl.pipeline.TumourSegmentation;

/**
 * The executor side of the job: a partition of cases in, one results row per case out, lazily (a case runs when
 * Spark asks for its row, so a partition never holds more than one case in memory). The models come from
 * {@link ModelHolder}, once per executor JVM; with a segmentation model, a case's tumour mask is written to a private
 * scratch folder removed when the case ends. A case that fails, for whatever reason short of a JVM
 * {@link Error}, becomes its error row: one case never fails the task, and so never the job. Problems the pipeline
 * expects (bad input, a model that cannot run it) say why in its own words; anything else is a bug, and its row
 * says {@code internal error} with the exception's class, and its stack goes to the executor's log.
 */
final class CaseRunner implements FlatMapFunction<Iterator<CaseSpec>, Row> {
    private static final long serialVersionUID = 1L;

    private final ModelHolder.Key model;
    private final List<String> phases;        // (phases) the model's phase names, in config order
    private final List<CohortRow.Column> columns;
    private final Integer label;              // the mask label that is the tumour, null: the largest component
    private final Provenance provenance;
    private final HashMap<String, String> hadoop; // the driver's Hadoop configuration (LocalFiles#entries)

    CaseRunner(ModelHolder.Key model, List<String> phases, List<CohortRow.Column> columns, Integer label,
            Provenance provenance, HashMap<String, String> hadoop) {
        this.hadoop = hadoop;
        this.model = model;
        this.phases = List.copyOf(phases);
        this.columns = List.copyOf(columns);
        this.label = label;
        this.provenance = provenance;
    }

    @Override
    public Iterator<Row> call(Iterator<CaseSpec> cases) {
        Configuration conf = LocalFiles.configuration(hadoop);
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return cases.hasNext();
            }

            @Override
            public Row next() {
                return RowFactory.create(run(cases.next(), conf));
            }
        };
    }

    private Object[] run(CaseSpec c, Configuration conf) {
        long t0 = System.nanoTime();
        // Outside the case's try: a model that cannot load fails the task (and, retried, the job) rather than
        // writing an error row for every case, which a rerun would then skip.
        ModelHolder.Models models = ModelHolder.models(model, conf);
        TumourSegmentation seg = models.segmentation();
        try (LocalFiles files = new LocalFiles(conf);
                ScratchDirectory scratch = seg == null ? null : ScratchDirectory.create("renal-mtl-mask")) {
            try {
                List<ImageInput> inputs = new ArrayList<>();
                for (int p = 0; p < phases.size(); p++) {
                    String series = c.series().get(p);
                    inputs.add(new ImageInput(files.local(c.phases().get(p), phases.get(p), c.where()),
                            series.isEmpty() ? null : series));
                }
                TumourSegmentation.Found found = null;
                java.nio.file.Path mask;
                if (seg == null) {
                    mask = files.local(c.mask(), "mask", c.where());
                } else {
                    mask = scratch.path().resolve("tumour.nii.gz");
                    found = seg.segment(seg.channelFiles(phases, inputs), mask);
                }
                CaseReport report = models.pipeline().run(inputs, mask,
                        label == null ? MaskSelection.largestComponent() : MaskSelection.ofLabel(label), null);
                for (String w : report.warnings()) {
                    System.err.println("renal-mtl: warning: case " + c.id() + ": " + files.restore(w));
                }
                return CohortRow.ok(c.id(), report, found, provenance, seconds(t0));
            } catch (RuntimeException e) {
                String message;
                if (e instanceof JobInputException || CohortRow.isCaseError(e)) {
                    message = files.restore(String.valueOf(e.getMessage()));
                } else {
                    System.err.println("renal-mtl: internal error in case " + c.id() + ":");
                    e.printStackTrace();
                    message = String.format(Locale.ROOT, "internal error (%s: %s); please report it",
                            e.getClass().getName(), e.getMessage());
                }
                return CohortRow.error(columns, c.id(), message, provenance, seconds(t0));
            }
        }
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
