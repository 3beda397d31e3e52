package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.loader.NiftiReader;
import org.renalmtl.loader.Volume;
import org.renalmtl.loader.VolumeInputException;
import org.renalmtl.loader.phantom.Phantom;
import org.renalmtl.loader.phantom.PhantomCase;
import org.renalmtl.loader.phantom.PhantomOptions;
import org.renalmtl.segmentation.SegmentationResult;
import org.renalmtl.weights.SegmentationFile;
import org.renalmtl.weights.WeightWriter;

/**
 * {@code segment} with the built-in phantom nnU-Net: the probabilities file checked by nibabel against the label
 * map and the image, and folder mode as a user meets it (a damaged case, a resumed run, misnamed folders).
 * The phantoms are small (48 x 48 x 16 voxels of 2.5 x 2.5 x 5 mm, one 32 x 48 x 48 tile at the model's
 * 2.5 mm), so each case is one network pass; the anatomy is scaled down, so the labels are not checked for
 * accuracy here (DemoInspectTest does that on the full-size phantom), only for what the outputs must be.
 */
class SegmentCommandTest {
    @TempDir
    static Path dir;

    static Path model;
    static Path[] venous = new Path[3];

    /** Reads the probabilities, labels and image with nibabel and prints the facts the test checks, as JSON. */
    private static final String CHECK = String.join("\n",
            "import sys, json, nibabel as nib, numpy as np",
            "p, l, ct = (nib.load(f) for f in sys.argv[1:4])",
            "d = np.asanyarray(p.dataobj); lab = np.asanyarray(l.dataobj)",
            "print(json.dumps({'shape': list(d.shape), 'dtype': str(d.dtype), 'dim': [int(v) for v in p.header['dim']],",
            "  'codes': [int(p.header['qform_code']), int(p.header['sform_code'])],",
            "  'sform_err': float(np.abs(p.header.get_sform() - ct.affine).max()),",
            "  'qform_err': float(np.abs(p.header.get_qform() - ct.affine).max()),",
            "  'sum_err': float(np.abs(d.astype(np.float64).sum(-1) - 1).max()),",
            "  'min': float(d.min()), 'max': float(d.max()),",
            "  'argmax_differs': int((d.argmax(-1) != lab).sum()),",
            "  'labels': sorted(int(v) for v in np.unique(lab)),",
            "  'descrip': p.header['descrip'].item().decode()}))");

    @BeforeAll
    static void phantoms() throws IOException {
        model = dir.resolve("phantom-seg.h5");
        try (InputStream in = DemoCommand.class.getResourceAsStream("phantom-seg.h5")) {
            Files.copy(in, model);
        }
        PhantomOptions small = new PhantomOptions(48, 48, 16, new double[] {2.5, 2.5, 5}, new double[] {12, 10, 12}, 10, false);
        for (int s = 0; s < venous.length; s++) {
            try (PhantomCase c = Phantom.generate(40 + s, small)) {
                venous[s] = c.writeTo(Files.createDirectories(dir.resolve("phantom" + s))).get(1);
            }
        }
    }

    @Test
    void probabilitiesAreOne4dFileWhoseArgmaxIsTheLabelMap() throws IOException {
        Path mask = dir.resolve("one.nii.gz");
        Path probs = dir.resolve("one-probabilities.nii.gz");
        Cli.Run r = Cli.ok("segment", "--seg-model", model, "--image", venous[0], "--out", mask, "--save-probabilities",
                probs, "--device", "cpu");
        assertTrue(r.out().contains("probabilities: " + probs + " (3 volumes: background, kidney, tumor)"), r::toString);
        Cli.Run py = Cli.exec(dir, List.of("/usr/bin/python3", "-c", CHECK, probs.toString(), mask.toString(),
                venous[0].toString()));
        assertEquals(0, py.code(), py::toString);
        JsonNode f = new ObjectMapper().readTree(py.out());
        assertEquals("[48,48,16,3]", f.get("shape").toString());
        assertEquals("float32", f.get("dtype").asText());
        assertEquals("[4,48,48,16,3,1,1,1]", f.get("dim").toString());
        assertEquals("[1,1]", f.get("codes").toString(), "the phantom's codes, as the mask keeps them");
        // The image's affine in float32 (the phantom's is exact in float32: 2.5 mm steps).
        assertEquals(0, f.get("sform_err").asDouble(), 1e-5);
        assertEquals(0, f.get("qform_err").asDouble(), 1e-5);
        // Softmax per voxel: three float32 quotients, each within 2^-24 relative, sum to 1 within a few ulps.
        assertEquals(0, f.get("sum_err").asDouble(), 1e-6, py::toString);
        assertTrue(f.get("min").asDouble() >= 0 && f.get("max").asDouble() <= 1, py::toString);
        // The labels are the argmax of these very float32 values (ties to the lowest class, as numpy's argmax).
        assertEquals(0, f.get("argmax_differs").asInt(), py::toString);
        assertTrue(f.get("labels").size() >= 2, () -> "the network must find something for the check to bite: " + py);
        assertEquals("class probabilities: background,kidney,tumor", f.get("descrip").asText());
    }

    @Test
    void aRegionModelWritesOneSigmoidPerRegionAndItsLabelsFollowRegionsClassOrder() throws IOException {
        // The phantom network's three outputs read as KiTS-style nested regions (kidney ⊃ masses ⊃ tumor): the
        // same tensors with a region config, so each output goes through a sigmoid and the labels are written
        // region by region in regions_class_order, later ones over earlier ones where p > 0.5.
        Path regions = dir.resolve("regions.h5");
        try (SegmentationFile f = SegmentationFile.load(model)) {
            ObjectNode config = (ObjectNode) new ObjectMapper().readTree(f.config().json());
            config.putObject("labels").put("background", 0).set("kidney", config.arrayNode().add(1).add(2).add(3));
            ((ObjectNode) config.get("labels")).set("masses", config.arrayNode().add(2).add(3));
            ((ObjectNode) config.get("labels")).put("tumor", 2);
            config.set("regions_class_order", config.arrayNode().add(1).add(2).add(3));
            WeightWriter.write(regions, config.toString(), f.tensors());
        }
        Path mask = dir.resolve("regions-mask.nii.gz");
        Path probs = dir.resolve("regions-probabilities.nii.gz");
        Cli.ok("segment", "--seg-model", regions, "--image", venous[0], "--out", mask, "--save-probabilities", probs,
                "--device", "cpu");
        String check = String.join("\n",
                "import sys, json, nibabel as nib, numpy as np",
                "d = np.asanyarray(nib.load(sys.argv[1]).dataobj); lab = np.asanyarray(nib.load(sys.argv[2]).dataobj)",
                "want = np.zeros(lab.shape, np.uint8)",
                "for c, v in enumerate([1, 2, 3]): want[d[..., c] > 0.5] = v",
                "print(json.dumps({'shape': list(d.shape), 'differs': int((want != lab).sum()),",
                "  'sums_to_one': bool(np.allclose(d.sum(-1), 1)), 'labels': sorted(int(v) for v in np.unique(lab)),",
                "  'descrip': nib.load(sys.argv[1]).header['descrip'].item().decode()}))");
        Cli.Run py = Cli.exec(dir, List.of("/usr/bin/python3", "-c", check, probs.toString(), mask.toString()));
        assertEquals(0, py.code(), py::toString);
        JsonNode f = new ObjectMapper().readTree(py.out());
        assertEquals("[48,48,16,3]", f.get("shape").toString());
        // float32 sigmoids compared with 0.5 in float32 on both sides: exact.
        assertEquals(0, f.get("differs").asInt(), py::toString);
        assertTrue(f.get("labels").size() >= 2, () -> "the regions must be found somewhere for the check to bite: " + py);
        assertEquals(false, f.get("sums_to_one").asBoolean(), "sigmoids per region, not a softmax");
        assertEquals("region probabilities: kidney,masses,tumor", f.get("descrip").asText());
    }

    @Test
    void aCaseWhoseLabelMapCannotBeWrittenKeepsNoProbabilities() throws IOException {
        Path probs = dir.resolve("orphan.nii.gz");
        try (Volume labels = NiftiReader.read(venous[0]); Volume p = NiftiReader.read(venous[0])) {
            SegmentationResult result = new SegmentationResult(labels, List.of(p));
            Path nowhere = dir.resolve("no-such-dir/mask.nii.gz");
            VolumeInputException e = assertThrows(VolumeInputException.class,
                    () -> SegmentCommand.write(result, nowhere, probs, "x"));
            assertTrue(e.getMessage().startsWith(nowhere + ": cannot write"), e.getMessage());
        }
        assertTrue(Files.notExists(probs), "the probabilities written first are removed again");
    }

    @Test
    void modesAreExclusiveAndEachNeedsBothOfItsOptions() {
        Path in = dir.resolve("in-x");
        Path out = dir.resolve("out-x");
        Path ct = venous[0];
        Path m = dir.resolve("m.nii.gz");
        Cli.assertInputError(Cli.run("segment", "--seg-model", model, "--image", ct, "--out", m, "-i", in, "-o", out),
                "--image/--out (one case) and -i/-o (a folder of cases) cannot be combined");
        Cli.assertInputError(Cli.run("segment", "--seg-model", model), "give --image and --out");
        Cli.assertInputError(Cli.run("segment", "--seg-model", model, "-i", in), "-i needs -o");
        Cli.assertInputError(Cli.run("segment", "--seg-model", model, "-o", out), "-o needs -i");
        Cli.assertInputError(Cli.run("segment", "--seg-model", model, "--image", ct), "--image needs --out");
        Cli.assertInputError(Cli.run("segment", "--seg-model", model, "-i", in, "-o", out, "--save-probabilities",
                dir.resolve("p.nii.gz")), "--save-probabilities takes no file name with -i/-o");
        Cli.assertInputError(Cli.run("segment", "--seg-model", model, "--image", ct, "--out", m, "--save-probabilities"),
                "--save-probabilities needs a file name");
        Cli.assertInputError(Cli.run("segment", "--seg-model", model, "--image", ct, "--out", m, "--overwrite"),
                "--overwrite is for folder mode");
        Cli.assertInputError(Cli.run("segment", "--seg-model", model, "--image", ct, "--out", m, "--save-probabilities", m),
                m + ": --out and --save-probabilities name the same file");
        assertTrue(Files.notExists(m) && Files.notExists(out));
    }

    @Test
    void folderModeReportsABadCaseResumesAndRedoesOnRequest() throws IOException {
        Path in = Files.createDirectories(dir.resolve("imagesTs"));
        Path out = dir.resolve("predictions");
        Files.copy(venous[0], in.resolve("case_a_0000.nii.gz"));
        Files.copy(venous[1], in.resolve("case_b_0000.nii.gz"));
        byte[] whole = Files.readAllBytes(venous[2]);
        Path bad = Files.write(in.resolve("case_c_0000.nii.gz"), Arrays.copyOf(whole, whole.length / 2));
        Files.writeString(in.resolve(".DS_Store"), "hidden files are not inputs");

        Cli.Run first = Cli.run("segment", "--seg-model", model, "-i", in, "-o", out, "--save-probabilities",
                "--device", "cpu");
        assertEquals(3, first.code(), "some case failed: " + first);
        assertTrue(first.out().contains("3 case(s) run, 1 failed, 0 skipped"), first::toString);
        List<String> err = first.err().lines().toList();
        assertTrue(err.stream().anyMatch(l -> l.matches("\\[\\d/3] case_a ok \\(\\d+\\.\\d s\\)")), first::toString);
        assertTrue(err.stream().anyMatch(l -> l.matches("\\[\\d/3] case_c FAILED \\(\\d+\\.\\d s\\)")), first::toString);
        assertTrue(err.contains("renal-mtl: error: 1 of 3 case(s) failed (reported above)"), first::toString);
        assertEquals(1, err.stream().filter(l -> l.startsWith("renal-mtl: error: case case_c: " + bad + ": ")).count(),
                first::toString);
        assertEquals(List.of("case_a.nii.gz", "case_a_probabilities.nii.gz", "case_b.nii.gz",
                "case_b_probabilities.nii.gz"), Cli.listing(out), "nothing of the bad case, no temporary file");

        // The same case alone gives the same label map.
        Path single = dir.resolve("single-a.nii.gz");
        Cli.ok("segment", "--seg-model", model, "--image", venous[0], "--out", single, "--device", "cpu");
        assertSameVoxels(single, out.resolve("case_a.nii.gz"));

        // Mended, the run resumes: only case_c runs; the others are left untouched.
        Files.copy(venous[2], bad, StandardCopyOption.REPLACE_EXISTING);
        FileTime before = Files.getLastModifiedTime(out.resolve("case_a.nii.gz"));
        Cli.Run second = Cli.ok("segment", "--seg-model", model, "-i", in, "-o", out, "--save-probabilities",
                "--device", "cpu");
        assertTrue(second.err().contains("already holds the outputs of 2 case(s); skipping them"), second::toString);
        assertTrue(second.out().contains("1 case(s) run, 0 failed, 2 skipped"), second::toString);
        assertEquals(before, Files.getLastModifiedTime(out.resolve("case_a.nii.gz")));
        assertEquals(6, Cli.listing(out).size(), second::toString);

        // A case lacking one of the outputs asked for is not done; --overwrite redoes every case.
        Files.delete(out.resolve("case_b_probabilities.nii.gz"));
        Cli.Run third = Cli.ok("segment", "--seg-model", model, "-i", in, "-o", out, "--save-probabilities",
                "--device", "cpu");
        assertTrue(third.out().contains("1 case(s) run, 0 failed, 2 skipped"), third::toString);
        Cli.Run fourth = Cli.ok("segment", "--seg-model", model, "-i", in, "-o", out, "--overwrite", "--device", "cpu");
        assertTrue(fourth.out().contains("3 case(s) run, 0 failed, 0 skipped"), fourth::toString);
    }

    @Test
    void misnamedFoldersAreRefusedBeforeAnyCaseRuns() throws IOException {
        Path empty = Files.createDirectories(dir.resolve("empty"));
        Path out = dir.resolve("never");
        Cli.assertInputError(Cli.run("segment", "--seg-model", model, "-i", empty, "-o", out), empty + ": no input images");

        Path unmatched = Files.createDirectories(dir.resolve("unmatched"));
        Files.copy(venous[0], unmatched.resolve("case_a_0000.nii.gz"));
        Files.copy(venous[0], unmatched.resolve("case_b.nii.gz"));
        Cli.assertInputError(Cli.run("segment", "--seg-model", model, "-i", unmatched, "-o", out),
                unmatched + ": 1 file(s) not named CASE_XXXX.nii.gz", "case_b.nii.gz");

        Path extra = Files.createDirectories(dir.resolve("extra"));
        Files.copy(venous[0], extra.resolve("case_a_0000.nii.gz"));
        Files.copy(venous[0], extra.resolve("case_a_0001.nii.gz"));
        Cli.assertInputError(Cli.run("segment", "--seg-model", model, "-i", extra, "-o", out, "--device", "cpu"),
                extra + ": 1 file(s) of a channel the model does not have (the model takes 1 channel(s), _0000)",
                "case_a_0001.nii.gz");

        Path ok = Files.createDirectories(dir.resolve("same"));
        Files.copy(venous[0], ok.resolve("case_a_0000.nii.gz"));
        Cli.assertInputError(Cli.run("segment", "--seg-model", model, "-i", ok, "-o", ok, "--device", "cpu"),
                ok + ": -o is the input folder");
        Cli.assertInputError(Cli.run("segment", "--seg-model", model, "-i", venous[0], "-o", out),
                venous[0] + ": -i must be a folder", "this is a file");
        assertTrue(Files.notExists(out));
    }

    @Test
    void aMissingChannelOfATwoChannelModelIsNamed() throws IOException {
        Path in = Files.createDirectories(dir.resolve("two-channel"));
        for (String f : List.of("a_0000.nii.gz", "a_0001.nii.gz", "b_0000.nii.gz", "c_0001.nii")) {
            Files.writeString(in.resolve(f), "");
        }
        CaseFolder folder = CaseFolder.scan(in);
        assertEquals(List.of("a", "b", "c"), List.copyOf(folder.cases().keySet()));
        InputException e = assertThrows(InputException.class, () -> folder.forChannels(2));
        assertEquals(in + ": 2 channel file(s) missing (the model takes 2 channel(s), _0000 to _0001): b_0001.nii.gz,"
                + " c_0000.nii.gz", e.getMessage());
        assertEquals(List.of(in.resolve("a_0000.nii.gz"), in.resolve("a_0001.nii.gz")),
                List.copyOf(folder.cases().get("a").values()), "by channel index");
    }

    private static void assertSameVoxels(Path a, Path b) {
        try (Volume x = NiftiReader.read(a); Volume y = NiftiReader.read(b)) {
            assertTrue(x.sameGrid(y));
            for (long i = 0; i < x.voxelCount(); i++) {
                assertEquals(x.get(i), y.get(i), 0f, "voxel " + i);
            }
        }
    }
}
