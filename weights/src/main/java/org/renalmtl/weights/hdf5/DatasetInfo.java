package org.renalmtl.weights.hdf5;

import java.util.List;

/**
 * What a dataset is and where its bytes are, found from its metadata alone (nothing is read).
 *
 * @param name the dataset's path in the file
 * @param shape its dimensions (empty for a scalar)
 * @param bytesPerElement the stored element size
 * @param isFloat whether the element type is of the floating-point class
 * @param ieee whether the element type is an IEEE 754 binary16, binary32 or binary64 (either byte
 *     order), the only floats this reader converts; false for any other float layout
 * @param storageProblem why the data cannot be read from this file (external, virtual, filtered,
 *     unwritten, out of the file...), or null when it can: then {@code storageRanges} covers exactly
 *     {@code elements() * bytesPerElement} bytes inside the file
 * @param storageRanges the (offset, length) byte ranges of the file that hold the data
 */
public record DatasetInfo(
        String name,
        long[] shape,
        int bytesPerElement,
        boolean isFloat,
        boolean ieee,
        String storageProblem,
        List<long[]> storageRanges) {

    /** @return the number of elements (the shape's product; checked not to overflow when inspected) */
    public long elements() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** @return the bytes the stored data occupies */
    public long storedBytes() {
        return elements() * bytesPerElement;
    }
}
