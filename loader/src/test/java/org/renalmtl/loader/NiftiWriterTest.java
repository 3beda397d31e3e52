package org.renalmtl.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The writer keeps geometry and values. */
class NiftiWriterTest {

    @TempDir
    Path dir;

    /** Oblique LPS-like grid: rotation of 0.2 rad about z, flipped x and y, anisotropic. */
    static final Geometry G = new Geometry(new double[] {
        -0.8 * Math.cos(0.2), 0.8 * Math.sin(0.2), 0, 101.5,
        -0.8 * Math.sin(0.2), -0.8 * Math.cos(0.2), 0, 77.25,
        0, 0, 2.5, -160,
        0, 0, 0, 1}, 1, 1);

    /** A left-handed grid (det < 0: qfac = -1 in the qform), tilted about x, as from an oblique acquisition. */
    static final Geometry LEFT_HANDED = new Geometry(new double[] {
        0.7, 0, 0, -90,
        0, 0.7 * Math.cos(0.3), 2.0 * Math.sin(0.3), -40,
        0, 0.7 * Math.sin(0.3), -2.0 * Math.cos(0.3), 60,
        0, 0, 0, 1}, 2, 0);

    @Test
    void floatRoundTripKeepsValuesAndGeometryAndQformMatchesSform() {
        for (String name : new String[] {"p.nii.gz", "p.nii", "left.nii.gz"}) {
            Path p = dir.resolve(name);
            Geometry geom = name.startsWith("left") ? LEFT_HANDED : G;
            try (Volume v = Volume.allocate(5, 6, 7, geom, "prob")) {
                for (long i = 0; i < v.voxelCount(); i++) {
                    v.set(i, (float) Math.sin(i * 0.37));
                }
                NiftiWriter.writeFloat(v, p);
                try (Volume r = NiftiReader.read(p)) {
                    assertArrayEquals(v.shape(), r.shape());
                    for (long i = 0; i < v.voxelCount(); i++) {
                        assertEquals(v.get(i), r.get(i), 0f);
                    }
                    // The sform holds float32 values: relative error ~6e-8 of 160 mm.
                    assertArrayEquals(geom.affine(), r.geometry().affine(), 2e-5);
                    assertEquals(name.startsWith("left") ? "RAI" : "LPS", r.geometry().orientation());
                }
                // The same file read through its qform only (sform code forced to 0) gives the same grid.
                NiftiHeader h = NiftiReader.readHeader(p);
                // Codes: the source's qform code when set, else the sform code written (2 here, aligned)
                assertEquals(name.startsWith("left") ? 2 : 1, h.qformCode());
                assertEquals(name.startsWith("left") ? -1 : 1, h.pixdim()[0], 0); // qfac
                NiftiHeader qOnly = new NiftiHeader(h.version(), h.byteOrder(), h.dim(), h.dataType(), h.pixdim(), h.voxOffset(),
                    h.sclSlope(), h.sclInter(), h.qformCode(), 0, h.quatern(), h.srow(), h.xyztUnits(), h.descrip());
                assertArrayEquals(geom.affine(), qOnly.geometry(name).affine(), 1e-4);
            }
        }
    }

    @Test
    void maskAndInt16AreRoundedAndClamped() {
        Path m = dir.resolve("m.nii.gz");
        Path s = dir.resolve("s.nii.gz");
        try (Volume v = Volume.allocate(1, 1, 6, G, "m")) {
            float[] in = {-3f, 0.4f, 0.6f, 2f, 254.6f, 70000f};
            for (int i = 0; i < in.length; i++) {
                v.set(i, in[i]);
            }
            NiftiWriter.writeMask(v, m);
            NiftiWriter.write(v, s, NiftiDataType.INT16, "test");
            try (Volume r = NiftiReader.read(m); Volume t = NiftiReader.read(s)) {
                assertEquals(NiftiDataType.UINT8, r.header().orElseThrow().dataType());
                assertArrayEquals(new float[] {0, 0, 1, 2, 255, 255}, values(r));
                assertArrayEquals(new float[] {-3, 0, 1, 2, 255, 32767}, values(t));
                assertEquals("test", t.header().orElseThrow().descrip());
            }
        }
    }

    @Test
    void rewritingReplacesTheFile() {
        Path p = dir.resolve("x.nii.gz");
        try (Volume v = Volume.allocate(1, 1, 2, G, "x")) {
            v.set(0, 1);
            NiftiWriter.writeMask(v, p);
            v.set(0, 3);
            NiftiWriter.writeMask(v, p);
            try (Volume r = NiftiReader.read(p)) {
                assertEquals(3f, r.get(0));
            }
        }
    }

    private static float[] values(Volume v) {
        float[] f = new float[(int) v.voxelCount()];
        for (int i = 0; i < f.length; i++) {
            f[i] = v.get(i);
        }
        return f;
    }
}
