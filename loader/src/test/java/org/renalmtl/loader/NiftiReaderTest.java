package org.renalmtl.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading hand-built NIfTI files: every datatype, both versions and byte orders, scaling, qform/sform. */
class NiftiReaderTest {

    @TempDir
    Path dir;

    /** Stored test values per type, chosen to hit the type's extremes (unsigned ones above the signed range). */
    private static double[] valuesFor(NiftiDataType t) {
        double[] v = new double[24];
        for (int i = 0; i < v.length; i++) {
            v[i] = switch (t) {
                case UINT8 -> i == 0 ? 255 : i * 7;
                case INT8 -> i == 0 ? -128 : i * 5 - 60;
                case INT16 -> i == 0 ? -32768 : i * 1000 - 11000;
                case UINT16 -> i == 0 ? 65535 : i * 2000;
                case INT32 -> i == 0 ? -2_000_000 : i * 100_000 - 1_000_000;
                case UINT32 -> i == 0 ? 4_000_000_000.0 : i * 100_000;
                case INT64 -> i == 0 ? -5_000_000 : i * 123_456L;
                case UINT64 -> i * 99L;
                case FLOAT32, FLOAT64 -> i * 0.25 - 3.1;
            };
        }
        return v;
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    @Test
    void everyDatatypeVersionByteOrderAndCompressionReadsWithScaling() throws IOException {
        for (int version : new int[] {1, 2}) {
            for (ByteOrder order : new ByteOrder[] {ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN}) {
                for (NiftiDataType t : NiftiDataType.values()) {
                    for (boolean gz : new boolean[] {false, true}) {
                        NiftiBytes nb = new NiftiBytes();
                        nb.version = version;
                        nb.order = order;
                        nb.type = t;
                        nb.values = valuesFor(t);
                        nb.slope = 2;
                        nb.inter = -5;
                        byte[] raw = nb.build();
                        String name = "v" + version + "_" + order + "_" + t + (gz ? ".nii.gz" : ".nii");
                        Path p = write(name, gz ? NiftiBytes.gzip(raw) : raw);
                        try (Volume v = NiftiReader.read(p)) {
                            assertArrayEquals(new int[] {2, 3, 4}, v.shape(), name);
                            assertEquals(t, v.header().orElseThrow().dataType(), name);
                            assertEquals(version, v.header().orElseThrow().version(), name);
                            for (int i = 0; i < 24; i++) {
                                // float32 stores the test values exactly except the float64 ones, which are
                                // rounded once to float: compare with the same rounding.
                                float expected = (float) ((t == NiftiDataType.FLOAT32 ? (float) nb.values[i] : nb.values[i]) * 2 - 5);
                                assertEquals(expected, v.get(i), 0f, name + " voxel " + i);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void volumesSpanningManyReadChunksKeepEveryVoxelInPlace() throws IOException {
        // 96 x 80 x 70 = 537 600 voxels: 1.1 MB as int16, 4.3 MB as float64, i.e. several 1 MiB read chunks with
        // voxels of the second and later chunks landing at the right offsets.
        for (NiftiDataType t : new NiftiDataType[] {NiftiDataType.INT16, NiftiDataType.FLOAT64, NiftiDataType.UINT8}) {
            NiftiBytes nb = new NiftiBytes();
            nb.type = t;
            nb.order = ByteOrder.BIG_ENDIAN;
            nb.dim = new long[] {3, 96, 80, 70, 1, 1, 1, 1};
            nb.values = new double[96 * 80 * 70];
            for (int i = 0; i < nb.values.length; i++) {
                nb.values[i] = (i * 37L) % 251;
            }
            try (Volume v = NiftiReader.read(write("big_" + t + ".nii.gz", NiftiBytes.gzip(nb.build())))) {
                for (int i = 0; i < nb.values.length; i++) {
                    if (v.get(i) != (float) nb.values[i]) {
                        assertEquals((float) nb.values[i], v.get(i), t + " voxel " + i);
                    }
                }
            }
        }
    }

    @Test
    void headerExtensionsAreSkippedAndCompressionIsDetectedByContent() throws IOException {
        for (int version : new int[] {1, 2}) {
            NiftiBytes nb = new NiftiBytes();
            nb.version = version;
            nb.extensionBytes = 668; // vox_offset 1020 (v1) / 1212 (v2), as written by tools that store extensions
            for (int i = 0; i < 24; i++) {
                nb.values[i] = 100 + i;
            }
            // An uncompressed file named .nii.gz and a compressed one named .nii both read.
            try (Volume a = NiftiReader.read(write("ext" + version + ".nii.gz", nb.build()));
                 Volume b = NiftiReader.read(write("ext" + version + ".nii", NiftiBytes.gzip(nb.build())))) {
                for (int i = 0; i < 24; i++) {
                    assertEquals(100f + i, a.get(i));
                    assertEquals(100f + i, b.get(i));
                }
            }
        }
    }

    @Test
    void zeroOrNanSlopeMeansNoScaling() throws IOException {
        for (double slope : new double[] {0, Double.NaN}) {
            NiftiBytes nb = new NiftiBytes();
            nb.type = NiftiDataType.INT16;
            nb.values = valuesFor(NiftiDataType.INT16);
            nb.slope = slope;
            nb.inter = 100; // ignored when slope says "no scaling" (nifti1.h)
            try (Volume v = NiftiReader.read(write("s.nii", nb.build()))) {
                for (int i = 0; i < 24; i++) {
                    assertEquals((float) nb.values[i], v.get(i), 0f);
                }
            }
        }
    }

    @Test
    void voxelOrderIsXFastest() throws IOException {
        NiftiBytes nb = new NiftiBytes();
        for (int i = 0; i < 24; i++) {
            nb.values[i] = i;
        }
        try (Volume v = NiftiReader.read(write("o.nii", nb.build()))) {
            // dims (x, y, z) = (4, 3, 2): value = x + 4 y + 12 z
            assertEquals(4 * 2 + 12 * 1 + 3, v.get(1, 2, 3), 0f);
            assertEquals(2, v.nz());
            assertEquals(4, v.nx());
        }
    }

    @Test
    void sformIsPreferredWhenItsCodeIsSet() throws IOException {
        NiftiBytes nb = new NiftiBytes();
        nb.sformCode = 2;
        nb.srow = new double[] {0, 0, 2.5, -10, -0.8, 0, 0, 20, 0, 0.9, 0, 30};
        nb.qformCode = 1;
        nb.quatern = new double[] {0.1, 0.2, 0.3, 1, 2, 3};
        try (Volume v = NiftiReader.read(write("sf.nii.gz", NiftiBytes.gzip(nb.build())))) {
            Geometry g = v.geometry();
            assertArrayEquals(new double[] {0, 0, 2.5, -10, -0.8, 0, 0, 20, 0, 0.9, 0, 30, 0, 0, 0, 1}, g.affine(), 1e-6);
            assertEquals(2, g.sformCode());
            assertEquals(1, g.qformCode());
            // i -> -y (P), j -> +z (S), k -> +x (R)
            assertEquals("PSR", g.orientation());
            assertArrayEquals(new double[] {0.8, 0.9, 2.5}, g.spacing(), 1e-6);
        }
    }

    @Test
    void singularSformFallsBackToQformAndSingularAloneIsRefused() throws IOException {
        NiftiBytes nb = new NiftiBytes();
        nb.sformCode = 1;
        nb.srow = new double[12]; // all zero, as some broken writers leave it
        nb.qformCode = 1;
        nb.pixdim = new double[] {1, 2, 3, 4, 1, 1, 1, 1};
        nb.quatern = new double[] {0, 0, 0, 5, 6, 7};
        try (Volume v = NiftiReader.read(write("fallback.nii", nb.build()))) {
            assertArrayEquals(new double[] {2, 0, 0, 5, 0, 3, 0, 6, 0, 0, 4, 7, 0, 0, 0, 1}, v.geometry().affine(), 1e-9);
        }
        nb.qformCode = 0;
        Path p = write("singular.nii", nb.build());
        VolumeInputException e = assertThrows(VolumeInputException.class, () -> NiftiReader.read(p).close());
        assertEquals(p + ": voxel-to-world affine is singular or not finite (check srow)", e.getMessage());
    }

    @Test
    void qformIsUsedWhenSformCodeIsZero() throws IOException {
        // Expected affines from nibabel 5.0 (Nifti1Header.get_qform) for the same fields, printed with numpy.
        NiftiBytes nb = new NiftiBytes();
        nb.qformCode = 1;
        nb.pixdim = new double[] {-1, 2, 3, 4, 1, 1, 1, 1}; // qfac = -1
        nb.quatern = new double[] {0, 0, Math.sin(Math.PI / 4), 10, 20, 30}; // 90 degrees about z
        try (Volume v = NiftiReader.read(write("q1.nii", nb.build()))) {
            assertArrayEquals(new double[] {0, -3, 0, 10, 2, 0, 0, 20, 0, 0, -4, 30, 0, 0, 0, 1}, v.geometry().affine(), 1e-6);
        }
        nb.pixdim = new double[] {1, 1.5, 2, 2.5, 1, 1, 1, 1};
        nb.quatern = new double[] {0.1, -0.2, 0.3, -5, 7, 11};
        nb.qformCode = 2;
        nb.version = 2;
        try (Volume v = NiftiReader.read(write("q2.nii", nb.build()))) {
            // float64 fields in NIfTI-2: nibabel's numbers (computed from float32 NIfTI-1 fields) agree to 1e-7.
            assertArrayEquals(new double[] {
                1.10999997, -1.19283426, -0.77736185, -5,
                0.77462569, 1.59999997, -0.76368095, 7,
                0.64641712, 0.13094473, 2.24999999, 11,
                0, 0, 0, 1}, v.geometry().affine(), 1e-6);
        }
    }

    @Test
    void noCodesGiveDiagonalPixdimAndUnitsConvertToMm() throws IOException {
        NiftiBytes nb = new NiftiBytes();
        nb.pixdim = new double[] {1, 0.7, 0.8, 5, 1, 1, 1, 1};
        try (Volume v = NiftiReader.read(write("n.nii", nb.build()))) {
            assertArrayEquals(new double[] {0.7, 0, 0, 0, 0, 0.8, 0, 0, 0, 0, 5, 0, 0, 0, 0, 1}, v.geometry().affine(), 1e-6);
        }
        nb.units = 1; // metres
        nb.pixdim = new double[] {1, 0.0007, 0.0008, 0.005, 1, 1, 1, 1};
        try (Volume v = NiftiReader.read(write("m.nii", nb.build()))) {
            assertArrayEquals(new double[] {0.7, 0.8, 5}, v.geometry().spacing(), 1e-6);
        }
    }

    @Test
    void fourDimensionalFileWithOneTimePointIsAccepted() throws IOException {
        NiftiBytes nb = new NiftiBytes();
        nb.dim = new long[] {4, 4, 3, 2, 1, 1, 1, 1};
        try (Volume v = NiftiReader.read(write("t.nii", nb.build()))) {
            assertArrayEquals(new int[] {2, 3, 4}, v.shape());
        }
    }
}
