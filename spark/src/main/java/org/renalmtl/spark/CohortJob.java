package org.renalmtl.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.renalmtl.engine.Device;
import org.renalmtl.pipeline.CasePipeline;
import org.renalmtl.pipeline.CohortRow;
import org.renalmtl.pipeline.EngineVersion;
import org.renalmtl.pipeline.Provenance;
import org.renalmtl.pipeline.TumourSegmentation;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.SegmentationFile;
import org.renalmtl.weights.WeightFile;

/**
 * A cohort on Apache Spark: {@code spark-submit --class org.renalmtl.spark.CohortJob renal-mtl-spark.jar --cases
 * cases.csv --model M.h5 --out results.parquet [--csv results.csv]}. The driver reads and checks the manifest
 * ({@link Manifest}), leaves out the cases already in {@code --out} (so a rerun only runs what is missing), and
 * spreads the rest over the executors, where {@link CaseRunner} runs them with one model per executor JVM
 * ({@link ModelHolder}); {@code --retry-failed} runs the cases with error rows again and replaces those rows
 * ({@link ResultsOutput#replace}); {@code --seg-model S.h5} finds each case's tumour with a segmentation model, as
 * {@code predict --cohort --seg-model} does. Rows are the single-machine cohort's ({@link CohortRow}, with the same {@link Provenance}),
 * typed in Parquet. Exit codes as {@code renal-mtl predict --cohort}: 0 every case of the manifest has an ok row, 3
 * some has an error row, 2 bad input (nothing run), 1 an internal error.
 */
public final class CohortJob {
    private CohortJob() {
    }

    /**
     * Runs the job in the session {@code spark-submit} (or the master URL) gives, then exits with its code.
     *
     * @param args see {@link JobOptions#USAGE}
     */
    public static void main(String[] args) {
        int code;
        try {
            JobOptions options = JobOptions.parse(args);
            SparkSession spark = SparkSession.builder().appName("renal-mtl cohort").getOrCreate();
            try {
                code = run(spark, options);
            } finally {
                spark.stop();
            }
        } catch (JobInputException e) {
            System.err.println("renal-mtl: error: " + e.getMessage());
            code = 2;
        }
        System.exit(code);
    }

    /**
     * @param spark   the session
     * @param options the job's options
     * @return 0 if every case of the manifest has an ok row in {@code --out}, 3 otherwise
     * @throws JobInputException for bad input, before any case ran
     */
    static int run(SparkSession spark, JobOptions options) {
        try {
            Device.parse(options.device());
        } catch (IllegalArgumentException e) {
            throw new JobInputException("--device " + options.device() + ": " + e.getMessage());
        }
        String modelUri = qualified(spark, options.model());
        String segUri = options.segModel() == null ? "" : qualified(spark, options.segModel());
        ModelConfig config;
        String sha256;
        String segSha256 = "";
        try (LocalFiles copy = new LocalFiles(spark.sparkContext().hadoopConfiguration())) {
            java.nio.file.Path local = copy.local(modelUri, "--model", "--model");
            try {
                config = WeightFile.readConfig(local);
                if (!segUri.isEmpty()) {
                    java.nio.file.Path seg = copy.local(segUri, "--seg-model", "--seg-model");
                    TumourSegmentation.channelPhases(seg, SegmentationFile.readConfig(seg), config.phases());
                    segSha256 = CasePipeline.sha256(seg);
                }
            } catch (RuntimeException e) {
                throw new JobInputException(copy.restore(String.valueOf(e.getMessage())), e);
            }
            sha256 = CasePipeline.sha256(local);
        }
        Provenance provenance = new Provenance(sha256, segSha256, EngineVersion.VERSION,
                Provenance.options(options.reorient(), options.label(), List.of()));
        List<CohortRow.Column> columns = CohortRow.columns(config, !segUri.isEmpty());
        List<CaseSpec> cases = Manifest.read(spark, options.cases(), config.phases(), segUri.isEmpty());
        ResultsOutput results = new ResultsOutput(spark, options.out(), columns);
        Map<String, String> before = results.existing(provenance);
        List<CaseSpec> todo = cases.stream().filter(c -> !before.containsKey(c.id())
                || options.retryFailed() && before.get(c.id()).equals("error")).toList();
        int skipped = cases.size() - todo.size();
        if (skipped > 0) {
            System.err.printf("renal-mtl: %s already holds %d case(s); skipping them%n", options.out(), skipped);
        }
        Map<String, String> after = before;
        if (!todo.isEmpty()) {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            int parts = options.partitions() > 0 ? options.partitions()
                    : Math.min(todo.size(), 4 * jsc.defaultParallelism());
            var key = new ModelHolder.Key(modelUri, sha256, segUri, segSha256, options.device(), options.reorient());
            var rows = jsc.parallelize(todo, parts)
                    .mapPartitions(new CaseRunner(key, config.phases(), columns, options.label(), provenance,
                            LocalFiles.entries(spark.sparkContext().hadoopConfiguration())));
            if (todo.stream().anyMatch(c -> before.containsKey(c.id()))) {
                results.replace(rows);
            } else {
                results.append(rows);
            }
            after = results.status();
        }
        List<String> ids = cases.stream().map(CaseSpec::id).toList();
        if (options.csv() != null) {
            results.writeCsv(options.csv(), ids);
        }
        Map<String, String> status = after;
        long failedNow = todo.stream().filter(c -> "error".equals(status.get(c.id()))).count();
        long failed = ids.stream().filter(i -> "error".equals(status.get(i))).count();
        System.out.printf("%d case(s) run, %d failed, %d skipped (already in %s)%n", todo.size(), failedNow, skipped,
                options.out());
        if (failed == 0) {
            return 0;
        }
        System.err.printf("renal-mtl: error: %d of %d case(s) have an error row in %s%n", failed, ids.size(),
                options.out());
        return 3;
    }

    private static String qualified(SparkSession spark, String file) {
        try {
            Path p = new Path(file);
            return p.getFileSystem(spark.sparkContext().hadoopConfiguration()).makeQualified(p).toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
