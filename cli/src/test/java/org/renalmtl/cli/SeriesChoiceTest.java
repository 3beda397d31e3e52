package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.loader.ImageInput;

/** How {@code --series} values are read: per phase, for every folder, and the mistakes refused before any work. */
class SeriesChoiceTest {
    private static final List<String> PHASES = List.of("arterial", "venous", "delayed");

    @TempDir
    Path dir;

    @Test
    void aPhaseNameBeforeTheFirstEqualsSignMakesItThatPhasesChoice() {
        SeriesChoice c = SeriesChoice.parse(List.of("arterial=Art 1.0", "WL=40 venous"), PHASES);
        assertEquals(Map.of("arterial", "Art 1.0"), c.perImage());
        assertEquals("WL=40 venous", c.general(), "a description may hold '=': WL is no phase");
        assertEquals("Art 1.0", c.forImage("arterial"));
        assertEquals("WL=40 venous", c.forImage("delayed"));
    }

    @Test
    void givenTwiceIsRefused() {
        assertEquals("--series arterial=...: given twice", assertThrows(InputException.class,
                () -> SeriesChoice.parse(List.of("arterial=a", "arterial=b"), PHASES)).getMessage());
        assertEquals("--series given twice without a phase name ('a' and 'b'); name the phase: --series"
                + " PHASE=UID|DESCRIPTION", assertThrows(InputException.class,
                () -> SeriesChoice.parse(List.of("a", "b"), PHASES)).getMessage());
    }

    @Test
    void aChoiceMustApplyToAFolder() throws IOException {
        Path file = Files.writeString(dir.resolve("a.nii.gz"), "");
        Path folder = Files.createDirectory(dir.resolve("study"));
        List<String> names = List.of("arterial", "venous");
        assertEquals(List.of(new ImageInput(file, null), new ImageInput(folder, "V")),
                SeriesChoice.parse(List.of("venous=V"), names).inputs(names, List.of(file, folder)));
        assertEquals("--series arterial=A: the arterial image " + file + " is a file, not a DICOM folder",
                assertThrows(InputException.class, () -> SeriesChoice.parse(List.of("arterial=A"), names)
                        .inputs(names, List.of(file, folder))).getMessage());
        assertEquals("--series X: no image is a DICOM folder (it chooses a series in one)",
                assertThrows(InputException.class, () -> SeriesChoice.parse(List.of("X"), names)
                        .inputs(names, List.of(file, file))).getMessage());
    }
}
