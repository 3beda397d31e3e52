package org.renalmtl.cli;

import org.renalmtl.engine.Device;
import picocli.CommandLine.Option;

/** {@code --device auto|cpu|cuda[:N]}, shared by every command that runs a model. */
final class DeviceOption {
    @Option(names = "--device", defaultValue = "auto", paramLabel = "DEVICE",
            description = "auto (GPU if present, else CPU), cpu, cuda or cuda:N. Default: ${DEFAULT-VALUE}.")
    String device;

    Device parse() {
        try {
            return Device.parse(device);
        } catch (IllegalArgumentException e) {
            throw new InputException(e.getMessage());
        }
    }
}
