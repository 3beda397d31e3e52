package org.renalmtl.engine.cpu;

import java.lang.foreign.MemorySegment;
import org.bytedeco.javacpp.Pointer;

/**
 * A JavaCPP pointer whose address can be re-aimed without allocating: lets a planned forward pass
 * hand oneDNN a new input address on every call with zero Java allocation.
 */
final class MutablePointer extends Pointer {
    MutablePointer(MemorySegment seg) {
        aim(seg);
    }

    /** Points at {@code seg}'s first byte. */
    void aim(MemorySegment seg) {
        address = seg.address();
        limit = seg.byteSize();
        capacity = seg.byteSize();
    }
}
