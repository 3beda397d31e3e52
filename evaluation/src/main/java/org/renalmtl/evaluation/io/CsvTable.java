package org.renalmtl.evaluation.io;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

import de.siegmar.fastcsv.reader.CsvParseException;
import de.siegmar.fastcsv.reader.CsvReader;
import de.siegmar.fastcsv.reader.CsvRecord;
import de.siegmar.fastcsv.reader.FieldMismatchStrategy;

import org.renalmtl.evaluation.EvaluationInputException;

/**
 * A CSV file read fully into memory: a header row of column names and string cells, white space
 * around each cell stripped. Parsing is FastCSV's (RFC 4180: quoted fields, doubled quotes,
 * delimiters and line breaks inside quotes, LF or CRLF line ends); on top of it this class takes
 * the text as strict UTF-8 (a byte-order mark is dropped), skips blank lines as R's
 * {@code read.csv} does, and treats an empty cell or {@code NA} as a missing value. Every error
 * names the file, and where it applies the column and the 1-based line number of the row in the
 * file (the header is line 1), so that a user can find it.
 */
public final class CsvTable {

    /**
     * Most data rows a file may have. The table is held in memory (about 60 bytes per cell), and every
     * statistic is O(N log N) or O(N) per bootstrap replicate, so two million rows keep a run within a
     * couple of GB and minutes; beyond that a file is refused rather than risking an OutOfMemoryError.
     */
    public static final int MAX_ROWS = 2_000_000;

    private static final char BOM = '\uFEFF';
    // Plain decimal as R and spreadsheets write it: optional sign, digits with an optional fraction,
    // optional decimal exponent. Java's Double.parseDouble alone would also accept 0x1p-3, 0.13f, 1d.
    private static final Pattern INFINITE = Pattern.compile("[+-]?(?i:inf|infinity)");
    private static final Pattern DECIMAL = Pattern.compile("[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?");

    private final String source;              // file name used in messages
    private final List<String> header;        // column names in file order
    private final Map<String, Integer> index; // column name -> position
    private final List<String[]> rows;        // data rows, each header.size() stripped cells
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

    /** Reads a comma-separated file; see {@link #read(Path, char)}. */
    public static CsvTable read(Path file) {
        return read(file, ',');
    }

    /**
     * Reads a delimited file.
     *
     * @param delimiter field delimiter, e.g. from {@link #delimiter(String)}
     * @throws EvaluationInputException if the file is missing, unreadable, not UTF-8, empty, badly quoted,
     *                                  has two columns of the same name or more than {@link #MAX_ROWS} rows,
     *                                  or a row has the wrong number of fields
     */
    public static CsvTable read(Path file, char delimiter) {
        // A decoder that reports bad bytes: the library's own path readers would replace them silently.
        var decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
        CsvReader.CsvReaderBuilder builder = CsvReader.builder().fieldSeparator(delimiter).skipEmptyLines(true)
            .allowUnclosedQuote(false)
            // Field counts are checked below, against the header, with a message that names the line.
            .extraFieldStrategy(FieldMismatchStrategy.IGNORE).missingFieldStrategy(FieldMismatchStrategy.IGNORE);
        try (BufferedReader in = new BufferedReader(new InputStreamReader(Files.newInputStream(file), decoder));
             CsvReader<CsvRecord> csv = builder.ofCsvRecord(in)) {
            return collect(file.toString(), csv);
        } catch (NoSuchFileException e) {
            throw new EvaluationInputException(file + ": file not found");
        } catch (CsvParseException e) {
            throw new EvaluationInputException(file + ": " + e.getMessage());
        } catch (UncheckedIOException e) {
            throw unreadable(file, e.getCause());
        } catch (IOException e) {
            throw unreadable(file, e);
        }
    }

    private static EvaluationInputException unreadable(Path file, IOException e) {
        if (e instanceof CharacterCodingException) {
            return new EvaluationInputException(file + ": not UTF-8 text");
        }
        return new EvaluationInputException(file + ": cannot read: " + e.getMessage());
    }

    private static CsvTable collect(String source, CsvReader<CsvRecord> csv) {
        List<String> header = null;
        List<String[]> rows = new ArrayList<>();
        List<Integer> lines = new ArrayList<>();
        for (CsvRecord rec : csv) {
            String[] cells = rec.getFields().toArray(String[]::new);
            int line = Math.toIntExact(rec.getStartingLineNumber());
            if (header == null) {
                if (!cells[0].isEmpty() && cells[0].charAt(0) == BOM) {
                    cells[0] = cells[0].substring(1);
                }
                header = new ArrayList<>();
                for (String h : cells) {
                    String name = h.strip();
                    if (header.contains(name)) {
                        // Which of two equal names a --score or --label means is undecidable: refuse.
                        throw new EvaluationInputException(source + ": duplicate column name '" + name
                            + "' (columns " + (header.indexOf(name) + 1) + " and " + (header.size() + 1) + ")");
                    }
                    header.add(name);
                }
                continue;
            }
            if (cells.length != header.size()) {
                throw new EvaluationInputException(source + ": line " + line + ": " + cells.length
                    + " fields, but the header has " + header.size());
            }
            if (rows.size() == MAX_ROWS) {
                throw new EvaluationInputException(source + ": more than " + MAX_ROWS
                    + " data rows (the limit of this toolkit)");
            }
            for (int c = 0; c < cells.length; c++) {
                cells[c] = cells[c].strip();
            }
            rows.add(cells);
            lines.add(line);
        }
        if (header == null) {
            throw new EvaluationInputException(source + ": empty file (no header row)");
        }
        return new CsvTable(source, header, rows, lines.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * The delimiter an option names: {@code ,} or {@code comma}, {@code ;} or {@code semicolon},
     * {@code tab}, {@code \t} or a tab character.
     *
     * @throws EvaluationInputException for anything else
     */
    public static char delimiter(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case ",", "comma" -> ',';
            case ";", "semicolon" -> ';';
            case "\t", "\\t", "tab" -> '\t';
            default -> throw new EvaluationInputException("--delimiter must be comma, semicolon or tab, got '"
                + name + "'");
        };
    }

    /** Whether a cell holds R's missing value: empty or {@code NA}. */
    public static boolean isMissing(String cell) {
        return cell.isEmpty() || cell.equalsIgnoreCase("NA");
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
        return rows.get(row)[column];
    }

    /**
     * Cell as a finite double, written as a plain decimal number ({@code 0.13}, {@code -2}, {@code 1e-05}).
     *
     * @throws EvaluationInputException naming file, line and column when the cell is empty, NA, NaN,
     *                                  infinite, or not a plain decimal number (e.g. {@code 0x1p-3}, {@code 0.13f})
     */
    public double number(int row, int column) {
        String s = cell(row, column);
        String what = source + ": line " + lineOf(row) + ", column '" + header.get(column) + "': ";
        if (isMissing(s)) {
            throw new EvaluationInputException(what + "missing value");
        }
        if (s.equalsIgnoreCase("NaN")) {
            throw new EvaluationInputException(what + "NaN score");
        }
        if (INFINITE.matcher(s).matches()) {
            throw new EvaluationInputException(what + "infinite value");
        }
        if (!DECIMAL.matcher(s).matches()) {
            throw new EvaluationInputException(what + "not a number: '" + s + "' (plain decimal expected, such as 0.13 or 1e-05)");
        }
        double v = Double.parseDouble(s);
        if (Double.isInfinite(v)) {
            throw new EvaluationInputException(what + "infinite value (out of double range): '" + s + "'");
        }
        return v;
    }

    /**
     * Inner join of this table with {@code other} on a key column: the result has this table's columns,
     * then the other's columns except the key (a column name that already exists gets the suffix
     * {@code .2}). Rows of this table without a match are an error, so that no case silently drops
     * out of an evaluation; rows of {@code other} without a match are ignored. A missing or repeated key
     * in either table is an error naming the key and the lines.
     */
    public CsvTable join(CsvTable other, String key, String option) {
        int k1 = column(key, option);
        int k2 = other.column(key, option);
        rowsByKey(k1, key); // each input row must be one case: a repeated id would count it twice
        Map<String, Integer> otherRows = other.rowsByKey(k2, key);
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

    // Row of each key value; a missing or repeated key is an error naming the key and both lines.
    private Map<String, Integer> rowsByKey(int k, String key) {
        Map<String, Integer> byKey = new HashMap<>();
        for (int r = 0; r < rows.size(); r++) {
            String id = cell(r, k);
            if (isMissing(id)) {
                throw new EvaluationInputException(source + ": line " + lineOf(r) + ": missing " + key);
            }
            Integer first = byKey.putIfAbsent(id, r);
            if (first != null) {
                throw new EvaluationInputException(source + ": line " + lineOf(r) + ": duplicate " + key + " '" + id
                    + "' (first on line " + lineOf(first) + ")");
            }
        }
        return byKey;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "CsvTable[%s, %d columns, %d rows]", source, header.size(), rows.size());
    }
}
