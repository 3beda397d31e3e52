package org.renalmtl.loader.phantom;

/**
 * What a phantom's tumour is by construction.
 *
 * @param centreMm          tumour centre, world (x, y, z) mm
 * @param semiAxesMm        ellipsoid semi-axes along world x, y, z, mm
 * @param volumeMl          analytic volume 4/3·π·abc, ml
 * @param maxDiameterMm     analytic maximum diameter: twice the largest semi-axis, mm
 * @param renalRPoints      R.E.N.A.L. R of the analytic diameter
 * @param enhancementHu     tumour HU before noise in the arterial, venous and delayed phase
 */
public record PhantomTruth(double[] centreMm, double[] semiAxesMm, double volumeMl, double maxDiameterMm,
                           int renalRPoints, double[] enhancementHu) {

    /** Copies the arrays. */
    public PhantomTruth {
        centreMm = centreMm.clone();
        semiAxesMm = semiAxesMm.clone();
        enhancementHu = enhancementHu.clone();
    }

    @Override
    public double[] centreMm() {
        return centreMm.clone();
    }

    @Override
    public double[] semiAxesMm() {
        return semiAxesMm.clone();
    }

    @Override
    public double[] enhancementHu() {
        return enhancementHu.clone();
    }
}
