package org.renalmtl.loader.preprocess;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.loader.Geometry;
import org.renalmtl.loader.MaskSelection;
import org.renalmtl.loader.NiftiReader;
import org.renalmtl.loader.NiftiWriter;
import org.renalmtl.loader.Resampler;
import org.renalmtl.loader.Volume;
import org.renalmtl.loader.VolumeInputException;
import org.renalmtl.loader.phantom.Phantom;
import org.renalmtl.loader.phantom.PhantomCase;
import org.renalmtl.loader.phantom.PhantomOptions;

/**
 * A tumour mask on another grid than the reference phase is resampled onto it, nearest neighbour in world space.
 * Oracle: nibabel's {@code resample_from_to(mask, reference, order=0)} (scipy's {@code map_coordinates}), an
 * independent implementation; the mask lies on an oblique, finer grid so that no reference voxel centre falls
 * half-way between two mask voxel centres (where the two could round differently).
 */
class MaskOnAnotherGridTest {
    private static final PreprocessingSpec SPEC = new PreprocessingSpec(new int[] {48, 48, 48}, new double[] {1, 1, 1},
        10, -200, 300, Normalisation.WINDOW, 0, 1);

    private static final String NIBABEL = """
        import sys, nibabel as nib, numpy as np
        from nibabel.processing import resample_from_to
        mask, ref, out = nib.load(sys.argv[1]), nib.load(sys.argv[2]), sys.argv[3]
        r = resample_from_to(mask, ref, order=0, mode='constant', cval=0)
        nib.save(nib.Nifti1Image(np.asarray(r.dataobj).astype(np.uint8), ref.affine), out)
        """;

    @TempDir
    Path dir;

    @Test
    void obliqueMaskGivesTheRegionOfNibabelsResampledMask() throws IOException {
        try (PhantomCase c = Phantom.generate(3, PhantomOptions.defaults().withNoise(0));
                Volume oblique = Resampler.resample(c.tumourMask(), 70, 90, 100, obliqueGrid(c.truth().centreMm()),
                        Resampler.Interpolation.NEAREST, 0f)) {
            Path maskFile = dir.resolve("oblique-mask.nii.gz");
            Path refFile = dir.resolve("arterial.nii.gz");
            NiftiWriter.writeMask(oblique, maskFile);
            NiftiWriter.writeFloat(c.arterial(), refFile);
            Path expectedFile = dir.resolve("nibabel-resampled.nii.gz");
            python(NIBABEL, maskFile.toString(), refFile.toString(), expectedFile.toString());
            try (Volume mask = NiftiReader.read(maskFile); Volume expected = NiftiReader.read(expectedFile);
                    Volume ours = Resampler.resampleLike(mask, c.arterial(), Resampler.Interpolation.NEAREST, 0f)) {
                long tumour = 0;
                for (long i = 0; i < ours.voxelCount(); i++) {
                    assertEquals(expected.get(i), ours.get(i), "voxel " + i);
                    tumour += ours.get(i) != 0 ? 1 : 0;
                }
                assertTrue(tumour > 5000, "the whole tumour is on the oblique grid: " + tumour + " voxels");
                try (PreprocessedInput a = Preprocessor.run(c.phases(), mask, MaskSelection.largestComponent(), SPEC);
                        PreprocessedInput b = Preprocessor.run(c.phases(), expected, MaskSelection.largestComponent(), SPEC)) {
                    assertTrue(a.maskResampled());
                    assertFalse(b.maskResampled());
                    assertEquals(b.roi(), a.roi());
                    assertEquals(tumour, a.roi().maskVoxels());
                    assertArrayEquals(b.geometry().affine(), a.geometry().affine(), 0.0);
                    assertEquals(-1, a.data().mismatch(b.data()), "the same region gives the same network input");
                }
            }
        }
    }

    @Test
    void aMaskThatMissesTheScanIsRefused() {
        try (PhantomCase c = Phantom.generate(3, PhantomOptions.defaults().withNoise(0))) {
            double[] far = c.tumourMask().geometry().affine();
            far[11] += 1000; // 1 m above
            try (Volume away = Resampler.resample(c.tumourMask(), c.tumourMask().nz(), c.tumourMask().ny(),
                    c.tumourMask().nx(), new Geometry(far, 1, 1), Resampler.Interpolation.NEAREST, 0f)) {
                away.set(10, 10, 10, 1); // not empty: the grid itself lies elsewhere
                VolumeInputException e = assertThrows(VolumeInputException.class,
                        () -> Preprocessor.run(c.phases(), away, MaskSelection.largestComponent(), SPEC));
                assertTrue(e.getMessage().startsWith(away.source() + ": mask does not overlap reference phase "
                        + c.arterial().source() + " (mask grid world box"), e.getMessage());
                assertTrue(e.getMessage().endsWith("is it the mask of another scan?"), e.getMessage());
            }
            // A grid reaching 10 mm into the scan above its top slice, labelled only where the scan is not.
            double[] above = c.tumourMask().geometry().affine();
            above[11] += 150;
            try (Volume top = Volume.allocate(64, 192, 192, new Geometry(above, 1, 1), "top-mask.nii.gz")) {
                for (int y = 90; y < 100; y++) {
                    top.set(60, y, 95, 1);
                }
                VolumeInputException e = assertThrows(VolumeInputException.class,
                        () -> Preprocessor.run(c.phases(), top, MaskSelection.largestComponent(), SPEC));
                assertEquals("top-mask.nii.gz: mask is on another grid than reference phase " + c.arterial().source()
                        + ", and its voxels with a non-zero label all lie outside that phase's scan", e.getMessage());
                // An empty mask on another grid is reported as empty.
                top.set(60, 90, 95, 0);
                for (int y = 91; y < 100; y++) {
                    top.set(60, y, 95, 0);
                }
                e = assertThrows(VolumeInputException.class,
                        () -> Preprocessor.run(c.phases(), top, MaskSelection.ofLabel(2), SPEC));
                assertEquals("top-mask.nii.gz: mask is empty (no voxel with label 2)", e.getMessage());
            }
        }
    }

    /** 0.7 × 0.65 × 1.3 mm voxels, turned 10° about z and 5° about x, centred on {@code centre} (RAS mm). */
    private static Geometry obliqueGrid(double[] centre) {
        double cz = Math.cos(Math.toRadians(10));
        double sz = Math.sin(Math.toRadians(10));
        double cx = Math.cos(Math.toRadians(5));
        double sx = Math.sin(Math.toRadians(5));
        double[][] r = { // Rx · Rz
            {cz, -sz, 0},
            {cx * sz, cx * cz, -sx},
            {sx * sz, sx * cz, cx}};
        double[] sp = {0.7, 0.65, 1.3};
        int[] n = {100, 90, 70}; // (x, y, z)
        double[] a = new double[16];
        for (int row = 0; row < 3; row++) {
            double t = centre[row];
            for (int col = 0; col < 3; col++) {
                a[row * 4 + col] = r[row][col] * sp[col];
                t -= r[row][col] * sp[col] * (n[col] - 1) / 2.0;
            }
            a[row * 4 + 3] = t;
        }
        a[15] = 1;
        return new Geometry(a, 0, 0);
    }

    static String python(String script, String... args) throws IOException {
        List<String> cmd = new java.util.ArrayList<>(List.of("/usr/bin/python3", "-c", script.stripIndent()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            assertTrue(p.waitFor(300, TimeUnit.SECONDS), "python timed out");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        assertEquals(0, p.exitValue(), () -> "/usr/bin/python3 with nibabel and scipy failed:\n" + out);
        return out;
    }
}
