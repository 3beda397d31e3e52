package org.renalmtl.evaluation.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

/**
 * A command's outputs are written all or nothing (issue 9): {@code evaluate} used to write three
 * files and then fail on a {@code report.html} that was a directory, and a failure left the
 * directories it had made behind.
 */
class OutputFilesTest {
    @TempDir
    Path tmp;

    private static OutputFiles three() {
        OutputFiles f = new OutputFiles();
        for (String name : List.of("metrics.json", "roc.svg", "report.html")) {
            f.put(name, name.getBytes(StandardCharsets.UTF_8));
        }
        return f;
    }

    @Test
    void aTargetThatIsADirectoryStopsTheCommandBeforeAnyFileIsWritten() throws IOException {
        Path out = tmp.resolve("out");
        Files.createDirectories(out.resolve("report.html"));
        EvaluationInputException e = assertThrows(EvaluationInputException.class, () -> three().commit(out));
        assertEquals(out.resolve("report.html") + ": cannot write: it is a directory", e.getMessage());
        try (var s = Files.list(out)) {
            assertEquals(List.of(out.resolve("report.html")), s.toList(), "nothing else was written");
        }
    }

    @Test
    void aTargetThatIsASymbolicLinkIsNeverWrittenThrough() throws IOException {
        Path out = Files.createDirectories(tmp.resolve("links"));
        Path precious = Files.writeString(tmp.resolve("precious.txt"), "keep");
        Files.createSymbolicLink(out.resolve("roc.svg"), precious);
        EvaluationInputException e = assertThrows(EvaluationInputException.class, () -> three().commit(out));
        assertEquals(out.resolve("roc.svg") + ": cannot write: it is a symbolic link", e.getMessage());
        assertEquals("keep", Files.readString(precious));
        assertFalse(Files.exists(out.resolve("metrics.json")));
    }

    @Test
    void aFailedWriteLeavesNotEvenTheDirectoriesItMade() throws IOException {
        Path parent = Files.createDirectories(tmp.resolve("parent"));
        Path out = parent.resolve("new/deeper");
        OutputFiles f = three();
        // A name the file system refuses (longer than 255 bytes) fails after the directories were made,
        // as a full disk would, and does so even for root, who may write anywhere.
        f.put("x".repeat(300) + ".csv", new byte[] {1});
        EvaluationInputException e = assertThrows(EvaluationInputException.class, () -> f.commit(out));
        assertTrue(e.getMessage().startsWith(out + ": cannot write output: "), e.getMessage());
        assertFalse(Files.exists(parent.resolve("new")), "the directories this call made are gone");
        try (var s = Files.list(parent)) {
            assertEquals(0, s.count());
        }
    }
}
