package org.renalmtl.loader;

import java.nio.file.Path;

/** Locates the test files: testdata/ct and testdata/dicom of the repository (or under $RENAL_MTL_DATA), as the build passes it. */
public final class TestData {

    private TestData() {
    }

    /** @return the ct directory (testdata/README.md gives each file's source and licence) */
    public static Path ct() {
        return Path.of(System.getProperty("renalmtl.testdata", "../testdata"), "ct");
    }

    /** @return the dicom directory: DICOM series and the scripts that write and read them (testdata/README.md) */
    public static Path dicom() {
        return Path.of(System.getProperty("renalmtl.testdata", "../testdata"), "dicom");
    }
}
