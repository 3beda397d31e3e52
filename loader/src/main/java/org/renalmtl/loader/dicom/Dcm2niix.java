package org.renalmtl.loader.dicom;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import org.renalmtl.loader.ScratchDirectory;
import org.renalmtl.loader.VolumeInputException;

/**
 * A DICOM series folder turned into one NIfTI file by Chris Rorden's {@code dcm2niix}, run as an external
 * program (found on the PATH when used; not bundled).
 *
 * <p>Two runs, both in a private {@link ScratchDirectory} that is always removed. First {@code -b o} writes only
 * the BIDS sidecars (no pixel data is decoded), one per volume, which name each series (SeriesInstanceUID with
 * {@code -ba n}, SeriesNumber, SeriesDescription); {@link DicomSeries#choose} picks one. Then the chosen series is
 * converted, uncompressed ({@code -z n}), with {@code -n CRC} (dcm2niix's series filter: the CRC-32 of the
 * SeriesInstanceUID) when the folder holds others; the run must yield exactly one volume, whose sidecar names the
 * chosen UID. Output names come from the template {@code %s_%j} but are never parsed (a blank UID gives dcm2niix's
 * {@code dcm2nii_invalidName}, clashes get suffixes): sidecars are read instead. The user's dcm2niix defaults
 * file is ignored ({@code -g i}), sub-folders are searched 5 deep ({@code -d 5}), and any non-zero exit status is
 * an error that names the folder, the status's meaning and dcm2niix's last error line.
 */
public final class Dcm2niix {
    /** What a user without dcm2niix is told to do. */
    public static final String INSTALL = "install it (Debian/Ubuntu: apt-get install dcm2niix; elsewhere:"
            + " https://github.com/rordenlab/dcm2niix/releases) or put it on the PATH";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path executable;

    private Dcm2niix(Path executable) {
        this.executable = executable;
    }

    /**
     * Finds dcm2niix on the PATH.
     *
     * @param folder the DICOM folder it is wanted for, for the message
     * @return the tool
     * @throws VolumeInputException naming the folder, saying how to install dcm2niix, when it is not found
     */
    public static Dcm2niix locate(Path folder) {
        return locate(folder, System.getenv("PATH"));
    }

    static Dcm2niix locate(Path folder, String pathVariable) {
        return find(pathVariable).map(Dcm2niix::new).orElseThrow(() -> new VolumeInputException(folder
                + ": a folder is read as a DICOM series, which needs dcm2niix, and it is not on the PATH; " + INSTALL));
    }

    /**
     * @param pathVariable a PATH value (directories separated by {@link File#pathSeparator}), or null
     * @return the first executable {@code dcm2niix} in it
     */
    static Optional<Path> find(String pathVariable) {
        if (pathVariable == null) {
            return Optional.empty();
        }
        for (String d : pathVariable.split(File.pathSeparator)) {
            if (!d.isEmpty()) {
                Path p = Path.of(d, "dcm2niix");
                if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                    return Optional.of(p);
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Lists the series of a folder (sidecars only; nothing is decoded).
     *
     * @param folder a folder holding DICOM files (sub-folders included)
     * @return its series, by series number then UID
     */
    public List<DicomSeries> list(Path folder) {
        try (ScratchDirectory scratch = ScratchDirectory.create("renal-mtl-dicom")) {
            return list(folder, scratch);
        }
    }

    /**
     * Converts one series of a folder.
     *
     * @param folder   a folder holding DICOM files (sub-folders included)
     * @param selector the series' UID or description, or null when the folder holds one series
     * @return the NIfTI file and the series; close it to remove the file
     * @throws VolumeInputException naming the folder when dcm2niix fails, the series cannot be chosen (the message
     *                              lists them), or the series does not convert to exactly one volume
     */
    public Converted convert(Path folder, String selector) {
        ScratchDirectory scratch = ScratchDirectory.create("renal-mtl-dicom");
        try {
            List<DicomSeries> all = list(folder, scratch);
            DicomSeries chosen = DicomSeries.choose(folder.toString(), all, selector);
            Path out = directory(scratch.path().resolve("nifti"));
            List<String> args = new ArrayList<>(List.of("-b", "y", "-ba", "n", "-z", "n"));
            if (all.size() > 1) {
                if (chosen.uid().isEmpty()) {
                    throw new VolumeInputException(folder + ": series \"" + chosen.description() + "\" has no"
                            + " SeriesInstanceUID, so it cannot be told apart from the folder's other series; move its"
                            + " files to a folder of their own");
                }
                args.addAll(List.of("-n", Long.toString(crc(chosen.uid()))));
            }
            Path log = run(args, out, folder, scratch);
            List<Path> volumes = files(out, ".nii");
            if (volumes.size() != 1) {
                throw new VolumeInputException(folder + ": dcm2niix made " + volumes.size() + " volumes of series "
                        + chosen.line() + (volumes.isEmpty() ? "" : " (" + names(volumes) + ")") + "; renal-mtl reads"
                        + " one 3-D volume per series (a series is split for echoes, gantry tilt, uneven slice spacing"
                        + " or several orientations): convert it yourself and give the NIfTI file"
                        + lastError(log).map(l -> " (dcm2niix said: " + l + ")").orElse(""));
            }
            Path nii = volumes.getFirst();
            DicomSeries converted = describe(sidecar(nii), folder);
            if (!converted.uid().equals(chosen.uid())) {
                throw new VolumeInputException(folder + ": dcm2niix converted series " + converted.line()
                        + " when asked for " + chosen.line());
            }
            return new Converted(nii, chosen, scratch);
        } catch (RuntimeException | Error e) {
            scratch.close();
            throw e;
        }
    }

    /**
     * One converted series: its uncompressed NIfTI file in a temporary folder, removed on {@link #close()}.
     */
    public static final class Converted implements AutoCloseable {
        private final Path file;
        private final DicomSeries series;
        private final ScratchDirectory scratch;

        private Converted(Path file, DicomSeries series, ScratchDirectory scratch) {
            this.file = file;
            this.series = series;
            this.scratch = scratch;
        }

        /** @return the NIfTI file (valid until closed) */
        public Path file() {
            return file;
        }

        /** @return the series it holds */
        public DicomSeries series() {
            return series;
        }

        /** Removes the file and its temporary folder. */
        @Override
        public void close() {
            scratch.close();
        }
    }

    /** dcm2niix's series filter value ({@code -n}): the CRC-32 of the SeriesInstanceUID's characters. */
    static long crc(String uid) {
        CRC32 c = new CRC32();
        c.update(uid.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        return c.getValue();
    }

    private List<DicomSeries> list(Path folder, ScratchDirectory scratch) {
        Path out = directory(scratch.path().resolve("sidecars"));
        run(List.of("-b", "o", "-ba", "n"), out, folder, scratch);
        Map<String, DicomSeries> byUid = new LinkedHashMap<>();
        List<DicomSeries> series = new ArrayList<>();
        for (Path json : files(out, ".json")) {
            DicomSeries s = describe(json, folder);
            if (s.uid().isEmpty()) {
                series.add(s);
            } else {
                byUid.merge(s.uid(), s, (a, b) -> new DicomSeries(a.uid(), a.number(), a.description(), a.modality(),
                        a.volumes() + b.volumes()));
            }
        }
        series.addAll(byUid.values());
        if (series.isEmpty()) {
            throw new VolumeInputException(folder + ": dcm2niix found DICOM files but no image series in them");
        }
        series.sort(Comparator.comparing((DicomSeries s) -> s.number() == null ? Integer.MAX_VALUE : s.number())
                .thenComparing(DicomSeries::uid).thenComparing(DicomSeries::description));
        return series;
    }

    /** @return dcm2niix's output (stdout and stderr), in the scratch folder */
    private Path run(List<String> options, Path out, Path folder, ScratchDirectory scratch) {
        if (!Files.isDirectory(folder)) {
            throw new VolumeInputException(folder + ": not a folder of DICOM files");
        }
        List<String> cmd = new ArrayList<>(List.of(executable.toString(), "-g", "i", "-d", "5", "-f", "%s_%j"));
        cmd.addAll(options);
        cmd.addAll(List.of("-o", out.toString(), folder.toAbsolutePath().toString()));
        Path log = scratch.path().resolve("dcm2niix.log");
        int status;
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            scratch.running(p);
            p.getOutputStream().close();
            try {
                status = p.waitFor();
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new VolumeInputException(folder + ": interrupted while dcm2niix was converting it", e);
            } finally {
                scratch.running(null);
            }
        } catch (IOException e) {
            throw new VolumeInputException(folder + ": cannot run " + executable + " (" + e.getMessage() + ")", e);
        }
        if (status != 0) {
            throw new VolumeInputException(folder + ": dcm2niix failed with exit status " + status + " (" + meaning(status)
                    + ")" + lastError(log).map(l -> ": " + l).orElse(""));
        }
        return log;
    }

    /** The exit statuses dcm2niix documents (its ERRORS.md). */
    static String meaning(int status) {
        return switch (status) {
            case 1 -> "unspecified error";
            case 2 -> "no DICOM images found in the folder or its sub-folders, 5 deep";
            case 4 -> "corrupt DICOM file";
            case 5 -> "input folder invalid";
            case 6 -> "output folder invalid";
            case 7 -> "cannot write to the temporary folder";
            case 8 -> "converted some but not all of the DICOM files";
            case 10 -> "incomplete volumes found";
            default -> "undocumented status";
        };
    }

    /** dcm2niix's last "Error"/"Warning" line, the reason it gives for a failure. */
    private static Optional<String> lastError(Path log) {
        try (Stream<String> lines = Files.lines(log)) {
            return lines.map(String::strip).filter(l -> l.startsWith("Error") || l.startsWith("Warning"))
                    .reduce((a, b) -> b).map(l -> l.length() > 300 ? l.substring(0, 300) + "..." : l);
        } catch (IOException | UncheckedIOException e) {
            return Optional.empty();
        }
    }

    private static DicomSeries describe(Path json, Path folder) {
        JsonNode n;
        try {
            n = JSON.readTree(json.toFile());
        } catch (IOException e) {
            throw new VolumeInputException(folder + ": dcm2niix wrote an unreadable sidecar " + json.getFileName()
                    + " (" + e.getMessage() + ")", e);
        }
        JsonNode number = n.get("SeriesNumber");
        return new DicomSeries(n.path("SeriesInstanceUID").asText("").strip(),
                number != null && number.canConvertToInt() ? number.asInt() : null,
                n.path("SeriesDescription").asText("").strip(), n.path("Modality").asText("").strip(), 1);
    }

    private static Path sidecar(Path nii) {
        String name = nii.getFileName().toString();
        return nii.resolveSibling(name.substring(0, name.length() - ".nii".length()) + ".json");
    }

    private static Path directory(Path d) {
        try {
            return Files.createDirectory(d);
        } catch (IOException e) {
            throw new UncheckedIOException(d + ": cannot create (" + e.getMessage() + ")", e);
        }
    }

    private static List<Path> files(Path dir, String suffix) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(suffix)).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot list (" + e.getMessage() + ")", e);
        }
    }

    private static String names(List<Path> files) {
        return String.join(", ", files.stream().map(p -> p.getFileName().toString()).limit(5).toList())
                + (files.size() > 5 ? ", ..." : "");
    }
}
