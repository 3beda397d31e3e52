package org.renalmtl.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * An input folder as {@code nnUNetv2_predict -i} reads it: one file per case and input channel, named
 * {@code CASE_XXXX.nii.gz} (or {@code .nii}) where XXXX is the channel index in four digits ({@code _0000} for
 * a one-channel CT model); or, for DICOM, a sub-folder {@code CASE_XXXX/} holding that image's series. Hidden
 * files and folders are ignored; any other file or sub-folder is an error, so that a misnamed image is never
 * silently left out.
 *
 * @param dir   the folder
 * @param cases each case's files by channel index, cases sorted by name
 */
record CaseFolder(Path dir, SortedMap<String, SortedMap<Integer, Path>> cases) {
    private static final Pattern NAME = Pattern.compile("(.+)_(\\d{4})\\.nii(\\.gz)?");
    private static final Pattern DICOM_NAME = Pattern.compile("(.+)_(\\d{4})");

    /**
     * Reads the folder's listing and groups it by case.
     *
     * @throws InputException if it is no folder, holds no image, or a file is not named CASE_XXXX.nii[.gz] (or a
     *     sub-folder CASE_XXXX)
     */
    static CaseFolder scan(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new InputException(dir + ": -i must be a folder of CASE_0000.nii.gz images, and "
                    + (Files.exists(dir, LinkOption.NOFOLLOW_LINKS) ? "this is a file" : "it does not exist"));
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> !p.getFileName().toString().startsWith(".")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot list (" + e.getMessage() + ")", e);
        }
        SortedMap<String, SortedMap<Integer, Path>> cases = new TreeMap<>();
        List<String> unmatched = new ArrayList<>();
        for (Path f : files) {
            boolean folder = Files.isDirectory(f);
            Matcher m = (folder ? DICOM_NAME : NAME).matcher(f.getFileName().toString());
            if (!m.matches()) {
                unmatched.add(f.getFileName() + (folder ? "/" : ""));
                continue;
            }
            Path before = cases.computeIfAbsent(m.group(1), k -> new TreeMap<>()).put(Integer.parseInt(m.group(2)), f);
            if (before != null) {
                throw new InputException(dir + ": case " + m.group(1) + " has channel " + m.group(2) + " twice ("
                        + before.getFileName() + " and " + f.getFileName() + ")");
            }
        }
        if (!unmatched.isEmpty()) {
            throw new InputException(dir + ": " + unmatched.size() + " file(s) not named CASE_XXXX.nii.gz (XXXX the"
                    + " channel, e.g. case01_0000.nii.gz; a DICOM folder: case01_0000/): " + preview(unmatched));
        }
        if (cases.isEmpty()) {
            throw new InputException(dir + ": no input images (expected CASE_0000.nii.gz, one file per case and channel)");
        }
        return new CaseFolder(dir, cases);
    }

    /**
     * Checks that every case has exactly the model's channels.
     *
     * @param channels the model's input channels
     * @return each case's files in channel order
     * @throws InputException naming the files of channels the model lacks, or the cases missing a channel
     */
    SortedMap<String, List<Path>> forChannels(int channels) {
        List<String> extra = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        SortedMap<String, List<Path>> out = new TreeMap<>();
        for (var c : cases.entrySet()) {
            for (var f : c.getValue().entrySet()) {
                if (f.getKey() >= channels) {
                    extra.add(f.getValue().getFileName().toString());
                }
            }
            List<Path> files = new ArrayList<>();
            for (int ch = 0; ch < channels; ch++) {
                Path f = c.getValue().get(ch);
                if (f == null) {
                    missing.add(String.format("%s_%04d", c.getKey(), ch));
                }
                files.add(f);
            }
            out.put(c.getKey(), files);
        }
        String takes = "the model takes " + channels + " channel(s), _0000" + (channels > 1
                ? String.format(" to _%04d", channels - 1) : "");
        if (!extra.isEmpty()) {
            throw new InputException(dir + ": " + extra.size() + " file(s) of a channel the model does not have ("
                    + takes + "): " + preview(extra));
        }
        if (!missing.isEmpty()) {
            throw new InputException(dir + ": " + missing.size() + " channel file(s) missing (" + takes + "): "
                    + preview(missing.stream().map(m -> m + ".nii.gz").toList()));
        }
        return out;
    }

    /** The first three names, and how many more. */
    private static String preview(List<String> names) {
        String shown = String.join(", ", names.subList(0, Math.min(3, names.size())));
        return names.size() > 3 ? shown + " and " + (names.size() - 3) + " more" : shown;
    }
}
