package org.renalmtl.loader.dicom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.loader.ScratchDirectory;
import org.renalmtl.loader.TestData;
import org.renalmtl.loader.VolumeInputException;

/** Finding dcm2niix, its series filter, listing series, and the temporary folder's removal. */
class Dcm2niixTest {
    @TempDir
    Path tmp;

    /** The values dcm2niix itself prints for these UIDs ({@code dcm2niix -n -1 two_series}), also zlib.crc32's. */
    @Test
    void seriesFilterIsTheCrc32OfTheUid() {
        assertEquals(2017588718L, Dcm2niix.crc("1.2.826.0.1.3680043.8.498.101"));
        assertEquals(3779634260L, Dcm2niix.crc("1.2.826.0.1.3680043.8.498.102"));
    }

    @Test
    void foundOnThePathOnlyAsAnExecutableFile() throws IOException {
        Path empty = Files.createDirectory(tmp.resolve("empty"));
        Path notExecutable = Files.createDirectory(tmp.resolve("plain"));
        Files.writeString(notExecutable.resolve("dcm2niix"), "");
        Path bin = Files.createDirectory(tmp.resolve("bin"));
        Path exe = Files.writeString(bin.resolve("dcm2niix"), "#!/bin/sh\n");
        Files.setPosixFilePermissions(exe, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertEquals(Optional.empty(), Dcm2niix.find(null));
        assertEquals(Optional.empty(), Dcm2niix.find(""));
        assertEquals(Optional.empty(), Dcm2niix.find(empty + File.pathSeparator + notExecutable));
        assertEquals(Optional.of(exe), Dcm2niix.find(empty + File.pathSeparator + notExecutable + File.pathSeparator + bin));
    }

    @Test
    void missingToolIsOneLineSayingHowToInstallIt() {
        Path dir = Path.of("/data/case 7/CT");
        VolumeInputException e = assertThrows(VolumeInputException.class, () -> Dcm2niix.locate(dir, tmp.toString()));
        assertEquals(dir + ": a folder is read as a DICOM series, which needs dcm2niix, and it is not on the PATH;"
                + " install it (Debian/Ubuntu: apt-get install dcm2niix; elsewhere:"
                + " https://github.com/rordenlab/dcm2niix/releases) or put it on the PATH", e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
    }

    @Test
    void listsSeriesInSeriesNumberOrder() {
        List<DicomSeries> s = Dcm2niix.locate(tmp).list(TestData.dicom().resolve("two_series"));
        assertEquals(List.of(new DicomSeries("1.2.826.0.1.3680043.8.498.101", 3, "Arterial 1.0", "CT", 1),
                new DicomSeries("1.2.826.0.1.3680043.8.498.102", 4, "Venous 1.0", "CT", 1)), s);
    }

    @Test
    void sameDescriptionTwiceNeedsTheUid() {
        List<DicomSeries> s = List.of(new DicomSeries("1.2.3", 1, "Venous", "CT", 1),
                new DicomSeries("1.2.4", 2, "venous", "CT", 1), new DicomSeries("1.2.5", 3, "Delayed", "CT", 1));
        VolumeInputException e = assertThrows(VolumeInputException.class, () -> DicomSeries.choose("d", s, "VENOUS"));
        assertEquals("d: 2 DICOM series are described \"VENOUS\"; choose one by its UID (--series UID):\n"
                + "  1.2.3  \"Venous\"  (series 1, CT)\n  1.2.4  \"venous\"  (series 2, CT)", e.getMessage());
        assertEquals("1.2.4", DicomSeries.choose("d", s, "1.2.4").uid());
        assertEquals("1.2.5", DicomSeries.choose("d", s, "delayed").uid());
    }

    @Test
    void listingStopsAtTenSeries() {
        List<DicomSeries> s = java.util.stream.IntStream.range(0, 13)
                .mapToObj(i -> new DicomSeries("1.2." + i, i, "s" + i, "CT", 1)).toList();
        List<String> lines = DicomSeries.listing(s).lines().toList();
        assertEquals(12, lines.size(), "a leading line break, ten series and the count of the rest");
        assertEquals("  ... and 3 more", lines.getLast());
    }

    /**
     * Ctrl-C while dcm2niix runs: a child JVM holds a scratch folder with a process working in it and gets SIGINT;
     * its shutdown hook ends the process and removes the folder.
     */
    @Test
    void interruptRemovesTheFolderAndEndsTheTool() throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "-Djava.io.tmpdir=" + tmp, ScratchProbe.class.getName()).redirectErrorStream(true).start();
        child.getOutputStream().close();
        BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String line = r.readLine();
        assertTrue(line != null && line.startsWith("scratch "), () -> "probe said: " + line);
        String[] f = line.split(" ");
        Path scratch = Path.of(f[1]);
        long tool = Long.parseLong(f[2]);
        assertTrue(Files.isRegularFile(scratch.resolve("partial.nii")));
        assertTrue(ProcessHandle.of(tool).map(ProcessHandle::isAlive).orElse(false));
        Process kill = new ProcessBuilder("kill", "-INT", Long.toString(child.pid())).start();
        assertEquals(0, kill.waitFor());
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child must exit on SIGINT");
        assertFalse(Files.exists(scratch), "the scratch folder must be gone");
        assertFalse(ProcessHandle.of(tool).map(ProcessHandle::isAlive).orElse(false), "the tool must be ended");
    }

    /** The child of {@link #interruptRemovesTheFolderAndEndsTheTool}. */
    static final class ScratchProbe {
        private ScratchProbe() {
        }

        public static void main(String[] args) throws IOException, InterruptedException {
            ScratchDirectory s = ScratchDirectory.create("renal-mtl-dicom");
            Files.writeString(s.path().resolve("partial.nii"), "half a volume");
            Process p = new ProcessBuilder("sleep", "300").start();
            s.running(p);
            System.out.println("scratch " + s.path() + " " + p.pid());
            System.out.flush();
            p.waitFor();
        }
    }
}
