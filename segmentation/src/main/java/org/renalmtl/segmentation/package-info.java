/**
 * nnU-Net v2 inference as {@code nnUNetPredictor} does it, for one trained 3-D network: read channels →
 * {@link org.renalmtl.segmentation.Preprocessor} (transpose, crop to the non-zero box, normalise, resample) →
 * {@link org.renalmtl.segmentation.SlidingWindow} (Gaussian-weighted tiles, mirroring, fp16 or fp32
 * accumulation) → {@link org.renalmtl.segmentation.Exporter} (logits back to the input grid, argmax or regions,
 * uint8 label map with the input's affine). The network is a {@link org.renalmtl.segmentation.PatchNetwork}
 * callback, so any backend can run it.
 */
package org.renalmtl.segmentation;
