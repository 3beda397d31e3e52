package org.renalmtl.weights.hdf5;

import java.nio.file.Path;

/** An HDF5 file that cannot be opened, read or written; the message names the file. */
public final class Hdf5Exception extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The file concerned. */
    private final transient Path file;

    /**
     * @param file the file concerned
     * @param problem a short phrase
     */
    public Hdf5Exception(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    /** @return the file concerned */
    public Path file() {
        return file;
    }
}
