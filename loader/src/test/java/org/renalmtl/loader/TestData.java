package org.renalmtl.loader;

import java.nio.file.Path;

/** Locates the real-CT test files: testdata/ct of the repository (or $RENAL_MTL_DATA/ct), as the build passes it. */
public final class TestData {

    private TestData() {
    }

    /** @return the ct directory (testdata/README.md gives each file's source and licence) */
    public static Path ct() {
        return Path.of(System.getProperty("renalmtl.testdata", "../testdata"), "ct");
    }
}
