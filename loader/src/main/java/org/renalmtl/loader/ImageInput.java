package org.renalmtl.loader;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.renalmtl.loader.dicom.Dcm2niix;
import org.renalmtl.loader.dicom.DicomSeries;

/**
 * An image as a user names it: a NIfTI file, or a folder holding a DICOM series (converted by
 * {@link Dcm2niix} into a temporary file that is removed once read), with the series to take when the folder
 * holds several.
 *
 * <p>A volume read from a folder is named after the folder, so every later message ("phase does not overlap …")
 * names what the user gave.
 *
 * @param path   a NIfTI file ({@code .nii} or {@code .nii.gz}) or a folder of DICOM files
 * @param series for a folder: a SeriesInstanceUID or SeriesDescription, or null when it holds one series; ignored
 *               for a NIfTI file
 */
public record ImageInput(Path path, String series) {

    /**
     * @param path a NIfTI file or a DICOM folder holding one series
     * @return the input
     */
    public static ImageInput of(Path path) {
        return new ImageInput(path, null);
    }

    /** @return whether the path is a folder, read as DICOM */
    public boolean isDicom() {
        return Files.isDirectory(path);
    }

    /**
     * Reads the image.
     *
     * @return the volume (close it) and, for a DICOM folder, the series it came from
     * @throws VolumeInputException naming the file or folder when it cannot be read, dcm2niix is missing or fails,
     *                              or the series cannot be chosen
     */
    public Loaded read() {
        if (!isDicom()) {
            return new Loaded(NiftiReader.read(path), null);
        }
        try (Dcm2niix.Converted c = Dcm2niix.locate(path).convert(path, series)) {
            Path nii = c.file();
            long size;
            InputStream in;
            try {
                size = Files.size(nii);
                in = Files.newInputStream(nii);
            } catch (IOException e) {
                throw new VolumeInputException(path + ": cannot read dcm2niix's output (" + e.getMessage() + ")", e);
            }
            return new Loaded(NiftiReader.read(in, size, path.toString(), NiftiReader.DEFAULT_MAX_VOXELS), c.series());
        }
    }

    /**
     * A read image.
     *
     * @param volume the voxels and their grid
     * @param dicom  the DICOM series it was converted from; null for a NIfTI file
     */
    public record Loaded(Volume volume, DicomSeries dicom) implements AutoCloseable {
        /** @return the DICOM series, if it came from one */
        public Optional<DicomSeries> series() {
            return Optional.ofNullable(dicom);
        }

        /** Frees the voxels. */
        @Override
        public void close() {
            volume.close();
        }
    }
}
