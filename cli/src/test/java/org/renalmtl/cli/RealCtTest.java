package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.engine.BuiltinModels;

/**
 * {@code predict} on the real CT (ENGINEERING.md §4): the small TotalSegmentator scan as all three
 * phases and its left-kidney mask as the "tumour". The report's measurements are checked against
 * numpy computed here from the same files, its model hash against {@code sha256sum}.
 */
class RealCtTest {
    /** testdata/ct of the repository (or $RENAL_MTL_DATA/ct), as the build passes it. */
    static final Path CT = Path.of(System.getProperty("renalmtl.testdata", "../testdata"), "ct");

    @TempDir
    static Path dir;

    static Path model;

    @BeforeAll
    static void writeModel() {
        model = dir.resolve("M.h5");
        BuiltinModels.write(BuiltinModels.Kind.MTDL, 2026, model);
    }

    /**
     * numpy reference for a 0/1 mask on the CT's grid (the left kidney mask is one component). It reads
     * the NIfTI-1 files itself (gzip + the header fields it needs, sform affine) so that it depends only
     * on numpy, which CI has; nibabel gives the same figures (loader/README.md, the loader's RealCtTest).
     */
    private static final String REFERENCE = """
            import gzip, json, struct, sys
            import numpy as np
            def load(path):
                raw = gzip.open(path).read()
                assert struct.unpack_from("<i", raw, 0)[0] == 348, "little-endian NIfTI-1 expected"
                dim = struct.unpack_from("<8h", raw, 40)
                dtype = {2: "<u1", 4: "<i2", 8: "<i4", 16: "<f4", 64: "<f8", 512: "<u2"}[struct.unpack_from("<h", raw, 70)[0]]
                offset = int(struct.unpack_from("<f", raw, 108)[0])
                slope, inter = struct.unpack_from("<2f", raw, 112)
                assert struct.unpack_from("<h", raw, 254)[0] > 0, "sform expected"
                aff = np.vstack([np.array(struct.unpack_from("<12f", raw, 280), np.float64).reshape(3, 4), [0, 0, 0, 1]])
                n = dim[1] * dim[2] * dim[3]
                data = np.frombuffer(raw, dtype, n, offset).astype(np.float64).reshape(dim[3], dim[2], dim[1])  # z, y, x
                if slope not in (0.0,) and slope == slope:
                    data = data * slope + inter
                return data, aff
            hu, a1 = load(sys.argv[1]); m, a2 = load(sys.argv[2])
            assert np.allclose(a1, a2) and hu.shape == m.shape
            sel = m != 0
            kji = np.argwhere(sel).astype(np.float64)
            xyz = kji[:, ::-1] @ a2[:3, :3].T + a2[:3, 3]
            best = 0.0
            for i in range(0, len(xyz), 512):
                d = xyz[i:i + 512, None, :] - xyz[None, :, :]
                best = max(best, float(np.sqrt((d * d).sum(-1)).max()))
            v = hu[sel]
            print(json.dumps({"voxels": int(sel.sum()),
                              "volume_ml": float(sel.sum() * abs(np.linalg.det(a2[:3, :3])) / 1000),
                              "max_diameter_mm": best, "mean": float(v.mean()), "sd": float(v.std(ddof=1))}))
            """;

    @Test
    void kidneyAsTumourGivesPhysicallyRightReport() throws IOException {
        Path ct = CT.resolve("example_ct_sm.nii.gz");
        Path kidney = CT.resolve("example_seg_fast_kidney_left.nii.gz");
        Path out = dir.resolve("kidney.json");
        Cli.Run r = Cli.ok("predict", "--model", model, "--arterial", ct, "--venous", ct, "--delayed", ct, "--mask", kidney,
                "--out", out, "--device", "cpu");
        assertTrue(r.out().contains("report: " + out), r::toString);
        JsonNode j = new ObjectMapper().readTree(out.toFile());
        // Written through an owner-only temporary file, renamed into place readable by all (like the NIfTI outputs).
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));
        assertEquals(List.of("M.h5", "kidney.json"), Cli.listing(dir), "no temporary file left");

        Cli.Run py = Cli.exec(dir, List.of("/usr/bin/python3", "-c", REFERENCE, ct.toString(), kidney.toString()));
        assertEquals(0, py.code(), py::toString);
        JsonNode ref = new ObjectMapper().readTree(py.out());
        // nibabel's figures (loader's RealCtTest): 3676 voxels of 27 mm³ = 99.252 ml, max diameter 91.2907 mm,
        // HU mean 15.2032, SD 29.5100; the numpy reader above must agree before it is used as the reference.
        assertEquals(3676, ref.get("voxels").asInt());
        assertEquals(99.252, ref.get("volume_ml").asDouble(), 1e-9);
        assertEquals(91.29074432821763, ref.get("max_diameter_mm").asDouble(), 1e-6);
        assertEquals(15.203210010881392, ref.get("mean").asDouble(), 1e-9);
        assertEquals(29.510026900228503, ref.get("sd").asDouble(), 1e-9);

        JsonNode t = j.get("tumour");
        assertEquals(ref.get("voxels").asInt(), t.get("voxels").asInt());
        // Volume is voxels x 27 mm³ (exact in binary up to the affine's float32 spacing): 1e-9 ml.
        assertEquals(ref.get("volume_ml").asDouble(), t.get("volume_ml").asDouble(), 1e-9);
        assertEquals(99.25, t.get("volume_ml").asDouble(), 0.005);
        // Exact farthest pair of voxel centres both ways; only floating-point rounding differs.
        assertEquals(ref.get("max_diameter_mm").asDouble(), t.get("max_diameter_mm").asDouble(), 1e-6);
        assertEquals(3, t.get("renal_r_points").asInt(), "R.E.N.A.L. R: 91 mm >= 70 mm scores 3");
        for (String phase : List.of("arterial", "venous", "delayed")) {
            JsonNode hu = t.get("hu").get(phase);
            // int16 HU summed in double on both sides: agreement to 1e-9 HU.
            assertEquals(ref.get("mean").asDouble(), hu.get("mean").asDouble(), 1e-9, phase);
            assertEquals(ref.get("sd").asDouble(), hu.get("sd").asDouble(), 1e-9, phase);
            assertEquals(15.2, hu.get("mean").asDouble(), 0.05, "loader/README.md: mean HU 15.2 in the left kidney");
        }

        Cli.Run sha = Cli.exec(dir, List.of("sha256sum", model.toString()));
        assertEquals(0, sha.code(), sha::toString);
        assertEquals(sha.out().split("\\s+")[0], j.get("model").get("sha256").asText());
        assertEquals(model.toString(), j.get("model").get("file").asText());

        JsonNode timings = j.get("timings");
        for (String k : List.of("load_s", "preprocess_s", "measure_s", "inference_s", "total_s")) {
            assertTrue(timings.has(k) && timings.get(k).asDouble() >= 0, "timing " + k + " in " + timings);
        }
        assertTrue(timings.get("total_s").asDouble() >= timings.get("inference_s").asDouble());

        JsonNode tasks = j.get("tasks");
        assertEquals(List.of("ccrcc", "stage", "renal"), iterableNames(tasks));
        for (JsonNode task : tasks) {
            double p = task.get("probability").asDouble();
            assertTrue(p >= 0 && p <= 1, "probability " + p);
            assertEquals(p >= task.get("threshold").asDouble(), task.get("positive").asBoolean());
        }
        assertEquals(ct.toString(), j.get("inputs").get("venous").asText());
        assertEquals(kidney.toString(), j.get("inputs").get("mask").asText());
        // The kidney's bounding box (23 x 23 x 22 voxels of ~3 mm) plus 10 mm margins fits 96 mm at 1 mm, so no
        // scaling; the mask reaches slice 0 (the scan ends inside the kidney), so part of the ROI lies outside
        // every phase and coverage is below 1.
        JsonNode roi = j.get("roi");
        assertFalse(roi.get("scaled_to_fit").asBoolean(), roi::toString);
        assertEquals(0, roi.get("mask_voxel_lo_zyx").get(0).asInt(), roi::toString);
        assertEquals(1, roi.get("mask_components").asInt());
        for (JsonNode c : roi.get("phase_coverage")) {
            assertTrue(c.asDouble() > 0.5 && c.asDouble() < 1, roi::toString);
        }
    }

    private static List<String> iterableNames(JsonNode o) {
        List<String> names = new ArrayList<>();
        o.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
