package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.engine.BuiltinModels;
import org.renalmtl.loader.Geometry;
import org.renalmtl.loader.NiftiDataType;
import org.renalmtl.loader.NiftiReader;
import org.renalmtl.loader.NiftiWriter;
import org.renalmtl.loader.Volume;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.SeededWeights;
import org.renalmtl.weights.Tensor;
import org.renalmtl.weights.WeightWriter;

/**
 * Every bad input to {@code inspect} and {@code predict} ends with exit code 2, one line
 * "renal-mtl: error: FILE: problem" on stderr, and no output file.
 */
class BadInputTest {
    @TempDir
    static Path dir;

    static Path model;
    static Path truncatedModel;
    static Path textModel;
    static Path nanModel;
    static Path arterial;
    static Path venous;
    static Path delayed;
    static Path mask;
    static Path out;

    @BeforeAll
    static void files() throws IOException {
        model = dir.resolve("M.h5");
        BuiltinModels.write(BuiltinModels.Kind.MTDL, 2026, model);
        byte[] all = Files.readAllBytes(model);
        truncatedModel = dir.resolve("truncated.h5");
        Files.write(truncatedModel, Arrays.copyOf(all, all.length / 2));
        textModel = dir.resolve("text.h5");
        Files.writeString(textModel, "renal-mtl model, honest\n");
        nanModel = dir.resolve("nan.h5");
        ModelConfig config = BuiltinModels.config(BuiltinModels.Kind.MTDL);
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> t = new LinkedHashMap<>(SeededWeights.generate(config, 1, arena));
            t.get("head.towers.1.out.weight").data().setAtIndex(ValueLayout.JAVA_FLOAT, 3, Float.NaN);
            WeightWriter.write(nanModel, config.json(), t);
        }
        Path ph = Files.createDirectory(dir.resolve("phantom"));
        Cli.ok("phantom", "--out", ph, "--seed", 5);
        arterial = ph.resolve("arterial.nii.gz");
        venous = ph.resolve("venous.nii.gz");
        delayed = ph.resolve("delayed.nii.gz");
        mask = ph.resolve("mask.nii.gz");
        out = dir.resolve("result.json");
    }

    /** predict with the given model and phase/mask files, writing {@link #out}. */
    private static Cli.Run predict(Path m, Path a, Path v, Path d, Path k, Object... extra) {
        List<Object> args = new ArrayList<>(List.of("predict", "--model", m, "--arterial", a, "--venous", v, "--delayed", d,
                "--mask", k, "--out", out));
        args.addAll(List.of(extra));
        if (!args.contains("--device")) {
            args.addAll(List.of("--device", "cpu"));
        }
        return Cli.run(args.toArray());
    }

    private static void noOutput() {
        assertFalse(Files.exists(out), "no result file may be left on an error");
        for (String f : Cli.listing(dir)) {
            assertFalse(f.endsWith(".tmp"), "temporary file left behind: " + f);
        }
    }

    @Test
    void inspectMissingModel() {
        Path m = dir.resolve("absent.h5");
        Cli.assertInputError(Cli.run("inspect", m), m + ": ", "no such file");
    }

    @Test
    void inspectNonHdf5Model() {
        Cli.assertInputError(Cli.run("inspect", textModel), textModel + ": ", "not an HDF5 file");
    }

    @Test
    void inspectTruncatedModel() {
        Cli.assertInputError(Cli.run("inspect", truncatedModel), truncatedModel + ": ", "truncated");
    }

    @Test
    void inspectNanModel() {
        Cli.assertInputError(Cli.run("inspect", nanModel), nanModel + ": ", "non-finite", "head.towers.1.out.weight");
    }

    @Test
    void predictWithMissingModel() {
        Path m = dir.resolve("absent.h5");
        Cli.assertInputError(predict(m, arterial, venous, delayed, mask), m + ": ", "no such file");
        noOutput();
    }

    @Test
    void predictWithNonHdf5Model() {
        Cli.assertInputError(predict(textModel, arterial, venous, delayed, mask), textModel + ": ", "not an HDF5 file");
        noOutput();
    }

    @Test
    void predictWithTruncatedModel() {
        Cli.assertInputError(predict(truncatedModel, arterial, venous, delayed, mask), truncatedModel + ": ", "truncated");
        noOutput();
    }

    @Test
    void predictWithNanModel() {
        Cli.assertInputError(predict(nanModel, arterial, venous, delayed, mask), nanModel + ": ", "non-finite",
                "head.towers.1.out.weight");
        noOutput();
    }

    @Test
    void predictWithoutAPhaseOption() {
        Cli.Run r = Cli.run("predict", "--model", model, "--arterial", arterial, "--venous", venous, "--mask", mask,
                "--out", out, "--device", "cpu");
        Cli.assertInputError(r, "missing phase(s) for this model: --delayed");
        noOutput();
    }

    @Test
    void predictWithANonexistentPhaseFile() {
        Path absent = dir.resolve("nope.nii.gz");
        Cli.assertInputError(predict(model, arterial, venous, absent, mask), absent + ": ", "not found");
        noOutput();
    }

    @Test
    void predictWithATruncatedPhase() throws IOException {
        byte[] all = Files.readAllBytes(venous);
        Path cut = dir.resolve("venous-cut.nii.gz");
        Files.write(cut, Arrays.copyOf(all, all.length / 2));
        Cli.assertInputError(predict(model, arterial, cut, delayed, mask), cut + ": ", "truncated");
        noOutput();
    }

    @Test
    void predictWithAMaskOfAnotherScan() {
        // The real CT's kidney: its grid lies elsewhere in the world (PhasesAndMasksTest: a mask on another grid of
        // the same scan is resampled).
        Path other = RealCtTest.CT.resolve("example_seg_fast_kidney_left.nii.gz");
        Cli.assertInputError(predict(model, arterial, venous, delayed, other), other + ": ",
                "mask does not overlap reference phase " + arterial, "is it the mask of another scan?");
        noOutput();
    }

    @Test
    void predictWithAnEmptyMask() {
        Path empty = dir.resolve("mask-empty.nii.gz");
        try (Volume m = NiftiReader.read(mask); Volume e = Volume.allocate(m.nz(), m.ny(), m.nx(), m.geometry(), "empty")) {
            NiftiWriter.writeMask(e, empty);
        }
        Cli.assertInputError(predict(model, arterial, venous, delayed, empty), empty + ": ", "mask is empty");
        noOutput();
    }

    @Test
    void predictWithALabelThatIsNotThere() {
        Cli.assertInputError(predict(model, arterial, venous, delayed, mask, "--label", 7), mask + ": ",
                "mask is empty (no voxel with label 7)");
        noOutput();
    }

    @Test
    void predictWithANonPositiveLabel() {
        Cli.assertInputError(predict(model, arterial, venous, delayed, mask, "--label", 0), "--label 0: ", "positive");
        noOutput();
    }

    @Test
    void predictWithAPhaseThatDoesNotOverlap() {
        // The delayed phase moved 2 m along x: its own grid is fine, but it covers none of the tumour.
        Path far = dir.resolve("delayed-far.nii.gz");
        try (Volume d = NiftiReader.read(delayed)) {
            double[] a = d.geometry().affine();
            a[3] += 2000;
            try (Volume f = Volume.allocate(d.nz(), d.ny(), d.nx(), new Geometry(a, 1, 1), "far")) {
                f.data().copyFrom(d.data().asSlice(0, d.voxelCount() * Float.BYTES));
                NiftiWriter.write(f, far, NiftiDataType.INT16, "shifted 2 m");
            }
        }
        Cli.assertInputError(predict(model, arterial, venous, far, mask), far + ": ", "does not overlap");
        noOutput();
    }

    @Test
    void predictIntoANonexistentDirectory() {
        Path bad = dir.resolve("no-such-dir").resolve("result.json");
        Cli.Run r = Cli.run("predict", "--model", model, "--arterial", arterial, "--venous", venous, "--delayed", delayed,
                "--mask", mask, "--out", bad, "--device", "cpu");
        Cli.assertInputError(r, bad + ": ", "cannot write", "does not exist");
        assertFalse(Files.exists(bad.getParent()));
    }

    @Test
    void cudaWithoutAGpuIsAClearInputError() throws IOException {
        Cli.Run r = predict(model, arterial, venous, delayed, mask, "--device", "cuda");
        boolean gpu = Files.exists(Path.of("/dev/nvidiactl"));
        if (gpu && r.code() == 0) {
            // A GPU host with the CUDA backend built: the request is honoured.
            assertTrue(Files.isRegularFile(out), r::toString);
            Files.delete(out); // the other tests require that no result exists
            return;
        }
        // No GPU (the build machine), or a GPU but no CUDA backend in this build: exit 2, one line, about CUDA.
        Cli.assertInputError(r, "");
        assertTrue(r.err().toLowerCase(java.util.Locale.ROOT).contains("cuda"), r::toString);
        noOutput();
    }

    @Test
    void unknownDevice() {
        Cli.Run r = predict(model, arterial, venous, delayed, mask, "--device", "bogus");
        Cli.assertInputError(r, "unknown device 'bogus'", "cpu", "cuda");
        noOutput();
    }

    @Test
    void cohortIntoTheResultsOfAnotherRun() throws IOException {
        Path csv = Files.writeString(dir.resolve("one-case.csv"), "case_id,arterial,venous,delayed,mask\nc1," + arterial
                + "," + venous + "," + delayed + "," + mask + "\n");
        String old = "case_id,status,score\nc0,ok,0.5\n";
        Path results = Files.writeString(dir.resolve("old-results.csv"), old);
        Cli.Run r = Cli.run("predict", "--model", model, "--cohort", csv, "--out", results, "--device", "cpu");
        Cli.assertInputError(r, results + ": ", "not a results file of this model");
        assertEquals(old, Files.readString(results), "another run's results are left untouched");
    }

    @Test
    void cohortWithADuplicateCaseId() throws IOException {
        String row = "," + arterial + "," + venous + "," + delayed + "," + mask + "\n";
        Path csv = Files.writeString(dir.resolve("dup.csv"), "case_id,arterial,venous,delayed,mask\nc1" + row + "c1" + row);
        Path results = dir.resolve("dup-results.csv");
        Cli.Run r = Cli.run("predict", "--model", model, "--cohort", csv, "--out", results, "--device", "cpu");
        Cli.assertInputError(r, csv + " line 3: ", "case_id 'c1' is a duplicate");
        assertFalse(Files.exists(results));
    }

    @Test
    void demoIntoAFileInsteadOfADirectory() throws IOException {
        Path file = Files.writeString(dir.resolve("not-a-dir"), "x");
        Cli.Run r = Cli.run("demo", "--out", file, "--runs", 0, "--device", "cpu");
        Cli.assertInputError(r, file + ": ", "must be a directory");
        assertEquals("x", Files.readString(file));
    }

    @Test
    void unknownOptionIsAUsageError() {
        Cli.Run r = Cli.run("predict", "--model", model, "--out", out, "--bogus");
        assertEquals(2, r.code(), r::toString);
        assertTrue(r.err().contains("Unknown option: '--bogus'"), r::toString);
    }
}
