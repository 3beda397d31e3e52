package org.renalmtl.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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

    /**
     * Writes a worker's resident memory as the results give it: {@code memory_measured} with the worker's
     * {@code rss_before_load_bytes}, {@code rss_peak_bytes} and {@code rss_end_bytes}, and {@code
     * rss_model_peak_bytes}, the peak minus what the process held before its model was loaded.
     *
     * @param parent the result object
     * @param worker what the worker reported
     */
    static void putMeasured(ObjectNode parent, JsonNode worker) {
        ObjectNode measured = parent.putObject("memory_measured");
        long before = worker.get("rss_before_load_bytes").asLong();
        long peak = worker.get("rss_peak_bytes").asLong();
        measured.put("rss_before_load_bytes", before);
        measured.put("rss_peak_bytes", peak);
        measured.put("rss_end_bytes", worker.get("rss_end_bytes").asLong());
        measured.put("rss_model_peak_bytes", peak - before);
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
