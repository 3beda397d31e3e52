package org.renalmtl.cli.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This process's resident memory from {@code /proc/self/status}: {@code VmRSS} (now) and {@code VmHWM}
 * (its high-water mark since the process started). Both count everything resident (JVM, heap, native
 * libraries, off-heap model memory), which is why {@code bench} measures each model set in a fresh process.
 */
final class ProcStatus {
    private ProcStatus() {}

    /** @return VmRSS in bytes, or -1 where /proc is not there */
    static long rssBytes() {
        return field("VmRSS:");
    }

    /** @return VmHWM in bytes, or -1 where /proc is not there */
    static long peakRssBytes() {
        return field("VmHWM:");
    }

    private static long field(String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(name)) {
                    return 1024 * Long.parseLong(line.substring(name.length()).trim().split("\\s+")[0]);
                }
            }
            return -1;
        } catch (IOException e) {
            return -1;
        }
    }
}
