package org.renalmtl.loader.measure;

import java.util.List;

/**
 * Size and enhancement of a tumour, measured on its mask in world units.
 *
 * @param voxels             selected mask voxels
 * @param volumeMl           voxels × voxel volume, in millilitres (cm³)
 * @param maxDiameterMm      largest distance between two mask voxel centres, mm (equal to the largest distance
 *                           between surface voxel centres, since both ends lie on the convex hull)
 * @param diameterEndpoints  world (x, y, z) of both ends, mm: {x1, y1, z1, x2, y2, z2}
 * @param renalRPoints       R.E.N.A.L. R component implied by the diameter (1, 2 or 3)
 * @param phases             per phase, HU inside the mask
 */
public record TumourMeasurements(int voxels, double volumeMl, double maxDiameterMm, double[] diameterEndpoints,
                                 int renalRPoints, List<PhaseStats> phases) {

    /** Copies the mutable parts. */
    public TumourMeasurements {
        diameterEndpoints = diameterEndpoints.clone();
        phases = List.copyOf(phases);
    }

    @Override
    public double[] diameterEndpoints() {
        return diameterEndpoints.clone();
    }
}
