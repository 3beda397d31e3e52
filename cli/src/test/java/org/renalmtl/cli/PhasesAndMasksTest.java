package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.engine.BuiltinModels;
import org.renalmtl.loader.NiftiDataType;
import org.renalmtl.loader.NiftiReader;
import org.renalmtl.loader.NiftiWriter;
import org.renalmtl.loader.Volume;

/**
 * {@code predict} with phases and masks as users give them (issue 12, item 5): a mask on another grid is resampled
 * rather than refused, the same scan given for two phases and a tumour at the scan's edge are warned about on
 * stderr and in the report, and {@code --reorient ras} is recorded in the report.
 */
class PhasesAndMasksTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    static Path model;
    static Path arterial;
    static Path venous;
    static Path delayed;
    static Path mask;

    @BeforeAll
    static void files() throws IOException {
        model = dir.resolve("M.h5");
        BuiltinModels.write(BuiltinModels.Kind.MTDL, 2026, model);
        Path ph = Files.createDirectory(dir.resolve("phantom"));
        Cli.ok("phantom", "--out", ph, "--seed", 9);
        arterial = ph.resolve("arterial.nii.gz");
        venous = ph.resolve("venous.nii.gz");
        delayed = ph.resolve("delayed.nii.gz");
        mask = ph.resolve("mask.nii.gz");
    }

    private static Cli.Run predict(Path out, Path a, Path v, Path d, Path k, Object... extra) {
        List<Object> args = new ArrayList<>(List.of("predict", "--model", model, "--arterial", a, "--venous", v,
                "--delayed", d, "--mask", k, "--out", out, "--device", "cpu"));
        args.addAll(List.of(extra));
        return Cli.ok(args.toArray());
    }

    private static List<String> warnings(Cli.Run r) {
        return r.err().lines().filter(l -> l.startsWith("renal-mtl: warning: "))
                .map(l -> l.substring("renal-mtl: warning: ".length())).toList();
    }

    private static List<String> warnings(JsonNode report) {
        List<String> w = new ArrayList<>();
        report.get("warnings").forEach(n -> w.add(n.asText()));
        return w;
    }

    /** The mask without its last slice: same voxels on a grid one slice shorter, so the report is the same. */
    @Test
    void aMaskOnAnotherGridIsResampledNotRefused() throws IOException {
        Path cropped = dir.resolve("mask-cropped.nii.gz");
        try (Volume m = NiftiReader.read(mask); Volume c = Volume.allocate(m.nz() - 1, m.ny(), m.nx(), m.geometry(), "crop")) {
            for (int z = 0; z < c.nz(); z++) {
                for (int y = 0; y < c.ny(); y++) {
                    for (int x = 0; x < c.nx(); x++) {
                        c.set(z, y, x, m.get(z, y, x));
                    }
                }
            }
            NiftiWriter.writeMask(c, cropped);
        }
        Path a = dir.resolve("same-grid.json");
        Path b = dir.resolve("other-grid.json");
        Cli.Run ra = predict(a, arterial, venous, delayed, mask);
        Cli.Run rb = predict(b, arterial, venous, delayed, cropped);
        assertEquals(List.of(), warnings(ra), ra::toString);
        assertEquals(List.of(), warnings(rb), rb::toString);
        JsonNode ja = JSON.readTree(a.toFile());
        JsonNode jb = JSON.readTree(b.toFile());
        assertFalse(ja.get("roi").get("mask_resampled").asBoolean());
        assertTrue(jb.get("roi").get("mask_resampled").asBoolean());
        assertEquals(ja.get("tasks"), jb.get("tasks"), "the same tumour voxels give the same probabilities");
        assertEquals(ja.get("tumour"), jb.get("tumour"));
        assertEquals(ja.get("roi").get("mask_voxel_lo_zyx"), jb.get("roi").get("mask_voxel_lo_zyx"));
    }

    @Test
    void theSameScanForTwoPhasesIsAWarning() throws IOException {
        Path copy = Files.copy(arterial, dir.resolve("arterial-copy.nii.gz"));
        Path out = dir.resolve("twice.json");
        Cli.Run r = predict(out, arterial, arterial, copy, mask);
        List<String> expected = List.of(
                "the arterial and venous phases are the same file (" + arterial + "): give each phase its own scan",
                "the arterial and delayed phases have identical voxels (" + arterial + ", " + copy
                        + "): the same scan given twice?",
                "the venous and delayed phases have identical voxels (" + arterial + ", " + copy
                        + "): the same scan given twice?");
        assertEquals(expected, warnings(r), r::toString);
        assertEquals(expected, warnings(JSON.readTree(out.toFile())));
        assertTrue(r.out().contains("report: " + out), r::toString);
    }

    /**
     * The phantom cut just above the tumour's centre slice: the tumour touches the scan's top (superior: the
     * phantom's k axis points to +z) and the 10 mm margin reaches beyond every phase.
     */
    @Test
    void aTumourAtTheScanEdgeIsAWarning() throws IOException {
        int top;
        try (Volume m = NiftiReader.read(mask)) {
            int lo = m.nz();
            int hi = -1;
            for (int z = 0; z < m.nz(); z++) {
                for (long i = (long) z * m.ny() * m.nx(); i < (long) (z + 1) * m.ny() * m.nx(); i++) {
                    if (m.get(i) != 0) {
                        lo = Math.min(lo, z);
                        hi = Math.max(hi, z);
                    }
                }
            }
            top = (lo + hi) / 2;
        }
        List<Path> cut = new ArrayList<>();
        for (Path f : List.of(arterial, venous, delayed, mask)) {
            Path c = dir.resolve("cut-" + f.getFileName());
            try (Volume v = NiftiReader.read(f);
                    Volume s = Volume.allocate(top + 1, v.ny(), v.nx(), v.geometry(), c.toString())) {
                for (long i = 0; i < s.voxelCount(); i++) {
                    s.set(i, v.get(i)); // the first top + 1 slices: same affine, the grid ends at slice top
                }
                NiftiWriter.write(s, c, f == mask ? NiftiDataType.UINT8 : NiftiDataType.INT16, "cut");
            }
            cut.add(c);
        }
        Path out = dir.resolve("edge.json");
        Cli.Run r = predict(out, cut.get(0), cut.get(1), cut.get(2), cut.get(3));
        List<String> w = warnings(r);
        assertEquals(4, w.size(), r::toString);
        assertEquals("the tumour touches the superior (z = " + top + ") edge of the arterial scan (" + cut.get(0)
                + "): it may continue beyond it, so its volume, diameter and crop may be incomplete", w.get(0));
        for (int p = 0; p < 3; p++) {
            String name = List.of("arterial", "venous", "delayed").get(p);
            assertTrue(w.get(1 + p).matches("the tumour region with its 10 mm margin reaches beyond the " + name
                    + " scan \\(" + java.util.regex.Pattern.quote(cut.get(p).toString()) + "\\), which covers \\d\\d%"
                    + " of it: the network sees -200 HU there"), w.get(1 + p));
        }
        assertEquals(w, warnings(JSON.readTree(out.toFile())));
    }

    @Test
    void reorientationIsChosenAndReported() throws IOException {
        Path none = dir.resolve("none.json");
        Path ras = dir.resolve("ras.json");
        predict(none, arterial, venous, delayed, mask);
        predict(ras, arterial, venous, delayed, mask, "--reorient", "ras");
        JsonNode a = JSON.readTree(none.toFile()).get("roi");
        JsonNode b = JSON.readTree(ras.toFile()).get("roi");
        assertEquals("none", a.get("reorientation").asText());
        assertEquals("LPS", a.get("network_axes").asText(), "the phantom is stored LPS, as DICOM converters write");
        assertEquals("ras", b.get("reorientation").asText());
        assertEquals("RAS", b.get("network_axes").asText());
        assertEquals(a.get("world_min_xyz_mm"), b.get("world_min_xyz_mm"), "the same region, along other axes");
        Cli.assertInputError(Cli.run("predict", "--model", model, "--arterial", arterial, "--venous", venous,
                "--delayed", delayed, "--mask", mask, "--out", dir.resolve("never.json"), "--reorient", "lps"),
                "--reorient lps: must be none or ras");
    }
}
