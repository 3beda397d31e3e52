package org.renalmtl.cli;

import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * {@code --part K/N}: the K-th of N disjoint parts of a cohort, chosen by case id alone so that every machine given
 * the same list agrees, and adding or reordering cases never moves another case to a different part. A case belongs
 * to part {@code 1 + (u mod N)}, u being the first 8 bytes of the SHA-256 of its UTF-8 id read as an unsigned
 * big-endian number (in Python: {@code int(hashlib.sha256(id.encode()).hexdigest()[:16], 16) % N + 1}).
 *
 * @param k this part, 1 to n
 * @param n the number of parts
 */
record CohortPart(int k, int n) {
    /** The whole cohort. */
    static final CohortPart ALL = new CohortPart(1, 1);

    CohortPart {
        if (n < 1 || k < 1 || k > n) {
            throw new InputException("--part " + k + "/" + n + ": needs 1 <= K <= N (e.g. --part 1/4)");
        }
    }

    /**
     * @param spec {@code K/N}, or null for the whole cohort
     * @return the part
     */
    static CohortPart parse(String spec) {
        if (spec == null) {
            return ALL;
        }
        String[] kn = spec.split("/", -1);
        if (kn.length != 2 || !kn[0].matches("\\d{1,9}") || !kn[1].matches("\\d{1,9}")) {
            throw new InputException("--part " + spec + ": expected K/N, e.g. --part 1/4 (the first of four parts)");
        }
        return new CohortPart(Integer.parseInt(kn[0]), Integer.parseInt(kn[1]));
    }

    /** @return whether the case with this id is in this part */
    boolean contains(String caseId) {
        return n == 1 || of(caseId, n) == k;
    }

    /** @return the part, 1 to n, that holds this case id */
    static int of(String caseId, int n) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(caseId.getBytes(StandardCharsets.UTF_8));
            return (int) Long.remainderUnsigned(ByteBuffer.wrap(h, 0, 8).getLong(), n) + 1;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every Java platform has SHA-256
        }
    }
}
