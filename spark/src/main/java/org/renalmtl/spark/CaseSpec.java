package org.renalmtl.spark;

import java.io.Serializable;
import java.util.List;

/**
 * One case of the manifest as shipped to an executor: its id and where its files are, as written in the manifest.
 *
 * @param id     the case id
 * @param where  where in the manifest it is, for messages, e.g. {@code cases.csv line 4}
 * @param phases (phases) the phase cells, in the model's phase order
 * @param series (phases) the {@code PHASE_series} cells, empty where none
 * @param mask   the mask cell, empty when a segmentation model finds the tumour
 */
record CaseSpec(String id, String where, List<String> phases, List<String> series, String mask)
        implements Serializable {
    private static final long serialVersionUID = 1L;

    CaseSpec {
        phases = List.copyOf(phases);
        series = List.copyOf(series);
    }
}
