package org.renalmtl.loader;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the shared real-CT test files ({@code shared/data/ct}, beside the repository). */
public final class TestData {

    private TestData() {
    }

    /** @return the ct directory; fails the test when it cannot be found */
    public static Path ct() {
        String env = System.getenv("RENAL_MTL_DATA");
        if (env != null && Files.isDirectory(Path.of(env, "ct"))) {
            return Path.of(env, "ct");
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path c = p.resolve("shared/data/ct");
            if (Files.isRegularFile(c.resolve("example_ct_sm.nii.gz"))) {
                return c;
            }
        }
        throw new AssertionError("shared/data/ct not found above " + Path.of("").toAbsolutePath()
            + " (set RENAL_MTL_DATA to the data directory)");
    }
}
