package org.renalmtl.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.renalmtl.loader.ImageInput;

/**
 * The {@code --series} options of a command: which DICOM series to read from a folder that holds several.
 * {@code --series SEL} applies to every DICOM folder given; {@code --series NAME=SEL}, where NAME is one of the
 * images' names (a phase), to that image only and before the general one. SEL is a SeriesInstanceUID or a
 * SeriesDescription ({@link org.renalmtl.loader.dicom.DicomSeries}); a value whose part before the first '=' is
 * no image's name is a SEL as a whole (descriptions may hold '=').
 *
 * @param general  the selector for every DICOM folder, or null
 * @param perImage selectors by image name
 */
record SeriesChoice(String general, Map<String, String> perImage) {

    /**
     * @param values the option's values, in command-line order
     * @param names  the images' names (the model's phases), or none where only the general form applies
     * @return the choice
     * @throws InputException for a name or the general form given twice
     */
    static SeriesChoice parse(List<String> values, List<String> names) {
        String general = null;
        Map<String, String> per = new LinkedHashMap<>();
        for (String v : values) {
            int eq = v.indexOf('=');
            String name = eq > 0 ? v.substring(0, eq) : null;
            if (name != null && names.contains(name)) {
                if (per.put(name, v.substring(eq + 1)) != null) {
                    throw new InputException("--series " + name + "=...: given twice");
                }
            } else if (general != null) {
                throw new InputException("--series given twice without a phase name ('" + general + "' and '" + v
                        + "'); name the phase: --series PHASE=UID|DESCRIPTION");
            } else {
                general = v;
            }
        }
        return new SeriesChoice(general, per);
    }

    /**
     * Pairs each image with its selector, and checks that every selector given applies to a DICOM folder.
     *
     * @param names the images' names, in order
     * @param paths their files or folders, same order
     * @return the inputs
     * @throws InputException if a selector names an image that is a file, or no image is a folder
     */
    List<ImageInput> inputs(List<String> names, List<Path> paths) {
        List<ImageInput> out = new ArrayList<>();
        boolean anyFolder = false;
        for (int i = 0; i < names.size(); i++) {
            Path p = paths.get(i);
            boolean folder = Files.isDirectory(p);
            anyFolder |= folder;
            String own = perImage.get(names.get(i));
            if (own != null && !folder) {
                throw new InputException("--series " + names.get(i) + "=" + own + ": the " + names.get(i)
                        + " image " + p + " is a file, not a DICOM folder");
            }
            out.add(new ImageInput(p, own != null ? own : general));
        }
        if (general != null && !anyFolder) {
            throw new InputException("--series " + general + ": no image is a DICOM folder (it chooses a series in one)");
        }
        return out;
    }

    /** @return the selector for one DICOM folder of the given image name */
    String forImage(String name) {
        return perImage.getOrDefault(name, general);
    }
}
