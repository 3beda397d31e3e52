package org.renalmtl.loader.phantom;

import java.nio.file.Path;
import java.util.List;
import org.renalmtl.loader.NiftiDataType;
import org.renalmtl.loader.NiftiWriter;
import org.renalmtl.loader.Volume;

/**
 * One synthetic multiphase case: three phase images, the tumour and kidney masks (on the arterial grid) and the
 * analytic truth. Owns its volumes; close it to free them.
 *
 * @param arterial   arterial (corticomedullary) phase, HU
 * @param venous     venous (nephrographic) phase, HU, on the arterial grid
 * @param delayed    delayed (excretory) phase, HU, on the arterial grid or its own (see {@link PhantomOptions})
 * @param tumourMask 1 inside the tumour, 0 elsewhere, on the arterial grid
 * @param kidneyMask 1 in renal parenchyma (cortex and medulla, tumour excluded), on the arterial grid
 * @param truth      what the tumour is by construction
 * @param seed       the seed it was made with
 */
public record PhantomCase(Volume arterial, Volume venous, Volume delayed, Volume tumourMask, Volume kidneyMask,
                          PhantomTruth truth, long seed) implements AutoCloseable {

    /** Phase names in the order of {@link #phases()}, also the file names written by {@link #writeTo}. */
    public static final List<String> PHASE_NAMES = List.of("arterial", "venous", "delayed");

    /** The files {@link #writeTo} writes, in its order: the three phases, the tumour mask, the kidney mask. */
    public static final List<String> FILE_NAMES = List.of("arterial.nii.gz", "venous.nii.gz", "delayed.nii.gz",
            "mask.nii.gz", "kidney.nii.gz");

    /** @return arterial, venous, delayed */
    public List<Volume> phases() {
        return List.of(arterial, venous, delayed);
    }

    /**
     * Writes {@code arterial.nii.gz}, {@code venous.nii.gz}, {@code delayed.nii.gz} (int16 HU),
     * {@code mask.nii.gz} (the tumour, uint8) and {@code kidney.nii.gz} (uint8) into a directory. Each file is
     * written to a temporary file and renamed, so none is ever partial.
     *
     * @param dir an existing directory
     * @return the five files, in the order above
     */
    public List<Path> writeTo(Path dir) {
        String d = "renal-mtl phantom seed " + seed;
        Path a = dir.resolve(FILE_NAMES.get(0));
        Path v = dir.resolve(FILE_NAMES.get(1));
        Path l = dir.resolve(FILE_NAMES.get(2));
        Path m = dir.resolve(FILE_NAMES.get(3));
        Path k = dir.resolve(FILE_NAMES.get(4));
        NiftiWriter.write(arterial, a, NiftiDataType.INT16, d);
        NiftiWriter.write(venous, v, NiftiDataType.INT16, d);
        NiftiWriter.write(delayed, l, NiftiDataType.INT16, d);
        NiftiWriter.write(tumourMask, m, NiftiDataType.UINT8, d + " tumour");
        NiftiWriter.write(kidneyMask, k, NiftiDataType.UINT8, d + " kidney");
        return List.of(a, v, l, m, k);
    }

    /** Frees all five volumes. */
    @Override
    public void close() {
        arterial.close();
        venous.close();
        delayed.close();
        tumourMask.close();
        kidneyMask.close();
    }
}
