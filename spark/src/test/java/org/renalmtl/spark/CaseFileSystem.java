package org.renalmtl.spark;

import java.net.URI;
import org.apache.hadoop.fs.RawLocalFileSystem;

/**
 * The local disk under another scheme, {@code casefs:}, so that a test exercises what the job does with files that
 * are not on {@code file:} (a cluster's {@code hdfs:} or {@code s3a:}): copying them to the executor, naming the
 * original URI in messages, and reaching the file system with the driver's Hadoop configuration, which alone knows
 * {@code fs.casefs.impl}.
 */
public final class CaseFileSystem extends RawLocalFileSystem {
    /** The scheme. */
    static final String SCHEME = "casefs";

    @Override
    public URI getUri() {
        return URI.create(SCHEME + ":///");
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }
}
