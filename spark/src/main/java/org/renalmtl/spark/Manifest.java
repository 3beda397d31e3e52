package org.renalmtl.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.renalmtl.pipeline.CaseIds;

/**
 * The case manifest ({@code --cases}, CSV with a header or Parquet), read on the driver and checked as a whole as
 * the single-machine cohort's list is: columns {@code case_id}, one per model phase and {@code mask} (none with a
 * segmentation model; optional {@code PHASE_series}), every case id non-empty, one line long and unique ({@link CaseIds}). Relative paths are
 * taken relative to the manifest's folder, on the manifest's file system; the result carries qualified URIs.
 */
final class Manifest {
    private Manifest() {
    }

    /**
     * @param spark  the session
     * @param cases  the manifest's path or URI
     * @param phases the model's phase names
     * @param masks  whether cases name their masks (false with {@code --seg-model}, which refuses a mask column)
     * @return the cases, in manifest order
     * @throws JobInputException naming the file and the problems
     */
    static List<CaseSpec> read(SparkSession spark, String cases, List<String> phases, boolean masks) {
        Path base;
        boolean parquet = cases.toLowerCase(java.util.Locale.ROOT).endsWith(".parquet");
        Dataset<Row> df;
        try {
            Path p = new Path(cases);
            FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            if (!fs.exists(p)) {
                throw new JobInputException(cases + ": no such file (--cases)");
            }
            base = fs.makeQualified(p).getParent();
            df = parquet ? spark.read().parquet(cases)
                    : spark.read().option("header", "true").option("mode", "FAILFAST").csv(cases);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (JobInputException e) {
            throw e;
        } catch (Exception e) { // Scala throws AnalysisException, checked in Java, undeclared
            if (e instanceof AnalysisException || e.getCause() instanceof AnalysisException) {
                throw new JobInputException(cases + ": not a readable " + (parquet ? "Parquet" : "CSV") + " file ("
                        + e.getMessage().lines().findFirst().orElse("") + ")", e);
            }
            throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
        }
        List<String> have = Arrays.asList(df.columns());
        List<String> needed = new ArrayList<>(List.of("case_id"));
        needed.addAll(phases);
        if (masks) {
            needed.add("mask");
        } else if (have.contains("mask")) {
            throw new JobInputException(cases + ": has a mask column, but --seg-model finds the tumour; drop one of"
                    + " them");
        }
        List<String> missing = needed.stream().filter(c -> !have.contains(c)).toList();
        if (!missing.isEmpty()) {
            throw new JobInputException(cases + ": missing column(s) " + String.join(", ", missing)
                    + " (a case manifest has " + String.join(", ", needed) + "; optional PHASE_series)");
        }
        List<Column> cols = new ArrayList<>();
        for (String c : needed) {
            cols.add(text(c));
        }
        for (String p : phases) {
            cols.add(have.contains(p + "_series") ? text(p + "_series") : functions.lit(""));
        }
        List<Row> rows = df.select(cols.toArray(Column[]::new)).collectAsList();
        // CSV: the header is line 1 and a case one line (the ids are checked to be); Parquet has rows, not lines.
        String unit = parquet ? " row " : " line ";
        int first = parquet ? 1 : 2;
        List<String> ids = rows.stream().map(r -> r.getString(0)).toList();
        String problems = CaseIds.check(cases, ids, r -> unit.strip() + " " + (r + first));
        if (problems != null) {
            throw new JobInputException(problems);
        }
        List<CaseSpec> specs = new ArrayList<>(rows.size());
        int n = phases.size();
        for (int r = 0; r < rows.size(); r++) {
            Row row = rows.get(r);
            List<String> files = new ArrayList<>();
            List<String> series = new ArrayList<>();
            for (int p = 0; p < n; p++) {
                files.add(resolve(base, row.getString(1 + p)));
                series.add(row.getString(needed.size() + p).strip());
            }
            specs.add(new CaseSpec(row.getString(0), cases + unit + (r + first), files, series,
                    masks ? resolve(base, row.getString(1 + n)) : ""));
        }
        return specs;
    }

    /** A column as text, an absent value (an empty CSV cell) as the empty string. */
    private static Column text(String name) {
        return functions.coalesce(functions.col("`" + name + "`").cast("string"), functions.lit(""));
    }

    private static String resolve(Path base, String cell) {
        return cell.isBlank() ? "" : new Path(base, cell).toString();
    }
}
