package org.renalmtl.loader.preprocess;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.loader.Geometry;
import org.renalmtl.loader.MaskSelection;
import org.renalmtl.loader.NiftiReader;
import org.renalmtl.loader.Volume;
import org.renalmtl.loader.phantom.Phantom;
import org.renalmtl.loader.phantom.PhantomCase;
import org.renalmtl.loader.phantom.PhantomOptions;

/**
 * {@link Reorientation#RAS} against nibabel 5.0 as the oracle: the axes it chooses are nibabel's
 * {@code io_orientation}, and the crop it makes is the default crop of nibabel's {@code as_closest_canonical} of the
 * same files.
 */
class ReorientationTest {
    private static final PreprocessingSpec SPEC = new PreprocessingSpec(new int[] {40, 48, 56}, new double[] {1.1, 0.9, 1.0},
        10, -200, 300, Normalisation.ZSCORE, 60, 80);

    /**
     * Writes each phase and the mask re-stored under another voxel order and direction, and their canonical forms, as
     * NIfTI-2, whose affine is float64: the comparison is then not blurred by float32 rounding of the affines.
     */
    private static final String VARIANTS = """
        import sys, os, nibabel as nib, numpy as np
        src, out = sys.argv[1], sys.argv[2]
        def rot(ax, deg):
            c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
            i, j = [a for a in range(3) if a != ax]
            r = np.eye(4); r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
            return r
        variants = {
            'stored': (None, np.eye(4)),                          # the phantom's own LPS order
            'sagittal': ([[2, -1], [0, 1], [1, -1]], np.eye(4)),   # axes permuted and flipped: a sagittal-like file
            'oblique': ([[1, 1], [2, -1], [0, 1]], rot(2, 25) @ rot(0, 12)),  # and turned in the world
        }
        for name, (ornt, world) in variants.items():
            for f in ['arterial', 'venous', 'delayed', 'mask']:
                img = nib.load(os.path.join(src, f + '.nii.gz'))
                if ornt is not None:
                    img = img.as_reoriented(np.array(ornt))
                img = nib.Nifti2Image(np.asarray(img.dataobj), world @ img.affine)
                nib.save(img, os.path.join(out, name + '_' + f + '.nii.gz'))
                can = nib.as_closest_canonical(img)
                nib.save(nib.Nifti2Image(np.asarray(can.dataobj), can.affine), os.path.join(out, name + '_canonical_' + f + '.nii.gz'))
                if f == 'arterial':
                    print(name, ''.join(nib.aff2axcodes(img.affine)), ''.join(nib.aff2axcodes(can.affine)))
        """;

    private static final String IO_ORIENTATION = """
        import sys, numpy as np
        from nibabel.orientations import io_orientation
        for line in open(sys.argv[1]):
            a = np.array([float(v) for v in line.split()]).reshape(4, 4)
            print(' '.join('%d %d' % (o[0], o[1]) for o in io_orientation(a)))
        """;

    @TempDir
    Path dir;

    @Test
    void rasCropIsTheCropOfNibabelsClosestCanonical() throws IOException {
        try (PhantomCase c = Phantom.generate(5, PhantomOptions.defaults().withShiftedDelayed(true))) {
            c.writeTo(dir);
        }
        String printed = MaskOnAnotherGridTest.python(VARIANTS, dir.toString(), dir.toString());
        assertEquals(List.of("stored LPS RAS", "sagittal PIR RAS", "oblique SLA RAS"), printed.lines().toList());
        float[] first = null;
        for (String v : List.of("stored", "sagittal", "oblique")) {
            try (Case stored = read(v + "_"); Case canonical = read(v + "_canonical_");
                    PreprocessedInput ras = Preprocessor.run(stored.phases, stored.mask, MaskSelection.largestComponent(),
                            SPEC.withReorientation(Reorientation.RAS));
                    PreprocessedInput ref = Preprocessor.run(canonical.phases, canonical.mask,
                            MaskSelection.largestComponent(), SPEC)) {
                // The same grid in the world, composed from different products of float64 affines: equal to 1e-9 mm.
                assertArrayEquals(ref.geometry().affine(), ras.geometry().affine(), 1e-9, v);
                assertEquals("RAS", canonical.phases.getFirst().geometry().orientation(), v);
                assertEquals("RAS", ras.geometry().orientation(), v);
                assertArrayEquals(ref.spacingMm(), ras.spacingMm(), 1e-12, v);
                assertArrayEquals(ref.roi().worldMin(), ras.roi().worldMin(), 1e-9, v);
                assertArrayEquals(ref.roi().worldMax(), ras.roi().worldMax(), 1e-9, v);
                // Sample positions agree to ~1e-12 voxel, so trilinear values to float32 rounding (z-scores of at most
                // 3, rounded to 2.4e-7; a few roundings apart).
                float[] a = floats(ras);
                float[] b = floats(ref);
                double worst = 0;
                for (int i = 0; i < a.length; i++) {
                    worst = Math.max(worst, Math.abs(a[i] - b[i]));
                }
                assertTrue(worst < 2e-6, v + ": max |difference| " + worst);
                if (first == null) {
                    first = a;
                } else if (!v.equals("oblique")) {
                    // Re-storing the same image in another voxel order does not change the RAS crop at all.
                    double w = 0;
                    for (int i = 0; i < a.length; i++) {
                        w = Math.max(w, Math.abs(a[i] - first[i]));
                    }
                    assertTrue(w < 2e-6, v + " vs stored: " + w);
                }
            }
        }
    }

    /** Without reorientation the crop follows the stored axes: the LPS phantom's crop is flipped in w and h. */
    @Test
    void noReorientationKeepsTheStoredAxes() {
        try (PhantomCase c = Phantom.generate(5, PhantomOptions.defaults().withNoise(0));
                PreprocessedInput none = Preprocessor.run(c.phases(), c.tumourMask(), MaskSelection.largestComponent(), SPEC);
                PreprocessedInput ras = Preprocessor.run(c.phases(), c.tumourMask(), MaskSelection.largestComponent(),
                        SPEC.withReorientation(Reorientation.RAS))) {
            assertEquals("LPS", none.geometry().orientation());
            assertEquals("RAS", ras.geometry().orientation());
            assertEquals(none.roi(), ras.roi(), "the ROI is reported in the reference phase's own voxels either way");
        }
    }

    @Test
    void closestAxesAreNibabelsIoOrientation() throws IOException {
        List<double[]> affines = new ArrayList<>();
        affines.add(Geometry.axisAligned(new double[] {1, 1, 1}, new double[] {0, 0, 0}).affine());
        affines.add(new double[] {-0.8, 0, 0, 1, 0, -0.8, 0, 2, 0, 0, 2.5, 3, 0, 0, 0, 1}); // LPS
        affines.add(new double[] {0, 0, -1, 0, 1.2, 0, 0, 0, 0, -3, 0, 0, 0, 0, 0, 1}); // permuted
        SplittableRandom rng = new SplittableRandom(2026);
        for (int n = 0; n < 60; n++) {
            double[] a = new double[16];
            for (int i = 0; i < 12; i++) {
                a[i] = rng.nextDouble(-2, 2);
            }
            a[15] = 1;
            affines.add(a); // oblique and sheared, either handedness
        }
        StringBuilder sb = new StringBuilder();
        for (double[] a : affines) {
            for (double v : a) {
                sb.append(String.format(Locale.ROOT, "%.17g ", v));
            }
            sb.append('\n');
        }
        Path f = Files.writeString(dir.resolve("affines.txt"), sb.toString());
        List<String> expected = MaskOnAnotherGridTest.python(IO_ORIENTATION, f.toString()).lines().toList();
        assertEquals(affines.size(), expected.size());
        for (int n = 0; n < affines.size(); n++) {
            int[][] o = new Geometry(affines.get(n), 0, 0).closestAxes();
            String got = o[0][0] + " " + o[0][1] + " " + o[1][0] + " " + o[1][1] + " " + o[2][0] + " " + o[2][1];
            assertEquals(expected.get(n), got, "affine " + n);
        }
    }

    private record Case(List<Volume> phases, Volume mask) implements AutoCloseable {
        @Override
        public void close() {
            phases.forEach(Volume::close);
            mask.close();
        }
    }

    private Case read(String prefix) {
        List<Volume> phases = new ArrayList<>();
        for (String p : PhantomCase.PHASE_NAMES) {
            phases.add(NiftiReader.read(dir.resolve(prefix + p + ".nii.gz")));
        }
        return new Case(phases, NiftiReader.read(dir.resolve(prefix + "mask.nii.gz")));
    }

    private static float[] floats(PreprocessedInput in) {
        return in.data().toArray(ValueLayout.JAVA_FLOAT);
    }
}
