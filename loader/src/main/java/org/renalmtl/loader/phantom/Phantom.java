package org.renalmtl.loader.phantom;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.renalmtl.loader.Geometry;
import org.renalmtl.loader.NiftiWriter;
import org.renalmtl.loader.Volume;
import org.renalmtl.loader.VolumeInputException;
import org.renalmtl.loader.measure.TumourMeasurer;

/**
 * A synthetic three-phase renal CT: an abdomen cross-section (air, abdominal wall, soft tissue, spine, aorta)
 * with the right kidney (cortex, medulla, renal sinus fat) in perirenal fat, and an ellipsoidal tumour on the kidney's
 * lateral upper part, partly exophytic, enhancing like a clear-cell carcinoma (bright in the arterial phase,
 * washing out later). Cortex and medulla differ most in the arterial phase, as in real scans.
 *
 * <p>Grid: LPS voxel order as produced by DICOM converters (affine diag(−sx, −sy, sz), qform and sform code 1),
 * centred on the world origin. Every tissue is defined analytically in world millimetres and each voxel takes
 * the tissue at its centre, so masks and images agree exactly and a phase on another grid shows the same
 * anatomy. Deterministic for a given seed (noise comes from one random stream per phase and slice).
 */
public final class Phantom {

    /** Tissues, in drawing priority from lowest. */
    private enum Tissue { AIR, WALL, SOFT, PERIRENAL_FAT, BONE, AORTA, SINUS_FAT, MEDULLA, CORTEX, TUMOUR }

    // HU per tissue (rows, Tissue order) and phase (columns: arterial, venous, delayed). Typical published
    // values: cortex ~180 HU arterial, medulla catching up in the nephrographic phase, ccRCC ~150 HU arterial
    // with wash-out, aorta ~330 HU arterial.
    private static final double[][] HU = {
        {-1000, -1000, -1000},
        {45, 55, 50},
        {40, 60, 55},
        {-100, -100, -100},
        {450, 450, 450},
        {330, 170, 120},
        {-80, -80, -80},
        {75, 155, 135},
        {180, 165, 125},
        {150, 115, 75},
    };

    private Phantom() {
    }

    /**
     * Generates one case.
     *
     * @param seed    random seed (noise only; the anatomy is fixed by the options)
     * @param options grid, tumour and noise
     * @return the case; close it when done
     */
    public static PhantomCase generate(long seed, PhantomOptions options) {
        Anatomy an = new Anatomy(options);
        Geometry g = grid(options.nx(), options.ny(), options.nz(), options.spacingMm(), 0, 0);
        int nx = options.nx();
        int ny = options.ny();
        int nz = options.nz();
        Volume arterial = null;
        Volume venous = null;
        Volume delayed = null;
        Volume tumour = null;
        Volume kidney = null;
        try {
            arterial = Volume.allocate(nz, ny, nx, g, "phantom arterial (seed " + seed + ")");
            venous = Volume.allocate(nz, ny, nx, g, "phantom venous (seed " + seed + ")");
            tumour = Volume.allocate(nz, ny, nx, g, "phantom tumour mask (seed " + seed + ")");
            kidney = Volume.allocate(nz, ny, nx, g, "phantom kidney mask (seed " + seed + ")");
            double noise = options.noiseSdHu();
            if (options.shiftedDelayed()) {
                double[] sp = options.spacingMm();
                double dz = 3.0;
                int nzD = (int) Math.round(nz * sp[2] / dz);
                Geometry gd = grid(nx, ny, nzD, new double[] {sp[0], sp[1], dz}, 0.4, 1.3);
                delayed = Volume.allocate(nzD, ny, nx, gd, "phantom delayed (seed " + seed + ")");
                render(an, seed, new Volume[] {arterial, venous}, new int[] {0, 1}, tumour, kidney, noise);
                render(an, seed, new Volume[] {delayed}, new int[] {2}, null, null, noise);
            } else {
                delayed = Volume.allocate(nz, ny, nx, g, "phantom delayed (seed " + seed + ")");
                render(an, seed, new Volume[] {arterial, venous, delayed}, new int[] {0, 1, 2}, tumour, kidney, noise);
            }
            return new PhantomCase(arterial, venous, delayed, tumour, kidney, an.truth(), seed);
        } catch (RuntimeException | Error e) {
            for (Volume v : new Volume[] {arterial, venous, delayed, tumour, kidney}) {
                if (v != null) {
                    v.close();
                }
            }
            throw e;
        }
    }

    /**
     * Writes one phantom case into {@code dir} (created if missing): the files of {@link PhantomCase#writeTo}
     * and {@code truth.csv} (volume_ml,max_diameter_mm,renal_r,semi_axis_x_mm,semi_axis_y_mm,semi_axis_z_mm).
     *
     * @param dir output directory
     * @param seed the phantom's seed
     * @param options grid, noise and tumour
     * @return the analytic truth of the case
     * @throws VolumeInputException if the tumour does not fit or the directory cannot be written
     */
    public static PhantomTruth writeCase(Path dir, long seed, PhantomOptions options) {
        checkFits(options);
        createDirectories(dir);
        try (PhantomCase c = generate(seed, options)) {
            c.writeTo(dir);
            PhantomTruth t = c.truth();
            writeText(dir.resolve("truth.csv"), String.format(Locale.ROOT,
                    "volume_ml,max_diameter_mm,renal_r,semi_axis_x_mm,semi_axis_y_mm,semi_axis_z_mm%n"
                    + "%.4f,%.4f,%d,%.4f,%.4f,%.4f%n", t.volumeMl(), t.maxDiameterMm(), t.renalRPoints(),
                    t.semiAxesMm()[0], t.semiAxesMm()[1], t.semiAxesMm()[2]));
            return t;
        }
    }

    /**
     * Writes a cohort of {@code cases} phantoms: {@code dir/case_000/{arterial,venous,delayed,mask,kidney}.nii.gz},
     * then {@code dir/cases.csv} (columns case_id,arterial,venous,delayed,mask; paths relative to the directory
     * holding cases.csv) and {@code dir/truth.csv} (case_id,volume_ml,max_diameter_mm,renal_r,semi_axis_x_mm,
     * semi_axis_y_mm,semi_axis_z_mm, analytic values). Tumour sizes cycle through the three R.E.N.A.L. R classes
     * (largest semi-axis 8–19 mm, 22–33 mm, 37.5–44 mm, so that even a voxelised diameter stays in its class).
     * The CSV files are written last, each through a temporary file and a rename.
     *
     * @param dir     output directory (created if missing)
     * @param cases   number of cases, at least 1
     * @param seed    seed of case 0; case i uses seed + i
     * @param options grid and noise (the tumour size is drawn per case)
     * @return path of cases.csv
     */
    public static Path writeCohort(Path dir, int cases, long seed, PhantomOptions options) {
        if (cases < 1) {
            throw new IllegalArgumentException("number of cases must be at least 1, got " + cases);
        }
        createDirectories(dir);
        StringBuilder csv = new StringBuilder("case_id,arterial,venous,delayed,mask\n");
        StringBuilder truth = new StringBuilder("case_id,volume_ml,max_diameter_mm,renal_r,semi_axis_x_mm,semi_axis_y_mm,semi_axis_z_mm\n");
        for (int i = 0; i < cases; i++) {
            String id = String.format(Locale.ROOT, "case_%03d", i);
            Path caseDir = dir.resolve(id);
            createDirectories(caseDir);
            double[] axes = cohortTumour(seed + i, i);
            try (PhantomCase c = generate(seed + i, options.withTumour(axes))) {
                c.writeTo(caseDir);
                PhantomTruth t = c.truth();
                csv.append(id).append(',').append(id).append("/arterial.nii.gz,").append(id).append("/venous.nii.gz,")
                    .append(id).append("/delayed.nii.gz,").append(id).append("/mask.nii.gz\n");
                truth.append(String.format(Locale.ROOT, "%s,%.4f,%.4f,%d,%.4f,%.4f,%.4f%n", id, t.volumeMl(), t.maxDiameterMm(),
                    t.renalRPoints(), axes[0], axes[1], axes[2]));
            }
        }
        writeText(dir.resolve("truth.csv"), truth.toString());
        Path out = dir.resolve("cases.csv");
        writeText(out, csv.toString());
        return out;
    }

    /**
     * Refuses options whose tumour does not fit in the field of view.
     *
     * @param options the options
     * @throws VolumeInputException naming the tumour size
     */
    public static void checkFits(PhantomOptions options) {
        try {
            new Anatomy(options);
        } catch (IllegalArgumentException e) {
            throw new VolumeInputException("--tumour-mm: " + e.getMessage(), e);
        }
    }

    /** Tumour semi-axes (x, y, z) for cohort case {@code i}: its R class cycles 1, 2, 3. */
    static double[] cohortTumour(long seed, int i) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 17);
        double largest = switch (i % 3) {
            case 0 -> 8 + 11 * r.nextDouble();
            case 1 -> 22 + 11 * r.nextDouble();
            default -> 37.5 + 6.5 * r.nextDouble();
        };
        double[] axes = {largest * (0.7 + 0.3 * r.nextDouble()), largest * (0.7 + 0.3 * r.nextDouble()), largest};
        int k = r.nextInt(3); // which world axis carries the largest semi-axis
        double t = axes[k];
        axes[k] = axes[2];
        axes[2] = t;
        return axes;
    }

    /** An LPS grid centred on the world origin, optionally shifted by (dx, 0, dz) mm. */
    private static Geometry grid(int nx, int ny, int nz, double[] sp, double dx, double dz) {
        return new Geometry(new double[] {
            -sp[0], 0, 0, (nx - 1) / 2.0 * sp[0] + dx,
            0, -sp[1], 0, (ny - 1) / 2.0 * sp[1],
            0, 0, sp[2], -(nz - 1) / 2.0 * sp[2] + dz,
            0, 0, 0, 1}, 1, 1);
    }

    private static void render(Anatomy an, long seed, Volume[] phases, int[] phaseIndex, Volume tumour, Volume kidney, double noise) {
        Volume first = phases[0];
        int nx = first.nx();
        int ny = first.ny();
        double[] a = first.geometry().affine(); // (4, 4) voxel -> world
        IntStream.range(0, first.nz()).parallel().forEach(k -> {
            SplittableRandom[] rng = new SplittableRandom[phases.length];
            for (int p = 0; p < phases.length; p++) {
                rng[p] = new SplittableRandom(seed * 1_000_003L + phaseIndex[p] * 65_537L + k);
            }
            for (int j = 0; j < ny; j++) {
                for (int i = 0; i < nx; i++) {
                    Tissue t = an.tissue(a[0] * i + a[1] * j + a[2] * k + a[3], a[4] * i + a[5] * j + a[6] * k + a[7],
                        a[8] * i + a[9] * j + a[10] * k + a[11]);
                    for (int p = 0; p < phases.length; p++) {
                        double v = HU[t.ordinal()][phaseIndex[p]] + (noise > 0 ? noise * rng[p].nextGaussian() : 0);
                        phases[p].set(k, j, i, (float) v);
                    }
                    if (tumour != null) {
                        tumour.set(k, j, i, t == Tissue.TUMOUR ? 1f : 0f);
                        kidney.set(k, j, i, t == Tissue.CORTEX || t == Tissue.MEDULLA ? 1f : 0f);
                    }
                }
            }
        });
    }

    private static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new VolumeInputException(dir + ": cannot create directory (" + NiftiWriter.reason(e) + ")", e);
        }
        if (!Files.isWritable(dir)) {
            throw new VolumeInputException(dir + ": cannot write: directory is not writable");
        }
    }

    /** Writes a text file through a temporary file and a rename. */
    static void writeText(Path file, String text) {
        Path tmp = null;
        try {
            tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName() + ".", ".tmp");
            NiftiWriter.publicReadable(tmp);
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            try {
                if (tmp != null) {
                    Files.deleteIfExists(tmp);
                }
            } catch (IOException ignored) {
                // The write already failed; report that.
            }
            throw new VolumeInputException(file + ": cannot write (" + NiftiWriter.reason(e) + ")", e);
        }
    }

    /** The analytic anatomy, in world mm, scaled to the field of view. */
    private static final class Anatomy {
        private final double hx; // half field of view along x, y, mm
        private final double hy;
        private final double f; // in-plane scale against the default 154 mm field of view
        private final double fz;
        private final double[] kidney; // centre x, y, z
        private final double[] kidneyAxes;
        private final double[] sinus; // renal sinus centre x, y, z (medial, at the hilum)
        private final double[] tumour;
        private final double[] tumourAxes;

        Anatomy(PhantomOptions o) {
            double[] sp = o.spacingMm();
            hx = o.nx() * sp[0] / 2;
            hy = o.ny() * sp[1] / 2;
            double hz = o.nz() * sp[2] / 2;
            f = Math.min(hx, hy) / 76.8;
            fz = Math.min(f, hz / 80);
            kidney = new double[] {34 * f, -20 * f, 0}; // the right kidney: RAS x > 0
            kidneyAxes = new double[] {28 * f, 24 * f, 50 * fz};
            sinus = new double[] {kidney[0] - 18 * f, kidney[1], kidney[2]};
            tumourAxes = o.tumourSemiAxesMm();
            double[] want = {kidney[0] + 12 * f, kidney[1] + 6 * f, kidney[2] + 12 * fz};
            double[] half = {hx, hy, hz};
            tumour = new double[3];
            for (int a = 0; a < 3; a++) {
                // Keep the whole tumour 4 mm inside the field of view so its analytic volume is all on the grid.
                double room = half[a] - tumourAxes[a] - 4 - sp[a];
                if (room < 0) {
                    throw new IllegalArgumentException("tumour semi-axis " + tumourAxes[a] + " mm does not fit in the "
                        + 2 * half[a] + " mm field of view");
                }
                tumour[a] = Math.clamp(want[a], -room, room);
            }
        }

        PhantomTruth truth() {
            double v = 4.0 / 3.0 * Math.PI * tumourAxes[0] * tumourAxes[1] * tumourAxes[2] / 1000.0;
            double d = 2 * Math.max(tumourAxes[0], Math.max(tumourAxes[1], tumourAxes[2]));
            return new PhantomTruth(tumour, tumourAxes, v, d, TumourMeasurer.renalRPoints(d),
                new double[] {HU[Tissue.TUMOUR.ordinal()][0], HU[Tissue.TUMOUR.ordinal()][1], HU[Tissue.TUMOUR.ordinal()][2]});
        }

        Tissue tissue(double x, double y, double z) {
            if (ell(x, y, z, tumour, tumourAxes[0], tumourAxes[1], tumourAxes[2]) <= 1) {
                return Tissue.TUMOUR;
            }
            double body = sq(x / (0.92 * hx)) + sq(y / (0.85 * hy));
            if (body > 1) {
                return Tissue.AIR;
            }
            double kid = ell(x, y, z, kidney, kidneyAxes[0], kidneyAxes[1], kidneyAxes[2]);
            if (kid <= 1) {
                if (ell(x, y, z, sinus, 9 * f, 9 * f, 22 * fz) <= 1) {
                    return Tissue.SINUS_FAT;
                }
                return kid <= 0.45 ? Tissue.MEDULLA : Tissue.CORTEX;
            }
            if (sq(x + 12 * f) + sq(y + 22 * f) <= sq(10 * f)) { // aorta, left of the midline
                return Tissue.AORTA;
            }
            if (sq(x) + sq(y + 47 * f) <= sq(14 * f)) { // vertebral body, midline
                return Tissue.BONE;
            }
            if (ell(x, y, z, kidney, kidneyAxes[0] + 12 * f, kidneyAxes[1] + 12 * f, kidneyAxes[2] + 15 * fz) <= 1) {
                return Tissue.PERIRENAL_FAT;
            }
            if (sq(x / (0.92 * hx - 10 * f)) + sq(y / (0.85 * hy - 10 * f)) > 1) {
                return Tissue.WALL;
            }
            return Tissue.SOFT;
        }

        private static double ell(double x, double y, double z, double[] c, double a, double b, double cc) {
            return sq((x - c[0]) / a) + sq((y - c[1]) / b) + sq((z - c[2]) / cc);
        }

        private static double sq(double v) {
            return v * v;
        }
    }
}
