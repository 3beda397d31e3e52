package org.renalmtl.engine;

import java.util.EnumMap;
import java.util.Iterator;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import org.renalmtl.engine.spi.BackendProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The optional backends on the class path, looked up once per process ({@link BackendProvider}). */
final class Backends {
    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);

    private Backends() {}

    /** Initialised on first use, by the JVM's class-initialisation lock: one lookup, no races. */
    private static final class Found {
        static final Map<Device.Kind, BackendProvider> BY_KIND = load();
    }

    /**
     * @param kind CPU, CUDA
     * @return the provider serving {@code kind}, or null if none is on the class path
     */
    static BackendProvider find(Device.Kind kind) {
        return Found.BY_KIND.get(kind);
    }

    /**
     * @param index the CUDA ordinal asked for, named in the message
     * @return the CUDA provider
     * @throws UnsupportedOperationException if engine-cuda is not on the class path
     */
    static BackendProvider cuda(int index) {
        BackendProvider cuda = find(Device.Kind.CUDA);
        if (cuda == null) {
            throw new UnsupportedOperationException("device cuda:" + index + ": the CUDA backend is not on the class "
                    + "path (add the artifact org.renalmtl:engine-cuda)");
        }
        return cuda;
    }

    private static Map<Device.Kind, BackendProvider> load() {
        Map<Device.Kind, BackendProvider> found = new EnumMap<>(Device.Kind.class);
        // The engine's own loader, not the thread's context loader: the answer is cached for the
        // process, so it must not depend on which thread happened to ask first.
        Iterator<BackendProvider> it = ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader()).iterator();
        while (true) {
            BackendProvider p;
            try {
                if (!it.hasNext()) {
                    break;
                }
                p = it.next();
            } catch (ServiceConfigurationError e) {
                // A broken provider must not take the CPU down with it; its kind then reads as absent.
                LOG.warn("ignoring a backend that cannot be loaded: {}", e.getMessage());
                continue;
            }
            BackendProvider first = found.putIfAbsent(p.kind(), p);
            if (first != null) {
                LOG.warn("two {} backends on the class path ({} and {}); using the first",
                        p.kind(), first.getClass().getName(), p.getClass().getName());
            }
        }
        return found;
    }
}
