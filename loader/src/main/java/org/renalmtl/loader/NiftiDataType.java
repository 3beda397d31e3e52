package org.renalmtl.loader;

/**
 * The NIfTI voxel data types this loader reads (all scalar types of nifti1.h; complex and RGB types are
 * refused). Values are converted to float32 on load; 32- and 64-bit integers beyond 2^24 lose precision,
 * which is irrelevant for CT numbers and label maps.
 */
public enum NiftiDataType {
    /** DT_UINT8. */
    UINT8(2, 1),
    /** DT_INT16. */
    INT16(4, 2),
    /** DT_INT32. */
    INT32(8, 4),
    /** DT_FLOAT32. */
    FLOAT32(16, 4),
    /** DT_FLOAT64. */
    FLOAT64(64, 8),
    /** DT_INT8. */
    INT8(256, 1),
    /** DT_UINT16. */
    UINT16(512, 2),
    /** DT_UINT32. */
    UINT32(768, 4),
    /** DT_INT64. */
    INT64(1024, 8),
    /** DT_UINT64. */
    UINT64(1280, 8);

    private final int code;
    private final int bytes;

    NiftiDataType(int code, int bytes) {
        this.code = code;
        this.bytes = bytes;
    }

    /** @return the nifti1.h datatype code */
    public int code() {
        return code;
    }

    /** @return bytes per voxel */
    public int bytes() {
        return bytes;
    }

    /**
     * @param code a nifti1.h datatype code
     * @return the type, or null when the code is not a supported scalar type
     */
    public static NiftiDataType fromCode(int code) {
        for (NiftiDataType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        return null;
    }
}
