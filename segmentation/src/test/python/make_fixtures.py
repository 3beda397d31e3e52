"""Writes the oracle's view of every stage for the Java tests (SegmentationOracleTest): for each case a
case.json (settings, properties, network), the inputs as NIfTI, and raw little-endian arrays:
pre.f32 (C, D, H, W) preprocessed data; gaussian.f16 (pz, py, px); logits.f16 / logits32.f32 (K, D, H, W)
sliding window on pre.f32; resampled.f16 (K, crop) logits back on the cropped grid; labels.u8 (file z, y, x);
probs.f32 (K, file z, y, x) when asked for. Deterministic (seeded); a few MB in all."""
import argparse
import json
import os

import nibabel as nib
import numpy as np
import torch

import nnunet_reference as ref


def write(path, arr, dtype):
    np.ascontiguousarray(arr, dtype=dtype).astype(np.dtype(dtype).newbyteorder('<')).tofile(path)


def synthetic_volume(rng, shape, zero_border, hole, scale, offset):
    z, y, x = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing='ij')
    v = offset + scale * (np.sin(3 * x + 1) * np.cos(2 * y) + 0.5 * z + 0.3 * rng.standard_normal(shape))
    v = v.astype(np.float32)
    v[v == 0] = 1.0
    (bz, by, bx) = zero_border
    v[:bz[0]] = 0
    v[shape[0] - bz[1]:] = 0
    v[:, :by[0]] = 0
    v[:, shape[1] - by[1]:] = 0
    v[:, :, :bx[0]] = 0
    v[:, :, shape[2] - bx[1]:] = 0
    if hole:
        c = [n // 2 for n in shape]
        v[c[0] - 1:c[0] + 1, c[1] - 2:c[1] + 2, c[2] - 2:c[2] + 2] = 0
    return v


def save_nifti(path, zyx, spacing_zyx, origin, dtype=np.float32):
    affine = np.diag([spacing_zyx[2], spacing_zyx[1], spacing_zyx[0], 1.0])
    affine[:3, 3] = origin
    img = nib.Nifti1Image(zyx.transpose(2, 1, 0).astype(dtype), affine)
    img.header.set_qform(affine, 1)
    img.header.set_sform(affine, 1)
    nib.save(img, path)


def run_case(out, name, files, s, rng, probabilities):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    images = [ref.read_image(f) for f in files]
    data = np.concatenate([i[0] for i in images])
    spacing = images[0][1]
    c = data.shape[0]
    k = s['num_heads']
    p = s['patch_size']
    w = rng.uniform(-1, 1, (k, c)).astype(np.float32)
    b = rng.uniform(-0.5, 0.5, k).astype(np.float32)
    pos = rng.uniform(-0.3, 0.3, (k, *p)).astype(np.float32)
    net = ref.SimpleNet(w, b, pos)

    pre, props = ref.preprocess(data, spacing, s)
    write(os.path.join(d, 'pre.f32'), pre, np.float32)
    pre_t = np.ascontiguousarray(pre, dtype=np.float32)
    logits, g = ref.sliding_window(pre_t, s, net, torch.half)
    write(os.path.join(d, 'gaussian.f16'), g.numpy(), np.float16)
    write(os.path.join(d, 'logits.f16'), logits.numpy(), np.float16)
    logits32, _ = ref.sliding_window(pre_t, s, net, torch.float32)
    write(os.path.join(d, 'logits32.f32'), logits32.numpy(), np.float32)
    resampled, labels, probs = ref.export(logits, props, s, probabilities)
    write(os.path.join(d, 'resampled.f16'), resampled, np.float16)
    write(os.path.join(d, 'labels.u8'), labels, np.uint8)
    if probabilities:
        write(os.path.join(d, 'probs.f32'), probs, np.float32)
    _, labels32, _ = ref.export(logits32, props, s, False)
    write(os.path.join(d, 'labels32.u8'), labels32, np.uint8)
    write(os.path.join(d, 'net_w.f32'), w, np.float32)
    write(os.path.join(d, 'net_b.f32'), b, np.float32)
    write(os.path.join(d, 'net_p.f32'), pos, np.float32)
    meta = {'settings': s, 'files': [os.path.abspath(f) for f in files], 'properties': props,
            'file_shape': list(data.shape[1:]), 'probabilities': probabilities}
    with open(os.path.join(d, 'case.json'), 'w') as f:
        json.dump(meta, f, indent=1)


def settings(patch, spacing, channels, k, mirror, tf=(0, 1, 2), rco=None, data_kw=None, prob_kw=None):
    tb = [int(i) for i in np.argsort(tf)]
    return {'patch_size': list(patch), 'spacing': list(spacing), 'transpose_forward': list(tf),
            'transpose_backward': tb, 'channels': channels, 'num_heads': k, 'regions_class_order': rco,
            'mirroring_axes': list(mirror),
            'resampling': {'data': data_kw or {'order': 3, 'order_z': 0, 'force_separate_z': None,
                                               'separate_z_anisotropy_threshold': 3.0},
                           'probabilities': prob_kw or {'order': 1, 'order_z': 0, 'force_separate_z': None,
                                                        'separate_z_anisotropy_threshold': 3.0}}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--ct', required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(20260511)

    # (a) anisotropic, two channels, zero border and an inner hole: separate z (4.0 mm slices) both ways
    shape = (13, 37, 41)
    sp = (4.0, 0.9, 1.1)
    f0 = os.path.join(a.out, 'sepz_c0.nii.gz')
    f1 = os.path.join(a.out, 'sepz_c1.nii.gz')
    v0 = synthetic_volume(rng, shape, ((1, 2), (3, 2), (2, 5)), True, 300.0, 40.0)
    v1 = synthetic_volume(rng, shape, ((1, 2), (3, 2), (2, 5)), True, 2.0, 5.0)
    v1[v0 == 0] = 0
    save_nifti(f0, v0, sp, (-20.0, 11.5, 30.25))
    save_nifti(f1, v1, sp, (-20.0, 11.5, 30.25))
    ch = [{'name': 'CTNormalization', 'use_mask_for_norm': False, 'mean': 35.0, 'std': 180.0,
           'percentile_00_5': -250.0, 'percentile_99_5': 310.0},
          {'name': 'ZScoreNormalization', 'use_mask_for_norm': True}]
    run_case(a.out, 'sepz', [f0, f1], settings((8, 16, 16), (3.0, 1.2, 1.2), ch, 3, (0, 2)), rng, False)

    # (b) transposed axes, regions, an axis smaller than the patch (odd padding), cubic 3-D path
    shape = (20, 9, 25)
    sp = (1.5, 1.1, 0.9)
    f2 = os.path.join(a.out, 'regions_c0.nii.gz')
    v2 = synthetic_volume(rng, shape, ((0, 0), (0, 0), (0, 0)), False, 1.5, 0.2)
    save_nifti(f2, v2, sp, (3.0, -4.0, 7.0))
    ch = [{'name': 'NoNormalization', 'use_mask_for_norm': False}]
    run_case(a.out, 'regions', [f2], settings((16, 15, 13), (1.0, 1.3, 1.2), ch, 3, (0, 1, 2), tf=(2, 0, 1),
                                              rco=[1, 2, 3]), rng, True)

    # (c) real CT crop, CT normalisation, 3 mm -> 4 x 2 x 2 mm (z rounds half to even: 22.5 -> 22)
    ch = [{'name': 'CTNormalization', 'use_mask_for_norm': False, 'mean': 103.0, 'std': 73.3,
           'percentile_00_5': -58.0, 'percentile_99_5': 302.0}]
    run_case(a.out, 'ct', [a.ct], settings((16, 48, 48), (4.0, 2.0, 2.0), ch, 4, (0, 1, 2)), rng, True)


if __name__ == '__main__':
    main()
