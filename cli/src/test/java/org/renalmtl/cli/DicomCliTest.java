package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.engine.BuiltinModels;
import org.renalmtl.loader.NiftiReader;
import org.renalmtl.loader.Volume;
import org.renalmtl.loader.phantom.Phantom;
import org.renalmtl.loader.phantom.PhantomCase;
import org.renalmtl.loader.phantom.PhantomOptions;

/**
 * DICOM series folders through {@code predict} and {@code segment} (issue 12, item 4). The phantom's phases are
 * written as DICOM CT series by {@code testdata/dicom/nifti_to_dicom.py} (pydicom), so the same scan exists as NIfTI
 * and as DICOM. dcm2niix stores the rows flipped (the LPS phantom comes back LAS), so without reorientation the crop
 * differs; with {@code --reorient ras} both give the same crop, up to dcm2niix's float32 affine. dcm2niix and
 * pydicom are installed by run-tests and .ci/run: without them these tests fail, they are not skipped.
 */
class DicomCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path WRITER = Path.of(System.getProperty("renalmtl.testdata", "../testdata"), "dicom",
            "nifti_to_dicom.py");
    private static final Map<String, String> UID = Map.of("arterial", "1.2.826.0.1.3680043.8.498.301",
            "venous", "1.2.826.0.1.3680043.8.498.302", "delayed", "1.2.826.0.1.3680043.8.498.303");

    @TempDir
    static Path dir;

    static Path model;
    static Path nifti;
    static Path dicom;
    static Path study;

    @BeforeAll
    static void files() throws IOException {
        model = dir.resolve("M.h5");
        BuiltinModels.write(BuiltinModels.Kind.MTDL, 2026, model);
        nifti = Files.createDirectory(dir.resolve("nifti"));
        Cli.ok("phantom", "--out", nifti, "--seed", 11);
        dicom = Files.createDirectory(dir.resolve("dicom"));
        study = Files.createDirectory(dir.resolve("study"));
        int number = 1;
        for (String phase : List.of("arterial", "venous", "delayed")) {
            Path series = dicom.resolve(phase);
            toDicom(nifti.resolve(phase + ".nii.gz"), series, UID.get(phase), number++, "phantom " + phase);
            if (!phase.equals("delayed")) {
                copyFiles(series, study); // the arterial and venous series in one folder, as a study export has them
            }
        }
    }

    private static void toDicom(Path nii, Path out, String uid, int number, String description) {
        Cli.Run py = Cli.exec(dir, List.of("/usr/bin/python3", WRITER.toString(), nii.toString(), out.toString(), "--uid",
                uid, "--number", Integer.toString(number), "--description", description));
        assertEquals(0, py.code(), py::toString);
    }

    private static void copyFiles(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.list(from)) {
            for (Path f : s.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
    }

    private static Cli.Run predict(Path out, Object... phasesAndOptions) {
        List<Object> args = new ArrayList<>(List.of("predict", "--model", model, "--mask", nifti.resolve("mask.nii.gz"),
                "--out", out, "--device", "cpu"));
        args.addAll(List.of(phasesAndOptions));
        return Cli.run(args.toArray());
    }

    /**
     * The same scan as DICOM and as NIfTI gives the same crop with --reorient ras: the saved network inputs agree to
     * 1e-4 (z-scores; the DICOM grid's affine comes through dcm2niix in float32, up to about 1e-5 mm off, which moves a
     * value on the phantom's steepest edges by a few hundredths of a HU) and so do the probabilities. The phantom's
     * affine is exact in float32, and here they agree exactly.
     */
    @Test
    void predictFromDicomFoldersMatchesTheNiftiFiles() throws IOException {
        Path a = dir.resolve("nifti.json");
        Path b = dir.resolve("dicom.json");
        Path inA = Files.createDirectory(dir.resolve("input-nifti"));
        Path inB = Files.createDirectory(dir.resolve("input-dicom"));
        Cli.Run ra = predict(a, "--arterial", nifti.resolve("arterial.nii.gz"), "--venous", nifti.resolve("venous.nii.gz"),
                "--delayed", nifti.resolve("delayed.nii.gz"), "--reorient", "ras", "--save-input", inA);
        assertEquals(0, ra.code(), ra::toString);
        Cli.Run rb = predict(b, "--arterial", dicom.resolve("arterial"), "--venous", dicom.resolve("venous"),
                "--delayed", dicom.resolve("delayed"), "--reorient", "ras", "--save-input", inB);
        assertEquals(0, rb.code(), rb::toString);
        assertEquals("", rb.err().lines().filter(l -> l.contains("warning")).reduce("", String::concat), rb::toString);
        JsonNode ja = JSON.readTree(a.toFile());
        JsonNode jb = JSON.readTree(b.toFile());
        assertEquals(dicom.resolve("venous").toString(), jb.get("inputs").get("venous").asText());
        JsonNode venous = jb.get("inputs").get("dicom").get("venous");
        assertEquals(UID.get("venous"), venous.get("series_uid").asText());
        assertEquals("phantom venous", venous.get("series_description").asText());
        assertEquals(2, venous.get("series_number").asInt());
        assertTrue(jb.get("roi").get("mask_resampled").asBoolean(), "the NIfTI mask is on the LPS grid, the phases LAS");
        assertEquals("RAS", jb.get("roi").get("network_axes").asText());
        assertEquals(ja.get("tumour").get("voxels"), jb.get("tumour").get("voxels"));
        for (String t : List.of("ccrcc", "stage", "renal")) {
            assertEquals(ja.get("tasks").get(t).get("probability").asDouble(),
                    jb.get("tasks").get(t).get("probability").asDouble(), 1e-4, t);
        }
        for (String phase : List.of("arterial", "venous", "delayed")) {
            try (Volume x = NiftiReader.read(inA.resolve("input_" + phase + ".nii.gz"));
                    Volume y = NiftiReader.read(inB.resolve("input_" + phase + ".nii.gz"))) {
                double worst = 0;
                for (long i = 0; i < x.voxelCount(); i++) {
                    worst = Math.max(worst, Math.abs(x.get(i) - y.get(i)));
                }
                assertTrue(worst < 1e-4, phase + ": max |difference| " + worst);
            }
        }
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().startsWith("renal-mtl-dicom")).toList(),
                    "every temporary conversion folder is removed");
        }
    }

    @Test
    void aStudyFolderNeedsASeriesForEachPhase() throws IOException {
        Path out = dir.resolve("study.json");
        Cli.Run refused = predict(out, "--arterial", study, "--venous", study, "--delayed", dicom.resolve("delayed"));
        assertEquals(2, refused.code(), refused::toString);
        assertEquals(List.of("renal-mtl: error: " + study + ": 2 DICOM series in this folder; choose one with --series UID"
                        + " or --series DESCRIPTION:",
                "  " + UID.get("arterial") + "  \"phantom arterial\"  (series 1, CT)",
                "  " + UID.get("venous") + "  \"phantom venous\"  (series 2, CT)"), refused.err().lines().toList());
        assertTrue(Files.notExists(out));

        Cli.Run ok = predict(out, "--arterial", study, "--venous", study, "--delayed", dicom.resolve("delayed"),
                "--series", "arterial=Phantom Arterial", "--series", "venous=" + UID.get("venous"));
        assertEquals(0, ok.code(), ok::toString);
        JsonNode j = JSON.readTree(out.toFile());
        assertEquals(UID.get("arterial"), j.get("inputs").get("dicom").get("arterial").get("series_uid").asText());
        assertEquals(UID.get("venous"), j.get("inputs").get("dicom").get("venous").get("series_uid").asText());
        assertEquals(0, j.get("warnings").size(), ok::toString);

        // A --series without a phase must hold in every DICOM folder given, also one holding a single series (which
        // is not taken unchecked): here the delayed folder's series is another.
        Cli.Run general = predict(dir.resolve("never.json"), "--arterial", study, "--venous", study, "--delayed",
                dicom.resolve("delayed"), "--series", "phantom arterial");
        assertEquals(2, general.code(), general::toString);
        assertTrue(general.err().startsWith("renal-mtl: error: " + dicom.resolve("delayed") + ": no DICOM series with"
                + " UID or description \"phantom arterial\" in this folder; it holds:\n  " + UID.get("delayed")),
                general::toString);

        // One series for both: the run goes on, with a warning.
        Path twice = dir.resolve("twice.json");
        Cli.Run same = predict(twice, "--arterial", study, "--venous", study, "--delayed", dicom.resolve("delayed"),
                "--series", "arterial=phantom arterial", "--series", "venous=phantom arterial");
        assertEquals(0, same.code(), same::toString);
        assertTrue(same.err().contains("renal-mtl: warning: the arterial and venous phases are the same DICOM series ("
                + study + "): give each phase its own scan"), same::toString);

        // A cohort chooses per case, in PHASE_series columns.
        Path cases = Files.writeString(dir.resolve("cases.csv"), "case_id,arterial,venous,delayed,mask,arterial_series,"
                + "venous_series\nc1,study,study,dicom/delayed,nifti/mask.nii.gz,phantom arterial," + UID.get("venous")
                + "\n");
        Path results = dir.resolve("results.csv");
        Cli.Run cohort = Cli.run("predict", "--model", model, "--cohort", cases, "--out", results, "--device", "cpu");
        assertEquals(0, cohort.code(), cohort::toString);
        List<String> rows = Files.readAllLines(results);
        assertTrue(rows.get(1).startsWith("c1,ok,,"), rows::toString);
        String p = String.format(java.util.Locale.ROOT, "%.6f", j.get("tasks").get("ccrcc").get("probability").asDouble());
        assertTrue(rows.get(1).startsWith("c1,ok,," + p + ","), rows + " vs " + p);
    }

    /** segment reads the folder exactly as dcm2niix converts it; folder mode takes CASE_0000/ as a DICOM image. */
    @Test
    void segmentTakesDicomFoldersInBothModes() throws IOException {
        Path seg = dir.resolve("phantom-seg.h5");
        try (InputStream in = DemoCommand.class.getResourceAsStream("phantom-seg.h5")) {
            Files.copy(in, seg);
        }
        Path small = Files.createDirectory(dir.resolve("small"));
        try (PhantomCase c = Phantom.generate(41, new PhantomOptions(48, 48, 16, new double[] {2.5, 2.5, 5},
                new double[] {12, 10, 12}, 10, false))) {
            c.writeTo(small);
        }
        Path series = dir.resolve("small-venous");
        toDicom(small.resolve("venous.nii.gz"), series, "1.2.826.0.1.3680043.8.498.401", 7, "small venous");
        Path converted = Files.createDirectory(dir.resolve("converted"));
        Cli.Run d2n = Cli.exec(dir, List.of("dcm2niix", "-g", "i", "-b", "n", "-z", "y", "-f", "venous", "-o",
                converted.toString(), series.toString()));
        assertEquals(0, d2n.code(), d2n::toString);

        Path fromDicom = dir.resolve("from-dicom.nii.gz");
        Path fromNifti = dir.resolve("from-nifti.nii.gz");
        Cli.ok("segment", "--seg-model", seg, "--image", series, "--out", fromDicom, "--device", "cpu");
        Cli.ok("segment", "--seg-model", seg, "--image", converted.resolve("venous.nii.gz"), "--out", fromNifti,
                "--device", "cpu");
        assertSameVoxels(fromNifti, fromDicom);

        Path in = Files.createDirectory(dir.resolve("imagesTs"));
        copyFiles(series, Files.createDirectory(in.resolve("case_a_0000")));
        Files.copy(converted.resolve("venous.nii.gz"), in.resolve("case_b_0000.nii.gz"));
        Files.createDirectory(in.resolve("case_c")); // a folder not named CASE_XXXX is not silently left out
        Path out = dir.resolve("predictions");
        Cli.assertInputError(Cli.run("segment", "--seg-model", seg, "-i", in, "-o", out),
                in + ": 1 file(s) not named CASE_XXXX.nii.gz", "case_c/");
        Files.delete(in.resolve("case_c"));
        Cli.Run r = Cli.ok("segment", "--seg-model", seg, "-i", in, "-o", out, "--device", "cpu");
        assertTrue(r.out().contains("2 case(s) run, 0 failed, 0 skipped"), r::toString);
        assertSameVoxels(fromDicom, out.resolve("case_a.nii.gz"));
        assertSameVoxels(fromDicom, out.resolve("case_b.nii.gz"));
    }

    /** Without dcm2niix on the PATH: one line that says how to install it, exit 2 (the CLI in a JVM of its own). */
    @Test
    void missingDcm2niixSaysHowToInstallIt() throws IOException {
        Path out = dir.resolve("never.nii.gz");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(LauncherTest.launcherFlags());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "predict", "--model",
                model.toString(), "--arterial", dicom.resolve("arterial").toString(), "--venous",
                dicom.resolve("venous").toString(), "--delayed", dicom.resolve("delayed").toString(), "--mask",
                nifti.resolve("mask.nii.gz").toString(), "--out", out.toString(), "--device", "cpu"));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("PATH", dir.toString()); // a folder without dcm2niix
        Process p = pb.start();
        p.getOutputStream().close();
        String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String stderr = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            assertEquals(2, p.waitFor(), stdout + stderr);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        assertEquals("", stdout);
        assertEquals(List.of("renal-mtl: error: " + dicom.resolve("arterial") + ": a folder is read as a DICOM series,"
                + " which needs dcm2niix, and it is not on the PATH; install it (Debian/Ubuntu: apt-get install dcm2niix;"
                + " elsewhere: https://github.com/rordenlab/dcm2niix/releases) or put it on the PATH"),
                stderr.lines().toList());
        assertTrue(Files.notExists(out));
    }

    private static void assertSameVoxels(Path a, Path b) {
        try (Volume x = NiftiReader.read(a); Volume y = NiftiReader.read(b)) {
            assertTrue(x.sameGrid(y));
            assertEquals(-1, x.data().mismatch(y.data()), a + " vs " + b);
        }
    }
}
