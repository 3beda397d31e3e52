package org.renalmtl.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class AgreementTest {

    @Test
    void sameModelWithinFloat32NoiseAgrees() {
        Agreement a = new Agreement("probabilities", Agreement.PROBABILITY_TOLERANCE, List.of("renalMtl", "libtorch", "onnxRuntime"), List.of(
                new float[] {0.51632464f, 0.50382257f, 0.5092282f},
                new float[] {0.51632470f, 0.50382250f, 0.5092282f},
                new float[] {0.51632464f, 0.50382257f, 0.5092290f}));
        assertTrue(a.agrees());
        // float32 spacing near 0.5 is 6e-8: the differences above are 1 or 2 ulps, 8e-7 at most
        assertEquals(8e-7, a.worst(), 1e-7);
        assertTrue(a.report().contains("probabilities: largest difference"));
    }

    @Test
    void anotherModelsProbabilitiesAreAMismatch() {
        // seed-0 and seed-1 R18-3P-96 MTDL probabilities on the same input (export.py --named, torch 1.13)
        Agreement a = new Agreement("probabilities", Agreement.PROBABILITY_TOLERANCE, List.of("renalMtl", "libtorch"), List.of(
                new float[] {0.5163f, 0.5038f, 0.5092f},
                new float[] {0.5159f, 0.4956f, 0.5200f}));
        assertFalse(a.agrees());
        assertEquals(0.0108, a.maxAbsDifference(0, 1), 1e-6);
        assertTrue(a.report().contains("MISMATCH"));
    }

    @Test
    void justOverTheToleranceFails() {
        Agreement a = new Agreement("probabilities", Agreement.PROBABILITY_TOLERANCE, List.of("a", "b"), List.of(new float[] {0.5f}, new float[] {0.5f + 1.5e-4f}));
        assertFalse(a.agrees());
    }

    @Test
    void nanNeverAgrees() {
        Agreement a = new Agreement("probabilities", Agreement.PROBABILITY_TOLERANCE, List.of("a", "b"), List.of(new float[] {0.5f, Float.NaN}, new float[] {0.5f, 0.5f}));
        assertTrue(Double.isNaN(a.worst()));
        assertFalse(a.agrees());
    }

    @Test
    void outputsOfDifferentLengthAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new Agreement("probabilities", Agreement.PROBABILITY_TOLERANCE, List.of("a", "b"),
                List.of(new float[3], new float[6])));
    }
}
