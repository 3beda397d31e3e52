package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.engine.BuiltinModels;

/**
 * Outputs never destroy what they should not (issue 9): no write through a symbolic link or onto a
 * device or pipe, an unrelated file given as cohort results is left byte for byte as it was, case ids
 * with control characters are refused before any work, two runs never write one results file, and a
 * failed demo leaves nothing behind.
 */
class OutputSafetyTest {
    @TempDir
    static Path dir;

    static Path model;
    static Path casesCsv;

    @BeforeAll
    static void cohort() {
        model = dir.resolve("M.h5");
        BuiltinModels.write(BuiltinModels.Kind.MTDL, 2026, model);
        Cli.ok("phantom", "--out", dir.resolve("cohort"), "--cases", 2, "--seed", 5);
        casesCsv = dir.resolve("cohort/cases.csv");
    }

    private static Cli.Run cohortTo(Path out) {
        return Cli.run("predict", "--model", model, "--cohort", casesCsv, "--out", out, "--device", "cpu");
    }

    @Test
    void aSymbolicLinkIsNeverWrittenThrough() throws IOException {
        Path target = Files.writeString(dir.resolve("precious.txt"), "keep me\n");
        Path link = Files.createSymbolicLink(dir.resolve("link.json"), target);
        Cli.Run r = Cli.run("demo", "--runs", "0", "--device", "cpu", "--save-model", link);
        Cli.assertInputError(r, link + ": cannot write: it is a symbolic link");
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("keep me\n", Files.readString(target));
        Cli.assertInputError(cohortTo(link), link + ": cannot write: it is a symbolic link");
        assertEquals("keep me\n", Files.readString(target));
    }

    @Test
    void aPipeIsNotAnOutput() throws IOException, InterruptedException {
        Path fifo = dir.resolve("fifo.csv");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        Cli.assertInputError(cohortTo(fifo), fifo + ": cannot write: not a regular file");
        assertFalse(Files.isRegularFile(fifo), "the pipe is still a pipe");
    }

    @Test
    void anUnrelatedFileIsLeftAsItWasEvenWithoutAFinalNewline() throws IOException {
        Path notes = dir.resolve("notes.csv");
        byte[] before = "name,value\nalpha,1\nbeta,2 (no newline at the end)".getBytes();
        Files.write(notes, before);
        Cli.assertInputError(cohortTo(notes), notes + ": not a results file of this model");
        assertArrayEquals(before, Files.readAllBytes(notes));
    }

    @Test
    void theCohortListIsNotItsOwnOutput() throws IOException {
        byte[] before = Files.readAllBytes(casesCsv);
        Cli.assertInputError(cohortTo(casesCsv), casesCsv + ": --out is the cohort list itself");
        assertArrayEquals(before, Files.readAllBytes(casesCsv));
    }

    @Test
    void caseIdsWithControlCharactersAreRefusedBeforeAnyWork() throws IOException {
        List<String> lines = Files.readAllLines(casesCsv);
        for (String bad : List.of("\"case\nwith LF\"", "\"case\rwith CR\"", "tab\there")) {
            Path list = dir.resolve("cases-ctl.csv");
            String row = lines.get(1);
            Files.writeString(list, lines.get(0) + "\n" + bad + row.substring(row.indexOf(',')) + "\n");
            Path out = dir.resolve("ctl-results.csv");
            Cli.Run r = Cli.run("predict", "--model", model, "--cohort", list, "--out", out, "--device", "cpu");
            Cli.assertInputError(r, list + " line 2: case_id '", "control character");
            assertFalse(Files.exists(out), "nothing written for " + bad);
        }
    }

    @Test
    void twoRunsNeverWriteOneResultsFile() throws IOException {
        Path out = dir.resolve("locked.csv");
        Cli.ok("predict", "--model", model, "--cohort", casesCsv, "--out", out, "--device", "cpu");
        byte[] before = Files.readAllBytes(out);
        // The other run is this JVM holding the lock; the CLI runs in a JVM of its own, as a second user would.
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.WRITE); FileLock lock = ch.lock()) {
            Cli.Run r = LauncherTest.launch(dir, "predict", "--model", model.toString(), "--cohort", casesCsv.toString(),
                    "--out", out.toString(), "--device", "cpu");
            Cli.assertInputError(r, out + ": another renal-mtl run is writing it");
            assertTrue(lock.isValid());
        }
        assertArrayEquals(before, Files.readAllBytes(out));
    }

    @Test
    void aFailedDemoLeavesNoDirectoryBehind() {
        Path out = dir.resolve("demo-out");
        // No GPU here: the device is refused after the phantom files were written.
        Cli.Run r = Cli.run("demo", "--runs", "0", "--out", out, "--device", "cuda");
        assertEquals(2, r.code(), r::toString);
        assertFalse(Files.exists(out), "the directory the failed demo made is gone");
    }
}
