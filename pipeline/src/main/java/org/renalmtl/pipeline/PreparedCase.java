package org.renalmtl.pipeline;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.renalmtl.loader.ImageInput;
import org.renalmtl.loader.MaskSelection;
import org.renalmtl.loader.dicom.DicomSeries;
import org.renalmtl.loader.measure.TumourMeasurements;
import org.renalmtl.loader.preprocess.PreprocessedInput;

/**
 * One case read, cropped, normalised and measured ({@link CasePipeline#prepare}), waiting for the network
 * ({@link CasePipeline#infer}). It holds only the network input (phases × D × H × W floats, about 10.6 MB for
 * 3 × 96³) and the measurements: the whole scans are closed already, so a cohort can keep a few prepared
 * cases ahead of the model at little memory. Close it (or let {@code infer} use it up) to free the input.
 */
public final class PreparedCase implements AutoCloseable {
    final List<ImageInput> phaseInputs;
    final List<Optional<DicomSeries>> series; // (phases) the DICOM series read, empty for NIfTI
    final Path maskFile;
    final MaskSelection selection;
    final PreprocessedInput input;            // data (phases, D, H, W) float32, off-heap
    final TumourMeasurements tumour;
    final List<String> warnings;
    final Map<String, Double> timings;        // load_s, preprocess_s, measure_s so far (seconds)

    PreparedCase(List<ImageInput> phaseInputs, List<Optional<DicomSeries>> series, Path maskFile,
            MaskSelection selection, PreprocessedInput input, TumourMeasurements tumour, List<String> warnings,
            Map<String, Double> timings) {
        this.phaseInputs = phaseInputs;
        this.series = series;
        this.maskFile = maskFile;
        this.selection = selection;
        this.input = input;
        this.tumour = tumour;
        this.warnings = warnings;
        this.timings = timings;
    }

    /** @return seconds spent reading, preprocessing and measuring the case */
    public double prepareSeconds() {
        return timings.values().stream().mapToDouble(Double::doubleValue).sum();
    }

    /** Frees the network input. */
    @Override
    public void close() {
        input.close();
    }
}
