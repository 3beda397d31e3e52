package org.renalmtl.loader;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.IntStream;

/**
 * Resampling of volumes between grids in world coordinates: a target voxel centre is mapped to the world by
 * the target affine and back into the source grid by the inverse source affine; the two maps are composed
 * once into one 4×4 voxel-to-voxel matrix.
 *
 * <p>Boundary rule: a point within half a voxel of the source grid (the region its voxels cover) is inside,
 * and is interpolated with indices clamped to the edge; a point farther out gets the fill value. Images use
 * trilinear interpolation, masks nearest neighbour. Slices of the target are filled in parallel; the inner
 * loop allocates nothing.
 */
public final class Resampler {

    /** How values between voxel centres are obtained. */
    public enum Interpolation {
        /** Trilinear, for images. */
        TRILINEAR,
        /** Nearest neighbour, for label masks. */
        NEAREST
    }

    private Resampler() {
    }

    /**
     * Resamples {@code src} onto another volume's grid.
     *
     * @param src    the volume to resample
     * @param like   the grid to resample onto (its voxels are not read)
     * @param interp interpolation
     * @param fill   value for target voxels outside the source
     * @return a new volume on {@code like}'s grid, named after {@code src}
     */
    public static Volume resampleLike(Volume src, Volume like, Interpolation interp, float fill) {
        return resample(src, like.nz(), like.ny(), like.nx(), like.geometry(), interp, fill);
    }

    /**
     * Resamples {@code src} onto a grid.
     *
     * @param src    the volume to resample
     * @param nz     target slices
     * @param ny     target rows
     * @param nx     target columns
     * @param target target voxel → world
     * @param interp interpolation
     * @param fill   value for target voxels outside the source
     * @return a new (nz, ny, nx) volume, named after {@code src}
     */
    public static Volume resample(Volume src, int nz, int ny, int nx, Geometry target, Interpolation interp, float fill) {
        Volume out = Volume.allocate(nz, ny, nx, target, src.source() + " (resampled)");
        double[] m = Geometry.multiply(src.geometry().inverse(), target.affine()); // target voxel -> source voxel
        Sampler s = new Sampler(src);
        MemorySegment dst = out.data();
        IntStream.range(0, nz).parallel().forEach(k -> {
            for (int j = 0; j < ny; j++) {
                double bx = m[1] * j + m[2] * k + m[3];
                double by = m[5] * j + m[6] * k + m[7];
                double bz = m[9] * j + m[10] * k + m[11];
                long row = ((long) k * ny + j) * nx;
                for (int i = 0; i < nx; i++) {
                    double x = bx + m[0] * i;
                    double y = by + m[4] * i;
                    double z = bz + m[8] * i;
                    float v = interp == Interpolation.TRILINEAR ? s.trilinear(x, y, z, fill) : s.nearest(x, y, z, fill);
                    dst.setAtIndex(ValueLayout.JAVA_FLOAT, row + i, v);
                }
            }
        });
        return out;
    }

    /**
     * The fraction of a target grid's voxel centres that fall inside {@code src} (by the boundary rule above),
     * estimated on at most 32 samples per axis.
     *
     * @param src    the source volume
     * @param nz     target slices
     * @param ny     target rows
     * @param nx     target columns
     * @param target target voxel → world
     * @return 0 when the grids do not overlap at all, 1 when the target lies wholly inside
     */
    public static double overlapFraction(Volume src, int nz, int ny, int nx, Geometry target) {
        double[] m = Geometry.multiply(src.geometry().inverse(), target.affine());
        int sz = Math.min(nz, 32);
        int sy = Math.min(ny, 32);
        int sx = Math.min(nx, 32);
        long inside = 0;
        for (int a = 0; a < sz; a++) {
            double k = sz == 1 ? (nz - 1) / 2.0 : a * (nz - 1.0) / (sz - 1);
            for (int b = 0; b < sy; b++) {
                double j = sy == 1 ? (ny - 1) / 2.0 : b * (ny - 1.0) / (sy - 1);
                for (int c = 0; c < sx; c++) {
                    double i = sx == 1 ? (nx - 1) / 2.0 : c * (nx - 1.0) / (sx - 1);
                    double x = m[0] * i + m[1] * j + m[2] * k + m[3];
                    double y = m[4] * i + m[5] * j + m[6] * k + m[7];
                    double z = m[8] * i + m[9] * j + m[10] * k + m[11];
                    if (Sampler.inside(x, src.nx()) && Sampler.inside(y, src.ny()) && Sampler.inside(z, src.nz())) {
                        inside++;
                    }
                }
            }
        }
        return inside / (double) ((long) sz * sy * sx);
    }

    /**
     * Point sampling of one volume at continuous voxel coordinates (x, y, z) = (i, j, k). Holds no state
     * besides the volume's segment and dimensions, so one instance may serve many threads.
     */
    public static final class Sampler {
        private final MemorySegment data; // (nz, ny, nx) float32
        private final int nx;
        private final int ny;
        private final int nz;

        /** @param v the volume to sample; must stay open while the sampler is used */
        public Sampler(Volume v) {
            this.data = v.data();
            this.nx = v.nx();
            this.ny = v.ny();
            this.nz = v.nz();
        }

        static boolean inside(double c, int n) {
            return c >= -0.5 && c <= n - 0.5;
        }

        /**
         * @return whether (x, y, z) lies within the region the voxels cover (half a voxel beyond the centres)
         */
        public boolean inside(double x, double y, double z) {
            return inside(x, nx) && inside(y, ny) && inside(z, nz);
        }

        /**
         * @param x    continuous index along x
         * @param y    continuous index along y
         * @param z    continuous index along z
         * @param fill value outside
         * @return the trilinearly interpolated value
         */
        public float trilinear(double x, double y, double z, float fill) {
            if (!(inside(x, nx) && inside(y, ny) && inside(z, nz))) {
                return fill;
            }
            double cx = Math.clamp(x, 0, nx - 1);
            double cy = Math.clamp(y, 0, ny - 1);
            double cz = Math.clamp(z, 0, nz - 1);
            int x0 = (int) cx;
            int y0 = (int) cy;
            int z0 = (int) cz;
            double fx = cx - x0;
            double fy = cy - y0;
            double fz = cz - z0;
            int x1 = Math.min(x0 + 1, nx - 1);
            int y1 = Math.min(y0 + 1, ny - 1);
            int z1 = Math.min(z0 + 1, nz - 1);
            long r00 = ((long) z0 * ny + y0) * nx;
            long r01 = ((long) z0 * ny + y1) * nx;
            long r10 = ((long) z1 * ny + y0) * nx;
            long r11 = ((long) z1 * ny + y1) * nx;
            double c00 = lerp(at(r00 + x0), at(r00 + x1), fx);
            double c01 = lerp(at(r01 + x0), at(r01 + x1), fx);
            double c10 = lerp(at(r10 + x0), at(r10 + x1), fx);
            double c11 = lerp(at(r11 + x0), at(r11 + x1), fx);
            return (float) lerp(lerp(c00, c01, fy), lerp(c10, c11, fy), fz);
        }

        /**
         * @param x    continuous index along x
         * @param y    continuous index along y
         * @param z    continuous index along z
         * @param fill value outside
         * @return the value of the nearest voxel
         */
        public float nearest(double x, double y, double z, float fill) {
            if (!(inside(x, nx) && inside(y, ny) && inside(z, nz))) {
                return fill;
            }
            int i = Math.clamp((long) Math.floor(x + 0.5), 0, nx - 1);
            int j = Math.clamp((long) Math.floor(y + 0.5), 0, ny - 1);
            int k = Math.clamp((long) Math.floor(z + 0.5), 0, nz - 1);
            return at(((long) k * ny + j) * nx + i);
        }

        private float at(long i) {
            return data.getAtIndex(ValueLayout.JAVA_FLOAT, i);
        }

        private static double lerp(double a, double b, double t) {
            return a + (b - a) * t;
        }
    }
}
