package org.renalmtl.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.loader.dicom.DicomSeries;

/**
 * DICOM folders read through dcm2niix ({@link ImageInput}), checked against an independent reader: pydicom
 * (with Pillow's OpenJPEG for JPEG 2000) stacks the same files and nibabel writes them
 * ({@code testdata/dicom/dicom_reference.py}). dcm2niix stores the rows flipped, so every voxel is compared
 * through the two affines: its centre mapped into the reference must land on a voxel centre (within 1e-3 voxel:
 * dcm2niix writes the affine in float32) holding exactly the same value (int16 CT numbers, exact in float32).
 * dcm2niix and /usr/bin/python3 with pydicom, nibabel and Pillow are installed by run-tests and .ci/run, so their
 * absence fails these tests rather than skipping them.
 */
class DicomInputTest {
    private static final String ARTERIAL_UID = "1.2.826.0.1.3680043.8.498.101";
    private static final String VENOUS_UID = "1.2.826.0.1.3680043.8.498.102";

    @TempDir
    Path tmp;

    /**
     * Three slices of TotalSegmentator's example_ct_dicom (JPEG 2000 lossless); the whole 20-slice series gives
     * 512×512×20, LAS, 0.977×0.977×2 mm in dcm2niix, and these three the same grid with 3 slices: nibabel on
     * dcm2niix's own output prints the affine below (slices 2 mm apart, from z = -770.5 up to -766.5).
     */
    @Test
    void realJpeg2000SeriesHasDcm2niixGeometryAndPydicomVoxels() throws IOException {
        Path dir = TestData.dicom().resolve("example_ct_dicom_3");
        try (ImageInput.Loaded in = withPrivateTmp(() -> ImageInput.of(dir).read())) {
            Volume v = in.volume();
            assertArrayEquals(new int[] {3, 512, 512}, v.shape());
            assertEquals("LAS", v.geometry().orientation());
            assertArrayEquals(new double[] {0.9765625, 0.9765625, 2.0}, v.geometry().spacing(), 1e-6);
            assertArrayEquals(new double[] {
                -0.9765625, 0, 0, 249.51171875,
                0, 0.9765625, 0, -61.51171875,
                0, 0, 2, -770.5,
                0, 0, 0, 1}, v.geometry().affine(), 1e-4);
            assertEquals(dir.toString(), v.source(), "messages name the folder, not the temporary file");
            DicomSeries s = in.series().orElseThrow();
            assertEquals("", s.uid(), "the anonymised files have a blank SeriesInstanceUID");
            assertEquals("CT Body 3.0", s.description());
            assertEquals("CT", s.modality());
            try (Volume ref = reference(dir, null)) {
                assertSameImage(ref, v);
            }
        }
    }

    @Test
    void obliqueSeriesChosenByDescriptionOrUid() throws IOException {
        Path dir = TestData.dicom().resolve("two_series");
        try (ImageInput.Loaded byDescription = new ImageInput(dir, " venous 1.0 ").read();
                ImageInput.Loaded byUid = new ImageInput(dir, VENOUS_UID).read();
                ImageInput.Loaded arterial = new ImageInput(dir, ARTERIAL_UID).read()) {
            assertEquals(VENOUS_UID, byDescription.series().orElseThrow().uid());
            assertEquals(4, byDescription.series().orElseThrow().number());
            assertArrayEquals(byUid.volume().geometry().affine(), byDescription.volume().geometry().affine(), 0.0);
            try (Volume ref = reference(dir, VENOUS_UID)) {
                assertSameImage(ref, byUid.volume());
            }
            assertEquals("Arterial 1.0", arterial.series().orElseThrow().description());
            try (Volume ref = reference(dir, ARTERIAL_UID)) {
                assertSameImage(ref, arterial.volume());
            }
        }
    }

    @Test
    void severalSeriesWithoutChoiceAreListedOnePerLine() {
        Path dir = TestData.dicom().resolve("two_series");
        VolumeInputException e = assertThrows(VolumeInputException.class, () -> ImageInput.of(dir).read());
        List<String> lines = e.getMessage().lines().toList();
        assertEquals(dir + ": 2 DICOM series in this folder; choose one with --series UID or --series DESCRIPTION:",
                lines.get(0));
        assertEquals(List.of("  " + ARTERIAL_UID + "  \"Arterial 1.0\"  (series 3, CT)",
                "  " + VENOUS_UID + "  \"Venous 1.0\"  (series 4, CT)"), lines.subList(1, lines.size()));
        VolumeInputException none = assertThrows(VolumeInputException.class,
                () -> new ImageInput(dir, "Delayed").read());
        assertTrue(none.getMessage().startsWith(dir + ": no DICOM series with UID or description \"Delayed\""),
                none.getMessage());
        assertEquals(3, none.getMessage().lines().count());
    }

    @Test
    void aFolderWithoutDicomIsRefusedByName() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("not dicom"));
        Files.writeString(dir.resolve("notes.txt"), "no images here");
        VolumeInputException e = assertThrows(VolumeInputException.class, () -> withPrivateTmp(() -> ImageInput.of(dir).read()));
        assertEquals(dir + ": dcm2niix failed with exit status 2 (no DICOM images found in the folder or its"
                + " sub-folders, 5 deep): Error: Unable to find any DICOM images in " + dir.toAbsolutePath()
                + " (or subfolders 5 deep)", e.getMessage());
    }

    @Test
    void aCorruptSliceIsAnErrorNotAShorterVolume() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("truncated"));
        try (Stream<Path> s = Files.list(TestData.dicom().resolve("example_ct_dicom_3"))) {
            for (Path f : s.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        Path victim;
        try (Stream<Path> s = Files.list(dir)) {
            victim = s.sorted().toList().get(1);
        }
        byte[] b = Files.readAllBytes(victim);
        Files.write(victim, java.util.Arrays.copyOf(b, b.length / 2));
        VolumeInputException e = assertThrows(VolumeInputException.class, () -> withPrivateTmp(() -> ImageInput.of(dir).read()));
        assertTrue(e.getMessage().startsWith(dir + ": "), e.getMessage());
    }

    /**
     * A slice missing from the middle: dcm2niix exits 0 but writes the volume twice, as stored (uneven spacing) and
     * interpolated to equal spacing ({@code _Eq_1}); neither is the scan, so the folder is refused.
     */
    @Test
    void aMissingSliceIsRefusedNotInterpolated() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("gap"));
        for (int k : new int[] {0, 2, 3}) {
            Path f = TestData.dicom().resolve("two_series").resolve("3_000" + k + ".dcm");
            Files.copy(f, dir.resolve(f.getFileName()));
        }
        VolumeInputException e = assertThrows(VolumeInputException.class, () -> withPrivateTmp(() -> ImageInput.of(dir).read()));
        assertTrue(e.getMessage().startsWith(dir + ": dcm2niix made 2 volumes of series " + ARTERIAL_UID), e.getMessage());
        assertTrue(e.getMessage().contains("_Eq_1.nii"), e.getMessage());
        assertTrue(e.getMessage().contains("(dcm2niix said: Warning: Missing images?"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
    }

    /** A NIfTI file is read as before; the series selector does not apply to it. */
    @Test
    void aNiftiFileIsReadAsIs() {
        Path f = TestData.ct().resolve("example_ct_sm.nii.gz");
        try (ImageInput.Loaded in = new ImageInput(f, "ignored").read()) {
            assertTrue(in.series().isEmpty());
            assertArrayEquals(new int[] {30, 101, 122}, in.volume().shape());
        }
    }

    /** Runs with java.io.tmpdir set to an empty folder of this test, and checks that the folder is empty after. */
    private <T> T withPrivateTmp(java.util.function.Supplier<T> body) throws IOException {
        Path scratch = Files.createDirectories(tmp.resolve("java.io.tmpdir"));
        String before = System.getProperty("java.io.tmpdir");
        System.setProperty("java.io.tmpdir", scratch.toString());
        try {
            return body.get();
        } finally {
            System.setProperty("java.io.tmpdir", before);
            try (Stream<Path> s = Files.list(scratch)) {
                assertEquals(List.of(), s.toList(), "the temporary conversion folder must be removed");
            }
        }
    }

    private Volume reference(Path dir, String uid) throws IOException {
        Path out = tmp.resolve("reference-" + (uid == null ? "only" : uid) + ".nii");
        List<String> cmd = new java.util.ArrayList<>(List.of("/usr/bin/python3",
                TestData.dicom().resolve("dicom_reference.py").toString(), dir.toString(), out.toString()));
        if (uid != null) {
            cmd.addAll(List.of("--series", uid));
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "dicom_reference.py timed out");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        assertEquals(0, p.exitValue(), () -> "/usr/bin/python3 with pydicom and nibabel failed:\n" + log);
        return NiftiReader.read(out);
    }

    /** Every voxel of {@code v}, mapped through the affines, lands on a voxel of {@code ref} with the same value. */
    static void assertSameImage(Volume ref, Volume v) {
        assertEquals(ref.voxelCount(), v.voxelCount());
        double[] m = Geometry.multiply(ref.geometry().inverse(), v.geometry().affine()); // v voxel -> ref voxel
        for (int z = 0; z < v.nz(); z++) {
            for (int y = 0; y < v.ny(); y++) {
                for (int x = 0; x < v.nx(); x++) {
                    double[] r = {m[0] * x + m[1] * y + m[2] * z + m[3], m[4] * x + m[5] * y + m[6] * z + m[7],
                        m[8] * x + m[9] * y + m[10] * z + m[11]};
                    int[] n = new int[3];
                    for (int a = 0; a < 3; a++) {
                        n[a] = (int) Math.round(r[a]);
                        assertEquals(n[a], r[a], 1e-3, "voxel centres must coincide");
                    }
                    float want = ref.get(n[2], n[1], n[0]);
                    float got = v.get(z, y, x);
                    if (want != got) {
                        assertEquals(want, got, "voxel (x, y, z) = (" + x + ", " + y + ", " + z + ")");
                    }
                }
            }
        }
    }
}
