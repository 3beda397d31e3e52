package org.renalmtl.pipeline;

import java.io.Serializable;
import java.util.List;

/**
 * What wrote a cohort's results row: the weight file's SHA-256, the segmentation model's when one found the tumour
 * ({@code --seg-model}; empty when the manifest gave masks), the engine version and the options that change a
 * row's numbers ({@code --reorient}, {@code --label}, {@code --series}). Every row carries them, so a results file
 * is only ever resumed by the run that would have written the same rows. {@code --device}, {@code --part} and
 * {@code --retry-failed} are left out: they choose where and which cases run, not what a case's row says (CPU and
 * GPU agree to float rounding). Shared by the single-machine cohort runner and the Spark job (which ships it to the
 * executors), so that both write and check the same four cells.
 *
 * @param modelSha256    the weight file's SHA-256
 * @param segModelSha256 the segmentation model's SHA-256, or the empty string when the masks were given
 * @param engineVersion renal-mtl's version
 * @param options       the row-changing options, canonical (e.g. {@code reorient=none;label=largest;series=})
 */
public record Provenance(String modelSha256, String segModelSha256, String engineVersion, String options)
        implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The results columns, in this order, just before {@code seconds}. */
    public static final List<String> COLUMNS = List.of("model_sha256", "seg_model_sha256", "engine_version", "options");

    /**
     * The canonical options string of a cohort run.
     *
     * @param reorient {@code none} or {@code ras}
     * @param label    the mask label chosen, or null for the largest component
     * @param series   the {@code --series} values, in the order given
     * @return e.g. {@code reorient=none;label=largest;series=}
     */
    public static String options(String reorient, Integer label, List<String> series) {
        return "reorient=" + reorient + ";label=" + (label == null ? "largest" : label) + ";series="
                + String.join("|", series);
    }

    /** @return the row's values of {@link #COLUMNS}, unquoted */
    public List<String> cells() {
        return List.of(modelSha256, segModelSha256, engineVersion, options);
    }

    /**
     * @param cells a row's values of {@link #COLUMNS} (unquoted)
     * @return what differs, e.g. {@code model_sha256 ab12… (this run: cd34…)}, or null if nothing does
     */
    public String difference(List<String> cells) {
        List<String> mine = cells();
        for (int i = 0; i < COLUMNS.size(); i++) {
            if (!mine.get(i).equals(cells.get(i))) {
                return COLUMNS.get(i) + " '" + cells.get(i) + "' (this run: '" + mine.get(i) + "')";
            }
        }
        return null;
    }
}
