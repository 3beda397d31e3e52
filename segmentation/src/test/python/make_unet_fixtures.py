"""End-to-end fixtures with a real U-Net (SegmentationUNetEndToEndTest): for each case a seeded synthetic nnU-Net v2
model folder (weights/export/make_nnunet_folder.py), its export (export.py --nnunet, the real CLI, restricted
unpickler) to model.h5, and the reference pipeline (nnunet_reference.py) on the real CT crop with the PyTorch U-Net
loaded from the folder's checkpoint as nnUNetPredictor loads it (strict state dict, eval, float32 on the CPU),
test-time mirroring over the checkpoint's inference_allowed_mirroring_axes and fp16 accumulation.

Everything the reference needs is read from the folder (plans.json, dataset.json, the checkpoint), not from the
exported file, so a wrong export shows up as a label difference. Per case, in the layout of make_fixtures.py
(OracleCase reads it): case.json, nnunet_folder/, model.h5, resampled.f16 (K, crop) the fp16 logits back on the
cropped grid, labels.u8 (file z, y, x), probs.f32 (K, file z, y, x). About 2 MB a case, a few seconds: PyTorch runs
on one thread (Debian's 1.13 build is ten times slower with two threads on two contended cores).
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch

import nnunet_reference as ref
from make_fixtures import write

CASES = {
    # label-based KiTS23-like (background, kidney, tumor, cyst); the crop (30, 56, 64) at 3 mm resamples to
    # (18, 42, 48) at (5, 4, 4) mm: 2 x 2 x 2 tiles of 16 x 32 x 32 overlapping on every axis; mirroring over the
    # checkpoint's axes (2,): 2 network runs per tile
    'unet_plain': dict(cls='PlainConvUNet', regions=False, seed=11, features=(4, 8, 16, 32), patch=(16, 32, 32),
                       mirror=(2,), spacing=(5.0, 4.0, 4.0)),
    # region-based (kidney [1,2,3], masses [2,3], tumor 2) ResidualEncoderUNet; (6, 5, 5) mm -> (15, 34, 38):
    # z below the patch (padded), 1 x 2 x 2 tiles; mirroring over axes (0, 1): 4 network runs per tile
    'unet_resenc_regions': dict(cls='ResidualEncoderUNet', regions=True, seed=12, features=(4, 8, 16, 32),
                                patch=(16, 32, 32), mirror=(0, 1), spacing=(6.0, 5.0, 5.0)),
}

# The last seg layer is rescaled so that the random network's logits spread (a few units) and re-biased so that
# every output wins somewhere on the CT crop: a random U-Net otherwise gives near-constant labels.
LOGIT_GAIN = 3.0


def settings_from_folder(folder):
    """nnU-Net's own reading of a model folder into the reference's settings dict (not via export.py)."""
    with open(os.path.join(folder, 'plans.json')) as f:
        plans = json.load(f)
    with open(os.path.join(folder, 'dataset.json')) as f:
        dataset = json.load(f)
    ckpt = torch.load(os.path.join(folder, 'fold_0', 'checkpoint_final.pth'), map_location='cpu')
    cfg = plans['configurations'][ckpt['init_args']['configuration']]
    props = plans['foreground_intensity_properties_per_channel']
    channels = []
    for i, scheme in enumerate(cfg['normalization_schemes']):
        c = {'name': scheme, 'use_mask_for_norm': cfg['use_mask_for_norm'][i]}
        c.update({k: props[str(i)][k] for k in ('mean', 'std', 'percentile_00_5', 'percentile_99_5')})
        channels.append(c)

    def kwargs(which):
        kw = cfg['resampling_fn_%s_kwargs' % which]
        return {'order': kw['order'], 'order_z': kw['order_z'], 'force_separate_z': kw['force_separate_z'],
                'separate_z_anisotropy_threshold': kw.get('separate_z_anisotropy_threshold', 3.0)}

    rco = dataset.get('regions_class_order')
    labels = dataset['labels']
    heads = len(rco) if rco is not None else len(set(v for v in labels.values() if isinstance(v, int)))
    s = {'patch_size': cfg['patch_size'], 'spacing': cfg['spacing'], 'transpose_forward': plans['transpose_forward'],
         'transpose_backward': plans['transpose_backward'], 'channels': channels, 'num_heads': heads,
         'regions_class_order': rco, 'mirroring_axes': list(ckpt['inference_allowed_mirroring_axes']),
         'resampling': {'data': kwargs('data'), 'probabilities': kwargs('probabilities')}}
    return s, ckpt


def condition_seg_layer(folder, net, pre, s):
    """Scale the last seg layer by LOGIT_GAIN and set its bias from the network's output on the centre tile so
    that each output is on top (labels) or positive (regions) for a fair share of voxels; rewrite the checkpoint."""
    from renal_mtl.unet import SegUNet
    path = os.path.join(folder, 'fold_0', 'checkpoint_final.pth')
    ckpt = torch.load(path, map_location='cpu')
    state = ckpt['network_weights']
    last = 'decoder.seg_layers.%d.' % (len(net['features_per_stage']) - 2)
    state[last + 'weight'].mul_(LOGIT_GAIN)
    state[last + 'bias'].zero_()
    model = SegUNet(net)
    model.load_state_dict(state, strict=True)
    model.eval()
    p = s['patch_size']
    padded, _ = ref.pad_to(np.ascontiguousarray(pre, dtype=np.float32), p)
    c = [max(0, (n - k) // 2) for n, k in zip(padded.shape[1:], p)]
    tile = torch.from_numpy(np.ascontiguousarray(padded[:, c[0]:c[0] + p[0], c[1]:c[1] + p[1], c[2]:c[2] + p[2]]))
    heads = s['num_heads']
    with torch.no_grad():
        out = model(tile[None])[0].reshape(heads, -1)
    if s['regions_class_order'] is None:
        bias = -out.median(1).values  # centred: each class wins where it is above its own median
    else:
        # nested regions: later regions overwrite earlier ones, so give each a smaller positive share
        q = torch.tensor([0.4, 0.7, 0.85][:heads])
        bias = -torch.stack([torch.quantile(out[k], q[k]) for k in range(heads)])
    state[last + 'bias'].copy_(bias)
    torch.save(ckpt, path)


def load_network(folder, ckpt):
    """As nnUNetPredictor.initialize_from_trained_model_folder: the network its plans describe, the checkpoint's
    network_weights loaded strictly, eval mode, float32 on the CPU (nnU-Net's CPU inference has no autocast)."""
    from nnunet_export import network_from_architecture, label_heads
    from renal_mtl.unet import SegUNet
    with open(os.path.join(folder, 'plans.json')) as f:
        plans = json.load(f)
    with open(os.path.join(folder, 'dataset.json')) as f:
        dataset = json.load(f)
    cfg = plans['configurations'][ckpt['init_args']['configuration']]
    heads, _ = label_heads(dataset['labels'], dataset.get('regions_class_order'), 'dataset.json')
    net = network_from_architecture(cfg['architecture'], len(dataset['channel_names']), heads, 'plans.json')
    model = SegUNet(net)
    model.load_state_dict(ckpt['network_weights'], strict=True)
    return model.eval().float()


def run_case(out, name, ct, export_dir, spec):
    import make_nnunet_folder as mk
    d = os.path.join(out, name)
    folder = os.path.join(d, 'nnunet_folder')
    os.makedirs(d, exist_ok=True)
    net, _ = mk.make_model_folder(folder, spec['cls'], spec['regions'], spec['seed'], spec['features'], spec['patch'],
                                  mirror=spec['mirror'], spacing=spec['spacing'])
    s, _ = settings_from_folder(folder)
    data, spacing, _ = ref.read_image(ct)
    pre, props = ref.preprocess(data, spacing, s)
    condition_seg_layer(folder, net, pre, s)
    s, ckpt = settings_from_folder(folder)

    h5 = os.path.join(d, 'model.h5')
    subprocess.run([sys.executable, os.path.join(export_dir, 'export.py'), '--nnunet', folder, '--fold', '0',
                    '--out', h5], check=True, stdout=subprocess.DEVNULL)

    model = load_network(folder, ckpt)

    def network(x):
        with torch.no_grad():
            return model(x)

    pre = np.ascontiguousarray(pre, dtype=np.float32)
    logits, _ = ref.sliding_window(pre, s, network, torch.half, mirroring=True)
    resampled, labels, probs = ref.export(logits, props, s, True)
    write(os.path.join(d, 'resampled.f16'), resampled, np.float16)
    write(os.path.join(d, 'labels.u8'), labels, np.uint8)
    write(os.path.join(d, 'probs.f32'), probs, np.float32)
    counts = np.bincount(labels.ravel(), minlength=4)
    meta = {'settings': s, 'files': [os.path.abspath(ct)], 'properties': props, 'file_shape': list(data.shape[1:]),
            'probabilities': True, 'model': os.path.abspath(h5),
            'max_abs_logit': float(logits.abs().max()), 'label_counts': [int(c) for c in counts]}
    with open(os.path.join(d, 'case.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    print('%s: resampled %s, label counts %s' % (name, props['resampled_shape'], counts.tolist()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--ct', required=True)
    ap.add_argument('--export-dir', required=True, help='weights/export (make_nnunet_folder.py, export.py)')
    a = ap.parse_args()
    sys.path.insert(0, os.path.abspath(a.export_dir))
    torch.set_num_threads(1)
    for name, spec in CASES.items():
        run_case(a.out, name, a.ct, a.export_dir, spec)


if __name__ == '__main__':
    main()
