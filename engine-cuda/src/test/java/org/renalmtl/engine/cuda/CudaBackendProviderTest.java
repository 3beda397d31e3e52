package org.renalmtl.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.spi.BackendProvider;

/** This artifact's registration: the engine finds exactly this provider for CUDA, on any machine. */
class CudaBackendProviderTest {
    @Test
    void serviceLoaderFindsTheCudaProvider() {
        List<BackendProvider> found = ServiceLoader.load(BackendProvider.class).stream()
                .map(ServiceLoader.Provider::get).toList();
        assertEquals(1, found.size(), () -> "providers: " + found);
        BackendProvider p = found.get(0);
        assertEquals(CudaBackendProvider.class, p.getClass());
        assertEquals(Device.Kind.CUDA, p.kind());
        // It answers from the same probe as the rest of the backend (no GPU here: the same reason).
        assertEquals(CudaRuntime.available(), p.available());
        assertEquals(CudaRuntime.reason(), p.reason());
    }
}
