package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import org.junit.jupiter.api.Test;

/** {@link Main#handle}: what a user sees for each kind of failure. */
class MainTest {
    private static String handle(Exception e, int code) {
        StringWriter s = new StringWriter();
        assertEquals(code, Main.handle(e, new PrintWriter(s), false));
        return s.toString();
    }

    @Test
    void fileSystemErrorsNameTheFileAndTheReason() {
        assertEquals("renal-mtl: error: a/b: no such file\n", handle(new NoSuchFileException("a/b"), 2));
        assertEquals("renal-mtl: error: out: already exists\n", handle(new FileAlreadyExistsException("out"), 2));
        assertEquals("renal-mtl: error: x.csv: permission denied\n", handle(new AccessDeniedException("x.csv"), 2));
        assertEquals("renal-mtl: error: d: No space left on device\n",
                handle(new FileSystemException("d", null, "No space left on device"), 2));
    }

    @Test
    void inputErrorsShowTheFirstLineOnly() {
        assertEquals("renal-mtl: error: f.h5: one\n", handle(new InputException("f.h5: one\nsecond line"), 2));
        assertEquals("renal-mtl: error: r.csv: cannot write: disk full\n",
                handle(new UncheckedIOException("r.csv: cannot write: disk full", new java.io.IOException("x")), 2));
    }

    @Test
    void aListOfChoicesFollowsTheErrorLine() {
        assertEquals("renal-mtl: error: d: 2 DICOM series in this folder; choose one:\n  1.2.3  \"a\"\n  1.2.4  \"b\"\n",
                handle(new org.renalmtl.loader.VolumeInputException(
                        "d: 2 DICOM series in this folder; choose one:\n  1.2.3  \"a\"\n  1.2.4  \"b\"\nnot listed"), 2));
        assertEquals("renal-mtl: internal error: boom\nrenal-mtl: run again with --debug for the stack trace\n",
                handle(new IllegalStateException("boom\n  indented"), 1), "only input errors list choices");
    }

    @Test
    void otherExceptionsAreInternalErrors() {
        assertEquals("renal-mtl: internal error: boom\nrenal-mtl: run again with --debug for the stack trace\n",
                handle(new IllegalStateException("boom"), 1));
    }
}
