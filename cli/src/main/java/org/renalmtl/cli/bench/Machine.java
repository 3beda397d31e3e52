package org.renalmtl.cli.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.bytedeco.dnnl.dnnl_version_t;
import org.bytedeco.dnnl.global.dnnl;
import org.renalmtl.pipeline.EngineVersion;

/** The machine a benchmark ran on, as a benchmarker needs it to compare numbers: CPU, cores, load, JVM, libraries. */
final class Machine {
    private Machine() {}

    /** Writes the description into {@code out}. */
    static void describe(ObjectNode out) {
        out.put("cpu_model", cpuinfo("model name"));
        out.put("cpu_flags_avx512f", cpuinfo("flags").contains(" avx512f"));
        out.put("logical_cpus", Runtime.getRuntime().availableProcessors());
        out.put("physical_cores", physicalCores());
        out.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        out.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        out.put("engine", "renal-mtl " + EngineVersion.VERSION);
        dnnl_version_t v = dnnl.dnnl_version();
        out.put("onednn_version", v.major() + "." + v.minor() + "." + v.patch());
        out.put("onednn_isa", isa());
        out.put("javacpp_dnnl_preset", packageVersion(dnnl.class));
        out.put("total_memory_bytes", meminfoTotal());
    }

    /** @return the 1, 5 and 15-minute load averages from /proc/loadavg (empty where there is none) */
    static ArrayNode loadAverage(ObjectNode parent, String field) {
        ArrayNode a = parent.putArray(field);
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            for (int i = 0; i < 3; i++) {
                a.add(Double.parseDouble(f[i]));
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: the array stays empty, which the JSON reader can see
        }
        return a;
    }

    /**
     * @return the instruction set oneDNN dispatches to here ({@code dnnl_get_effective_cpu_isa}), by its
     *     enum name, e.g. {@code avx512_core_amx}
     */
    static String isa() {
        int isa = dnnl.dnnl_get_effective_cpu_isa();
        String best = "unknown (" + isa + ")";
        for (Field f : dnnl.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == int.class && f.getName().startsWith("dnnl_cpu_isa_")
                    && !f.getName().endsWith("_all") && !f.getName().endsWith("_default")) {
                try {
                    if (f.getInt(null) == isa) {
                        best = f.getName().substring("dnnl_cpu_isa_".length());
                    }
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return best;
    }

    private static String cpuinfo(String key) {
        for (String line : lines("/proc/cpuinfo")) {
            if (line.startsWith(key) && line.contains(":")) {
                return line.substring(line.indexOf(':') + 1).trim();
            }
        }
        return "";
    }

    /** @return distinct (physical id, core id) pairs; 0 where /proc/cpuinfo does not say */
    private static long physicalCores() {
        String phys = "";
        Set<String> cores = new HashSet<>();
        for (String line : lines("/proc/cpuinfo")) {
            if (line.startsWith("physical id")) {
                phys = line.substring(line.indexOf(':') + 1).trim();
            } else if (line.startsWith("core id")) {
                cores.add(phys + "/" + line.substring(line.indexOf(':') + 1).trim());
            }
        }
        return cores.size();
    }

    private static long meminfoTotal() {
        for (String line : lines("/proc/meminfo")) {
            if (line.startsWith("MemTotal:")) {
                return 1024 * Long.parseLong(line.replaceAll("\\D+", ""));
            }
        }
        return -1;
    }

    private static List<String> lines(String file) {
        try {
            return Files.readAllLines(Path.of(file));
        } catch (IOException e) {
            return List.of();
        }
    }

    private static String packageVersion(Class<?> c) {
        String v = c.getPackage().getImplementationVersion();
        return v == null ? "" : v;
    }
}
