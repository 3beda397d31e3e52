package org.renalmtl.evaluation.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.evaluation.EvaluationInputException;

/** Reading of delimited files: the dialects R and spreadsheets write, and the errors for broken files. */
class CsvTableTest {

    @TempDir
    Path tmp;

    private Path file(String name, byte[] content) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, content);
        return p;
    }

    private Path file(String name, String content) throws IOException {
        return file(name, content.getBytes(StandardCharsets.UTF_8));
    }

    private static String message(Runnable r) {
        return assertThrows(EvaluationInputException.class, r::run).getMessage();
    }

    @Test
    void bomCrlfQuotesAndBlankLines() throws IOException {
        // Excel's "CSV UTF-8": a BOM, CRLF, a quoted field with a comma, a doubled quote and a line break.
        Path p = file("excel.csv", "\uFEFFid,note,s\r\n1,\"a, \"\"b\"\"\",0.5\r\n\r\n2,\"two\r\nlines\",0.25\r\n");
        CsvTable t = CsvTable.read(p);
        assertEquals(List.of("id", "note", "s"), t.header());
        assertEquals(2, t.rowCount());
        assertEquals("a, \"b\"", t.cell(0, 1));
        assertEquals("two\r\nlines", t.cell(1, 1));
        assertEquals(0.25, t.number(1, 2));
        assertEquals(2, t.lineOf(0));
        assertEquals(4, t.lineOf(1), "the blank line 3 is skipped but still counted");
    }

    @Test
    void semicolonAndTabDelimiters() throws IOException {
        // A European spreadsheet export: semicolons, so a comma may appear unquoted inside a field.
        CsvTable semi = CsvTable.read(file("eu.csv", "id;name;s\n1;Smith, J;0.5\n"), CsvTable.delimiter("semicolon"));
        assertEquals("Smith, J", semi.cell(0, 1));
        assertEquals(0.5, semi.number(0, 2));
        CsvTable tab = CsvTable.read(file("t.tsv", "id\ts\n1\t0.75\n"), CsvTable.delimiter("tab"));
        assertEquals(0.75, tab.number(0, tab.column("s", "test")));
        assertEquals('\t', CsvTable.delimiter("\t"));
        assertEquals(',', CsvTable.delimiter(","));
        assertTrue(message(() -> CsvTable.delimiter("|")).contains("--delimiter must be comma, semicolon or tab"));
    }

    @Test
    void naAndEmptyCellsAreMissing() throws IOException {
        CsvTable t = CsvTable.read(file("na.csv", "id,s\n1,NA\n2,\n3, 0.5 \n"));
        assertTrue(message(() -> t.number(0, 1)).endsWith("na.csv: line 2, column 's': missing value"));
        assertTrue(message(() -> t.number(1, 1)).endsWith("line 3, column 's': missing value"));
        assertEquals(0.5, t.number(2, 1), "white space around a number is stripped");
    }

    @Test
    void brokenFilesAreErrorsNamingFileAndLine() throws IOException {
        Path unclosed = file("unclosed.csv", "id,s\n1,\"0.5\n");
        assertTrue(message(() -> CsvTable.read(unclosed)).startsWith(unclosed + ": Unclosed quoted field"));
        Path ragged = file("ragged.csv", "id,s\n1,0.5\n2,0.5,9\n");
        assertEquals(ragged + ": line 3: 3 fields, but the header has 2", message(() -> CsvTable.read(ragged)));
        Path latin1 = file("latin1.csv", new byte[]{'i', 'd', '\n', 'M', (byte) 0xFC, 'l', 'l', 'e', 'r', '\n'});
        assertEquals(latin1 + ": not UTF-8 text", message(() -> CsvTable.read(latin1)));
        Path empty = file("empty.csv", "");
        assertEquals(empty + ": empty file (no header row)", message(() -> CsvTable.read(empty)));
    }
}
