package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code renal-mtl phantom}: one case written, and bad options or outputs refused in one line. */
class PhantomCommandTest {
    @TempDir
    Path dir;

    @Test
    void writesOneCaseAndRefusesAnUnwritableDirectory() throws IOException {
        Path out = dir.resolve("one");
        Cli.ok("phantom", "--out", out, "--seed", 2);
        for (String f : List.of("arterial", "venous", "delayed", "mask", "kidney")) {
            assertTrue(Files.isRegularFile(out.resolve(f + ".nii.gz")), f);
        }
        assertTrue(Files.readString(out.resolve("truth.csv")).startsWith("volume_ml,"));

        Path file = Files.writeString(dir.resolve("file"), "x");
        Cli.assertInputError(Cli.run("phantom", "--out", file.resolve("sub")), file.resolve("sub").toString());
        Cli.assertInputError(Cli.run("phantom", "--out", dir.resolve("x"), "--tumour-mm", "100,10,10"), "--tumour-mm: ");
    }
}
