package org.renalmtl.loader.preprocess;

/**
 * Along which axes the network grid is laid out: the model contract's choice of how crops were made in training.
 */
public enum Reorientation {
    /**
     * The reference phase's voxel axes as the file stores them: network d, h, w run along its k, j, i in their
     * stored directions (an LPS file gives an LPS crop). The default.
     */
    NONE,
    /**
     * The reference phase's voxel axes permuted and flipped as nibabel's {@code as_closest_canonical} does (axes
     * from {@code io_orientation}, no resampling): network w runs along the voxel axis closest to world +x (patient
     * right), h closest to +y (anterior), d closest to +z (superior). The crop is then exactly the crop, without
     * reorientation, of {@code as_closest_canonical(reference)} (and of the mask): for models trained on crops of
     * RAS-reoriented images. Spacing and size keep their (z, y, x) = (D, H, W) meaning on the reoriented axes.
     */
    RAS;

    /** @return the name a user types and a report shows: {@code none} or {@code ras} */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
