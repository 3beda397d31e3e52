package org.renalmtl.loader.dicom;

import java.util.List;
import java.util.Locale;
import org.renalmtl.loader.VolumeInputException;

/**
 * One DICOM series of a folder, as dcm2niix's BIDS sidecars describe it.
 *
 * @param uid         SeriesInstanceUID, "" when the files have none (anonymised data often blank it)
 * @param number      SeriesNumber, or null when absent
 * @param description SeriesDescription, "" when absent
 * @param modality    Modality (CT, MR, ...), "" when absent
 * @param volumes     how many volumes dcm2niix makes of it (more than one when it splits a series: echoes,
 *                    gantry tilt, uneven slice spacing, several orientations)
 */
public record DicomSeries(String uid, Integer number, String description, String modality, int volumes) {

    /** Most series listed in a message; the rest are counted. */
    static final int LISTED = 10;

    /** @return one line for a listing: UID, description, series number and modality */
    public String line() {
        return (uid.isEmpty() ? "(no SeriesInstanceUID)" : uid) + "  \"" + description + "\"  (" + (number == null ? ""
                : "series " + number + ", ") + (modality.isEmpty() ? "modality unknown" : modality)
                + (volumes > 1 ? ", " + volumes + " volumes" : "") + ")";
    }

    /**
     * Picks the series a selector names: a SeriesInstanceUID exactly, else a SeriesDescription (ignoring case and
     * surrounding spaces) that only one series has; without a selector, the folder's only series.
     *
     * @param folder   the DICOM folder, for messages
     * @param series   the folder's series (at least one)
     * @param selector a UID or description, or null
     * @return the chosen series
     * @throws VolumeInputException naming the folder and listing its series when none or several fit
     */
    static DicomSeries choose(String folder, List<DicomSeries> series, String selector) {
        if (selector == null) {
            if (series.size() == 1) {
                return series.getFirst();
            }
            throw new VolumeInputException(folder + ": " + series.size() + " DICOM series in this folder; choose one with"
                    + " --series UID or --series DESCRIPTION:" + listing(series));
        }
        List<DicomSeries> byUid = series.stream().filter(s -> !s.uid.isEmpty() && s.uid.equals(selector.strip())).toList();
        if (byUid.size() == 1) {
            return byUid.getFirst();
        }
        String wanted = selector.strip().toLowerCase(Locale.ROOT);
        List<DicomSeries> byDescription = series.stream()
                .filter(s -> s.description.strip().toLowerCase(Locale.ROOT).equals(wanted)).toList();
        if (byDescription.size() == 1) {
            return byDescription.getFirst();
        }
        if (byDescription.size() > 1) {
            throw new VolumeInputException(folder + ": " + byDescription.size() + " DICOM series are described \""
                    + selector.strip() + "\"; choose one by its UID (--series UID):" + listing(byDescription));
        }
        throw new VolumeInputException(folder + ": no DICOM series with UID or description \"" + selector.strip()
                + "\" in this folder; it holds:" + listing(series));
    }

    /** The series one per line (indented, after a line break), at most {@link #LISTED}. */
    static String listing(List<DicomSeries> series) {
        StringBuilder sb = new StringBuilder();
        for (DicomSeries s : series.subList(0, Math.min(LISTED, series.size()))) {
            sb.append("\n  ").append(s.line());
        }
        if (series.size() > LISTED) {
            sb.append("\n  ... and ").append(series.size() - LISTED).append(" more");
        }
        return sb.toString();
    }
}
