package org.renalmtl.loader.measure;

/**
 * HU statistics of one phase inside the tumour mask.
 *
 * @param source  the phase's file
 * @param meanHu  mean HU over the mask voxels
 * @param sdHu    sample standard deviation (n − 1), 0 for a single voxel
 * @param samples number of mask voxels that fell inside the phase's image
 */
public record PhaseStats(String source, double meanHu, double sdHu, int samples) {
}
