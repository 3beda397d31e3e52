package org.renalmtl.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The names {@code --precision} and the JSON reports use. */
class PrecisionTest {
    @Test
    void precisionNames() {
        assertEquals(Precision.TF32, Precision.parse(" tf32 "));
        assertEquals("bf16", Precision.BF16.label());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Precision.parse("fp8"));
        assertTrue(e.getMessage().contains("fp8"));
    }
}
