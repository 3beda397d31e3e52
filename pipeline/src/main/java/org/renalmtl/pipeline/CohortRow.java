package org.renalmtl.pipeline;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.renalmtl.engine.Prediction;
import org.renalmtl.loader.measure.PhaseStats;
import org.renalmtl.weights.ModelConfig;

/**
 * The columns of a cohort results row and their values: one definition for the single-machine runner's CSV and the
 * Spark job's Parquet (typed columns) and CSV, so both print a case the same way. A row is {@code case_id, status,
 * error}, then per task {@code p_TASK} (6 decimals), per task {@code label_TASK} (0/1), the tumour's {@code
 * volume_ml} (3), {@code max_diameter_mm} (2), {@code renal_r_points}, when a segmentation model found the tumour its
 * {@code tumour_components} and {@code tumour_side} ({@code left}/{@code right} of the patient, empty when undecided or
 * when the model has no kidney label), per phase {@code hu_PHASE_mean} and {@code
 * hu_PHASE_sd} (2), {@link Provenance#COLUMNS} and the case's wall-clock {@code seconds} (3). Numbers are rounded to
 * the printed digits before they are stored, so a Parquet value prints as the CSV cell does.
 */
public final class CohortRow {
    /** How a column's values are stored and printed. */
    public enum Kind {
        /** text, printed as is */
        TEXT,
        /** a whole number */
        INTEGER,
        /** a number with the column's decimals */
        DECIMAL
    }

    /**
     * One results column.
     *
     * @param name     the header cell
     * @param kind     how its values are stored
     * @param decimals printed decimals of a {@link Kind#DECIMAL} column, else 0
     */
    public record Column(String name, Kind kind, int decimals) implements Serializable {
        private static final long serialVersionUID = 1L;

        /**
         * @param value a value of this column (String, Integer or Double), or null for an empty cell
         * @return its printed cell (unquoted)
         */
        public String print(Object value) {
            if (value == null) {
                return "";
            }
            return kind == Kind.DECIMAL ? String.format(Locale.ROOT, "%." + decimals + "f", (Double) value)
                    : value.toString();
        }
    }

    private CohortRow() {
    }

    /**
     * @param config    the model's config
     * @param segmented whether a segmentation model finds the tumours ({@code --seg-model})
     * @return the results columns of this model, in order
     */
    public static List<Column> columns(ModelConfig config, boolean segmented) {
        List<Column> c = new ArrayList<>(List.of(text("case_id"), text("status"), text("error")));
        for (ModelConfig.Task t : config.tasks()) {
            c.add(new Column("p_" + t.name(), Kind.DECIMAL, 6));
        }
        for (ModelConfig.Task t : config.tasks()) {
            c.add(new Column("label_" + t.name(), Kind.INTEGER, 0));
        }
        c.add(new Column("volume_ml", Kind.DECIMAL, 3));
        c.add(new Column("max_diameter_mm", Kind.DECIMAL, 2));
        c.add(new Column("renal_r_points", Kind.INTEGER, 0));
        if (segmented) {
            c.add(new Column("tumour_components", Kind.INTEGER, 0));
            c.add(text("tumour_side"));
        }
        for (String p : config.phases()) {
            c.add(new Column("hu_" + p + "_mean", Kind.DECIMAL, 2));
            c.add(new Column("hu_" + p + "_sd", Kind.DECIMAL, 2));
        }
        Provenance.COLUMNS.forEach(n -> c.add(text(n)));
        c.add(new Column("seconds", Kind.DECIMAL, 3));
        return List.copyOf(c);
    }

    /** @return the header names of {@code columns} */
    public static List<String> header(List<Column> columns) {
        return columns.stream().map(Column::name).toList();
    }

    /**
     * @param id         the case id
     * @param report     what the pipeline found
     * @param found      what the segmentation model found, or null when the manifest gave the mask
     * @param provenance what wrote the row
     * @param seconds    the case's wall-clock time
     * @return the row's values, one per {@link #columns} entry (String, Integer or Double, rounded as printed)
     */
    public static Object[] ok(String id, CaseReport report, TumourSegmentation.Found found, Provenance provenance,
            double seconds) {
        List<Object> v = new ArrayList<>(List.of(id, "ok", ""));
        for (Prediction.TaskResult t : report.prediction().tasks()) {
            v.add(round(t.probability(), 6));
        }
        for (Prediction.TaskResult t : report.prediction().tasks()) {
            v.add(t.positive() ? 1 : 0);
        }
        v.add(round(report.tumour().volumeMl(), 3));
        v.add(round(report.tumour().maxDiameterMm(), 2));
        v.add(report.tumour().renalRPoints());
        if (found != null) {
            v.add(found.tumourComponents());
            v.add(found.site().side() == null ? "" : found.site().side().json());
        }
        for (PhaseStats s : report.tumour().phases()) {
            v.add(round(s.meanHu(), 2));
            v.add(round(s.sdHu(), 2));
        }
        v.addAll(provenance.cells());
        v.add(round(seconds, 3));
        return v.toArray();
    }

    /**
     * @param columns    the run's {@link #columns}
     * @param id         the case id
     * @param message    why the case failed
     * @param provenance what wrote the row
     * @param seconds    the case's wall-clock time
     * @return the row's values: empty (null) results between the error and the provenance
     */
    public static Object[] error(List<Column> columns, String id, String message, Provenance provenance,
            double seconds) {
        Object[] v = new Object[columns.size()];
        v[0] = id;
        v[1] = "error";
        v[2] = message == null ? "error" : message;
        int p = columns.size() - Provenance.COLUMNS.size() - 1;
        List<String> prov = provenance.cells();
        for (int i = 0; i < prov.size(); i++) {
            v[p + i] = prov.get(i);
        }
        v[v.length - 1] = round(seconds, 3);
        return v;
    }

    /**
     * @param columns the run's {@link #columns}
     * @param values  a row's values
     * @return its printed cells (unquoted)
     */
    public static List<String> print(List<Column> columns, Object[] values) {
        if (values.length != columns.size()) {
            throw new IllegalArgumentException(values.length + " values for " + columns.size() + " columns: "
                    + Arrays.toString(values));
        }
        List<String> cells = new ArrayList<>(values.length);
        for (int i = 0; i < values.length; i++) {
            cells.add(columns.get(i).print(values[i]));
        }
        return cells;
    }

    /**
     * @param columns the run's {@link #columns}
     * @param values  a row's values
     * @return its cells as a CSV line holds them (quoted where needed)
     */
    public static List<String> csvCells(List<Column> columns, Object[] values) {
        return print(columns, values).stream().map(CohortRow::quote).toList();
    }

    /** RFC 4180 quoting where needed; a line break inside a cell becomes a space, so that a row is one line. */
    private static String quote(String s) {
        if (s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r")) {
            return "\"" + s.replace("\"", "\"\"").replace("\r", " ").replace("\n", " ") + "\"";
        }
        return s;
    }

    /**
     * Whether a case's exception is that case's problem (its row says why and the cohort goes on) rather than a bug:
     * bad or unreadable input, a model that could not run it, an argument the pipeline refused.
     *
     * @param e what the case threw
     * @return true for a case error
     */
    public static boolean isCaseError(RuntimeException e) {
        return e instanceof org.renalmtl.loader.VolumeInputException || e instanceof org.renalmtl.engine.ModelRunException
                || e instanceof java.io.UncheckedIOException || e instanceof IllegalArgumentException;
    }

    private static Column text(String name) {
        return new Column(name, Kind.TEXT, 0);
    }

    /** The double nearest the printed decimal, so that storing it and printing it again gives the same cell. */
    private static double round(double v, int decimals) {
        return Double.parseDouble(String.format(Locale.ROOT, "%." + decimals + "f", v));
    }
}
