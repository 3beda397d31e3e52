package org.renalmtl.spark;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.renalmtl.pipeline.CohortRow;
import org.renalmtl.pipeline.Provenance;

/**
 * The job's results: a Parquet folder ({@code --out}) of one row per case, {@link CohortRow}'s columns typed (text,
 * int, double), appended to by each run; and, on request, the whole of it as one CSV file in the single-machine
 * cohort's format and row order ({@code --csv}), which {@code renal-mtl evaluate} reads. An existing folder is only
 * appended to when its columns and every row's {@link Provenance} are this run's; rows of two models are never mixed.
 * Spark commits an append as a whole, so a job killed midway leaves the folder as it was. Retried cases' rows replace
 * their error rows through sibling folders ({@code NAME.retried}, {@code NAME.next}, {@code NAME.prev}) and two
 * renames ({@link #replace}); a job killed between them is finished (or undone) by the next one.
 */
final class ResultsOutput {
    private final SparkSession spark;
    private final String out;
    private final List<CohortRow.Column> columns;
    private final StructType schema;

    ResultsOutput(SparkSession spark, String out, List<CohortRow.Column> columns) {
        this.spark = spark;
        this.out = out;
        this.columns = List.copyOf(columns);
        List<StructField> fields = new ArrayList<>();
        for (CohortRow.Column c : columns) {
            DataType t = switch (c.kind()) {
                case TEXT -> DataTypes.StringType;
                case INTEGER -> DataTypes.IntegerType;
                case DECIMAL -> DataTypes.DoubleType;
            };
            fields.add(DataTypes.createStructField(c.name(), t, true));
        }
        this.schema = DataTypes.createStructType(fields);
    }

    /**
     * @param provenance this run's
     * @return case id → status of the rows already in {@code --out} (empty when there is none yet)
     * @throws JobInputException if {@code --out} holds something else, or rows of another model or other options
     */
    Map<String, String> existing(Provenance provenance) {
        recover();
        if (!exists(out)) {
            return Map.of();
        }
        Dataset<Row> df;
        try {
            df = spark.read().parquet(out);
        } catch (RuntimeException e) {
            throw new JobInputException(out + ": exists and is not a Parquet results folder; choose another --out", e);
        }
        if (!Arrays.asList(df.columns()).equals(CohortRow.header(columns))) {
            throw new JobInputException(out + ": its columns are not this model's results columns; choose another"
                    + " --out");
        }
        for (Row r : df.select(Provenance.COLUMNS.stream().map(df::col).toArray(org.apache.spark.sql.Column[]::new))
                .distinct().collectAsList()) {
            List<String> cells = new ArrayList<>();
            for (int i = 0; i < r.length(); i++) {
                cells.add(r.getString(i));
            }
            String diff = provenance.difference(cells);
            if (diff != null) {
                throw new JobInputException(out + ": written with " + diff + "; rows of two runs are never mixed: use"
                        + " that model and those options, or another --out");
            }
        }
        Map<String, String> status = new HashMap<>();
        for (Row r : df.select("case_id", "status").collectAsList()) {
            status.put(r.getString(0), r.getString(1));
        }
        return status;
    }

    /** Appends the rows (computed as Spark writes them). */
    void append(JavaRDD<Row> rows) {
        spark.createDataFrame(rows, schema).write().mode(SaveMode.Append).parquet(out);
    }

    /**
     * Runs the rows of cases some of which are already in {@code --out} (with error rows), and replaces those rows:
     * the new rows are written first to {@code NAME.retried}; the old rows of other cases and the new ones to
     * {@code NAME.next}; then {@code --out} is renamed {@code NAME.prev}, {@code NAME.next} renamed {@code --out},
     * and the two others removed. On HDFS and local disks a rename is atomic; on object stores (s3a) it is a copy,
     * and a job killed during it is recovered by {@link #recover} all the same.
     */
    void replace(JavaRDD<Row> rows) {
        String retried = sibling("retried");
        String next = sibling("next");
        spark.createDataFrame(rows, schema).write().mode(SaveMode.Overwrite).parquet(retried);
        Dataset<Row> fresh = spark.read().parquet(retried);
        Dataset<Row> kept = spark.read().parquet(out).join(fresh.select("case_id"), "case_id", "left_anti");
        kept.unionByName(fresh).write().mode(SaveMode.Overwrite).parquet(next);
        try {
            FileSystem fs = new Path(out).getFileSystem(spark.sparkContext().hadoopConfiguration());
            if (!fs.rename(new Path(out), new Path(sibling("prev"))) || !fs.rename(new Path(next), new Path(out))) {
                throw new IOException("cannot rename " + next + " to " + out);
            }
            fs.delete(new Path(sibling("prev")), true);
            fs.delete(new Path(retried), true);
        } catch (IOException e) {
            throw new UncheckedIOException(out + ": cannot replace the retried rows (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Finishes or undoes a {@link #replace} a killed job left: {@code NAME.next} complete but {@code --out} gone means
     * the job died between the renames, so the new folder goes into place; otherwise leftovers are removed.
     */
    private void recover() {
        try {
            FileSystem fs = new Path(out).getFileSystem(spark.sparkContext().hadoopConfiguration());
            Path next = new Path(sibling("next"));
            if (!fs.exists(new Path(out)) && fs.exists(new Path(next, "_SUCCESS"))) {
                System.err.printf("renal-mtl: %s: finishing the replacement of retried rows an earlier job began%n", out);
                if (!fs.rename(next, new Path(out))) {
                    throw new IOException("cannot rename " + next + " to " + out);
                }
            }
            for (String leftover : List.of("next", "prev", "retried")) {
                fs.delete(new Path(sibling(leftover)), true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(out + ": cannot tidy an earlier job's folders (" + e.getMessage() + ")", e);
        }
    }

    private String sibling(String what) {
        try {
            Path p = new Path(out);
            p = p.getFileSystem(spark.sparkContext().hadoopConfiguration()).makeQualified(p);
            return new Path(p.getParent(), p.getName() + "." + what).toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @return case id → status of every row in {@code --out} now */
    Map<String, String> status() {
        Map<String, String> status = new HashMap<>();
        for (Row r : spark.read().parquet(out).select("case_id", "status").collectAsList()) {
            status.put(r.getString(0), r.getString(1));
        }
        return status;
    }

    /**
     * Writes all of {@code --out} as one CSV (to a temporary file first, renamed over {@code csv}): the manifest's
     * cases in its order, then rows of cases it no longer lists, by id.
     */
    void writeCsv(String csv, List<String> caseIds) {
        Map<String, Integer> order = new HashMap<>();
        for (int i = 0; i < caseIds.size(); i++) {
            order.put(caseIds.get(i), i);
        }
        List<Row> rows = new ArrayList<>(spark.read().parquet(out).collectAsList());
        rows.sort(Comparator.comparing((Row r) -> order.getOrDefault(r.getString(0), Integer.MAX_VALUE))
                .thenComparing(r -> r.getString(0)));
        StringBuilder text = new StringBuilder(String.join(",", CohortRow.header(columns))).append('\n');
        for (Row r : rows) {
            Object[] v = new Object[columns.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = r.get(i);
            }
            text.append(String.join(",", CohortRow.csvCells(columns, v))).append('\n');
        }
        try {
            Path target = new Path(csv);
            FileSystem fs = target.getFileSystem(spark.sparkContext().hadoopConfiguration());
            Path tmp = new Path(target.getParent(), "." + target.getName() + ".tmp");
            try (OutputStream o = fs.create(tmp, true)) {
                o.write(text.toString().getBytes(StandardCharsets.UTF_8));
            }
            if (fs.exists(target) && !fs.delete(target, false) || !fs.rename(tmp, target)) {
                throw new IOException("cannot replace " + csv + " by " + tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(csv + ": cannot be written (" + e.getMessage() + ")", e);
        }
    }

    private boolean exists(String folder) {
        try {
            Path p = new Path(folder);
            return p.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
