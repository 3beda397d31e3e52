package org.renalmtl.evaluation.io;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.renalmtl.evaluation.EvaluationInputException;

/**
 * A CSV file read fully into memory: a header row of column names and string cells. Parses RFC 4180
 * quoting (quoted fields, doubled quotes, commas and newlines inside quotes), a UTF-8 byte-order mark
 * and CRLF line ends. Every error names the file, and where it applies the column and the 1-based
 * line number of the row in the file (the header is line 1), so that a user can find it.
 */
public final class CsvTable {

    private final String source;              // file name used in messages
    private final List<String> header;        // column names in file order
    private final Map<String, Integer> index; // column name -> position
    private final List<String[]> rows;        // data rows, each header.size() cells
    private final int[] lineOfRow;            // (rows) 1-based line number in the file of each data row

    private CsvTable(String source, List<String> header, List<String[]> rows, int[] lineOfRow) {
        this.source = source;
        this.header = List.copyOf(header);
        this.rows = rows;
        this.lineOfRow = lineOfRow;
        this.index = new HashMap<>();
        for (int i = 0; i < header.size(); i++) {
            index.putIfAbsent(header.get(i), i);
        }
    }

    /**
     * Reads a CSV file.
     *
     * @throws EvaluationInputException if the file is missing, unreadable, empty, or a row has the wrong
     *                                  number of fields
     */
    public static CsvTable read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new EvaluationInputException(file + ": file not found");
        } catch (IOException e) {
            throw new EvaluationInputException(file + ": cannot read: " + e.getMessage());
        }
        return parse(file.toString(), text);
    }

    /** Parses CSV text; {@code source} names it in error messages. */
    public static CsvTable parse(String source, String text) {
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1);
        }
        List<String[]> records = new ArrayList<>();
        List<Integer> lines = new ArrayList<>();
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        boolean inQuotes = false;
        boolean fieldQuoted = false;
        int line = 1;
        int recordLine = 1;
        int n = text.length();
        for (int i = 0; i < n; i++) {
            char ch = text.charAt(i);
            if (inQuotes) {
                if (ch == '"') {
                    if (i + 1 < n && text.charAt(i + 1) == '"') {
                        field.append('"');
                        i++;
                    } else {
                        inQuotes = false;
                    }
                } else {
                    if (ch == '\n') {
                        line++;
                    }
                    field.append(ch);
                }
            } else if (ch == '"' && field.isEmpty() && !fieldQuoted) {
                inQuotes = true;
                fieldQuoted = true;
            } else if (ch == ',') {
                fields.add(field.toString());
                field.setLength(0);
                fieldQuoted = false;
            } else if (ch == '\n' || ch == '\r') {
                if (ch == '\r' && i + 1 < n && text.charAt(i + 1) == '\n') {
                    i++;
                }
                fields.add(field.toString());
                field.setLength(0);
                fieldQuoted = false;
                addRecord(records, lines, fields, recordLine);
                fields.clear();
                line++;
                recordLine = line;
            } else {
                field.append(ch);
            }
        }
        if (inQuotes) {
            throw new EvaluationInputException(source + ": line " + recordLine + ": unterminated quoted field");
        }
        if (!field.isEmpty() || !fields.isEmpty() || fieldQuoted) {
            fields.add(field.toString());
            addRecord(records, lines, fields, recordLine);
        }
        if (records.isEmpty()) {
            throw new EvaluationInputException(source + ": empty file (no header row)");
        }
        List<String> header = new ArrayList<>();
        for (String h : records.getFirst()) {
            header.add(h.strip());
        }
        List<String[]> rows = new ArrayList<>(records.size() - 1);
        int[] lineOfRow = new int[records.size() - 1];
        for (int r = 1; r < records.size(); r++) {
            String[] rec = records.get(r);
            if (rec.length != header.size()) {
                throw new EvaluationInputException(source + ": line " + lines.get(r) + ": " + rec.length
                    + " fields, but the header has " + header.size());
            }
            rows.add(rec);
            lineOfRow[r - 1] = lines.get(r);
        }
        return new CsvTable(source, header, rows, lineOfRow);
    }

    private static void addRecord(List<String[]> records, List<Integer> lines, List<String> fields, int line) {
        // A blank line (one empty unquoted field) is skipped, as R's read.csv does.
        if (fields.size() == 1 && fields.getFirst().isEmpty()) {
            return;
        }
        records.add(fields.toArray(String[]::new));
        lines.add(line);
    }

    /** File name used in messages. */
    public String source() {
        return source;
    }

    /** Column names in file order. */
    public List<String> header() {
        return header;
    }

    /** Number of data rows. */
    public int rowCount() {
        return rows.size();
    }

    /** 1-based line number in the file of data row {@code row} (0-based). */
    public int lineOf(int row) {
        return lineOfRow[row];
    }

    /** Whether the table has this column. */
    public boolean hasColumn(String name) {
        return index.containsKey(name);
    }

    /**
     * The rows whose {@code column} holds {@code value} (e.g. {@code status = ok} in the results of
     * {@code predict --cohort}); line numbers in messages stay those of the file.
     */
    public CsvTable rowsWhere(String column, String value) {
        int c = column(column, column);
        List<String[]> kept = new ArrayList<>();
        List<Integer> lines = new ArrayList<>();
        for (int r = 0; r < rows.size(); r++) {
            if (cell(r, c).equals(value)) {
                kept.add(rows.get(r));
                lines.add(lineOfRow[r]);
            }
        }
        return new CsvTable(source, header, kept, lines.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * Position of a column.
     *
     * @param option the CLI option that named the column, quoted in the error message
     * @throws EvaluationInputException naming the column and the columns that exist
     */
    public int column(String name, String option) {
        Integer i = index.get(name);
        if (i == null) {
            throw new EvaluationInputException(source + ": no column '" + name + "' (" + option + "); columns are "
                + String.join(", ", header));
        }
        return i;
    }

    /** Cell text, stripped of surrounding white space. */
    public String cell(int row, int column) {
        return rows.get(row)[column].strip();
    }

    /**
     * Cell as a finite double.
     *
     * @throws EvaluationInputException naming file, line and column when the cell is empty, NA, NaN,
     *                                  infinite or not a number
     */
    public double number(int row, int column) {
        String s = cell(row, column);
        String what = source + ": line " + lineOf(row) + ", column '" + header.get(column) + "': ";
        if (s.isEmpty() || s.equalsIgnoreCase("NA")) {
            throw new EvaluationInputException(what + "missing value");
        }
        double v;
        try {
            v = Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw new EvaluationInputException(what + "not a number: '" + s + "'");
        }
        if (Double.isNaN(v)) {
            throw new EvaluationInputException(what + "NaN score");
        }
        if (Double.isInfinite(v)) {
            throw new EvaluationInputException(what + "infinite value");
        }
        return v;
    }

    /**
     * Inner join of this table with {@code other} on a key column: the result has this table's columns,
     * then the other's columns except the key (a column name that already exists gets the suffix
     * {@code .2}). Rows of this table without a match are an error, so that no case silently drops
     * out of an evaluation; rows of {@code other} without a match are ignored.
     */
    public CsvTable join(CsvTable other, String key, String option) {
        int k1 = column(key, option);
        int k2 = other.column(key, option);
        Map<String, Integer> otherRows = new LinkedHashMap<>();
        for (int r = 0; r < other.rowCount(); r++) {
            String id = other.cell(r, k2);
            if (otherRows.putIfAbsent(id, r) != null) {
                throw new EvaluationInputException(other.source + ": line " + other.lineOf(r) + ": duplicate "
                    + key + " '" + id + "'");
            }
        }
        List<String> joinedHeader = new ArrayList<>(header);
        List<Integer> otherCols = new ArrayList<>();
        for (int c = 0; c < other.header.size(); c++) {
            if (c == k2) {
                continue;
            }
            String name = other.header.get(c);
            joinedHeader.add(joinedHeader.contains(name) ? name + ".2" : name);
            otherCols.add(c);
        }
        List<String[]> joined = new ArrayList<>(rows.size());
        for (int r = 0; r < rows.size(); r++) {
            String id = cell(r, k1);
            Integer match = otherRows.get(id);
            if (match == null) {
                throw new EvaluationInputException(source + ": line " + lineOf(r) + ": " + key + " '" + id
                    + "' has no row in " + other.source);
            }
            String[] out = new String[joinedHeader.size()];
            System.arraycopy(rows.get(r), 0, out, 0, header.size());
            for (int j = 0; j < otherCols.size(); j++) {
                out[header.size() + j] = other.rows.get(match)[otherCols.get(j)];
            }
            joined.add(out);
        }
        return new CsvTable(source + " joined with " + other.source, joinedHeader, joined, lineOfRow.clone());
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "CsvTable[%s, %d columns, %d rows]", source, header.size(), rows.size());
    }
}
