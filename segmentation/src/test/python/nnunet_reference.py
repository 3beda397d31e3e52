"""An independent Python reference of nnU-Net v2's inference steps, written from nnunetv2's code
(preprocessing/preprocessors/default_preprocessor.py, cropping/cropping.py,
normalization/default_normalization_schemes.py, resampling/default_resampling.py,
inference/sliding_window_prediction.py, predict_from_raw_data.py, export_prediction.py) and acvl_utils'
padding and bounding-box helpers. It calls the same library functions nnU-Net calls (skimage resize, scipy
map_coordinates, gaussian_filter, binary_fill_holes, torch fp16 tensors) so that it is the oracle the Java
pipeline is held to. Arrays are (c, z, y, x) as nnU-Net's NIfTI readers return them."""
import itertools
from copy import deepcopy

import nibabel as nib
import numpy as np
import torch
from scipy.ndimage import binary_fill_holes, gaussian_filter, map_coordinates
from skimage.transform import resize


def read_image(path):
    """NibabelIO.read_images: data transposed to (z, y, x), spacing reversed."""
    img = nib.load(path)
    data = img.get_fdata().transpose((2, 1, 0))[None].astype(np.float32)
    spacing = [float(s) for s in img.header.get_zooms()[:3]][::-1]
    return data, spacing, img.affine


# ---------------------------------------------------------------- cropping
def nonzero_bbox(mask):
    box = []
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        hit = np.where(np.any(mask, axis=other))[0]
        box.append([int(hit[0]), int(hit[-1]) + 1])
    return box


def crop_to_nonzero(data):
    mask = data[0] != 0
    for c in range(1, data.shape[0]):
        mask |= data[c] != 0
    mask = binary_fill_holes(mask)
    box = nonzero_bbox(mask)
    sl = tuple(slice(a, b) for a, b in box)
    seg = np.where(mask[sl], np.int8(0), np.int8(-1))[None]
    return data[(slice(None),) + sl], seg, box


# ---------------------------------------------------------------- normalisation
def normalise(image, scheme, seg):
    eps = 1e-8
    image = image.astype(np.float32, copy=False)
    if scheme['name'] == 'CTNormalization':
        np.clip(image, scheme['percentile_00_5'], scheme['percentile_99_5'], out=image)
        image -= scheme['mean']
        image /= max(scheme['std'], eps)
    elif scheme['name'] == 'ZScoreNormalization':
        if scheme['use_mask_for_norm']:
            mask = seg >= 0
            mean = image[mask].mean()
            std = image[mask].std()
            image[mask] = (image[mask] - mean) / max(std, eps)
        else:
            mean = image.mean()
            std = image.std()
            image -= mean
            image /= max(std, eps)
    elif scheme['name'] != 'NoNormalization':
        raise ValueError(scheme['name'])
    return image


# ---------------------------------------------------------------- resampling
def new_shape_for(old_shape, old_spacing, new_spacing):
    return np.array([int(round(o / n * s)) for o, n, s in zip(old_spacing, new_spacing, old_shape)])


def _lowres_axis(spacing):
    return np.where(max(spacing) / np.array(spacing) == 1)[0]


def separate_z(force, current, new, threshold):
    if force is not None:
        axis = _lowres_axis(current) if force else None
        do = bool(force)
    elif max(current) / min(current) > threshold:
        do, axis = True, _lowres_axis(current)
    elif max(new) / min(new) > threshold:
        do, axis = True, _lowres_axis(new)
    else:
        do, axis = False, None
    if axis is not None:
        if len(axis) != 1:
            return False, None
        axis = int(axis[0])
    return do, axis


def resample(data, new_shape, current_spacing, new_spacing, kw):
    """resample_data_or_seg_to_shape for images / logits (never segmentations)."""
    do_sep, axis = separate_z(kw['force_separate_z'], current_spacing, new_spacing,
                              kw['separate_z_anisotropy_threshold'])
    order, order_z = kw['order'], kw['order_z']
    shape = np.array(data[0].shape)
    new_shape = np.array(new_shape)
    out = np.zeros((data.shape[0], *new_shape), dtype=data.dtype)
    if not np.any(shape != new_shape):
        return data
    data = data.astype(float, copy=False)
    opts = {'mode': 'edge', 'anti_aliasing': False}
    for c in range(data.shape[0]):
        if not do_sep:
            out[c] = resize(data[c], new_shape, order, **opts)
            continue
        plane = [a for a in range(3) if a != axis]
        tmp_shape = new_shape.copy()
        tmp_shape[axis] = shape[axis]
        here = np.zeros(tmp_shape)
        for i in range(shape[axis]):
            src = np.take(data[c], i, axis=axis)
            idx = [slice(None)] * 3
            idx[axis] = i
            here[tuple(idx)] = resize(src, new_shape[plane], order, **opts)
        if shape[axis] != new_shape[axis]:
            scales = [h / n for h, n in zip(here.shape, new_shape)]
            grid = np.mgrid[:new_shape[0], :new_shape[1], :new_shape[2]].astype(float)
            coords = np.array([s * (g + 0.5) - 0.5 for s, g in zip(scales, grid)])
            out[c] = map_coordinates(here, coords, order=order_z, mode='nearest')
        else:
            out[c] = here
    return out


def preprocess(data, spacing, s):
    tf = s['transpose_forward']
    data = data.astype(np.float32).transpose([0, *[i + 1 for i in tf]])
    spacing_t = [spacing[i] for i in tf]
    shape_before = data.shape[1:]
    data, seg, box = crop_to_nonzero(data)
    shape_crop = data.shape[1:]
    target = new_shape_for(shape_crop, spacing_t, s['spacing'])
    for c in range(data.shape[0]):
        data[c] = normalise(data[c], s['channels'][c], seg[0])
    data = resample(data, target, spacing_t, s['spacing'], s['resampling']['data'])
    props = {'spacing_t': spacing_t, 'shape_before_cropping': list(shape_before), 'bbox': box,
             'shape_after_cropping': list(shape_crop), 'resampled_shape': [int(v) for v in target]}
    return data, props


# ---------------------------------------------------------------- sliding window
def gaussian(patch, dtype):
    tmp = np.zeros(patch)
    tmp[tuple(p // 2 for p in patch)] = 1
    g = gaussian_filter(tmp, [p * (1. / 8) for p in patch], 0, mode='constant', cval=0)
    g /= (np.max(g) / 10)
    g = torch.from_numpy(g).to(dtype=dtype)
    zero = g == 0
    g[zero] = torch.min(g[~zero])
    return g


def steps_for(size, patch, step=0.5):
    out = []
    for i, k in zip(size, patch):
        n = int(np.ceil((i - k) / (k * step))) + 1
        actual = (i - k) / (n - 1) if n > 1 else 99999999999
        out.append([int(np.round(actual * j)) for j in range(n)])
    return out


def pad_to(data, patch):
    old = np.array(data.shape[1:])
    new = np.maximum(old, patch)
    diff = new - old
    below, above = diff // 2, diff // 2 + diff % 2
    padded = np.pad(data, [[0, 0]] + [[int(b), int(a)] for b, a in zip(below, above)], 'constant')
    return padded, tuple(slice(int(b), int(b + o)) for b, o in zip(below, old))


class SimpleNet:
    """logits[k] = b[k] + sum_c W[k, c]·x[c] + P[k]·x[0]: pointwise in the channels, but P makes it depend on
    the position inside the tile, so mirroring and tile placement are visible. Float32, fixed operation order."""

    def __init__(self, w, b, p):
        self.w = torch.from_numpy(w)
        self.b = torch.from_numpy(b)
        self.p = torch.from_numpy(p)

    def __call__(self, x):
        out = []
        for k in range(self.w.shape[0]):
            y = torch.full_like(x[:, 0], float(self.b[k]))
            for c in range(x.shape[1]):
                y = y + self.w[k, c] * x[:, c]
            y = y + self.p[k] * x[:, 0]
            out.append(y)
        return torch.stack(out, 1)


def sliding_window(data, s, net, acc_dtype=torch.half, mirroring=True):
    patch = s['patch_size']
    padded, unpad = pad_to(data, patch)
    x = torch.from_numpy(padded)
    k = s['num_heads']
    logits = torch.zeros((k, *x.shape[1:]), dtype=acc_dtype)
    weights = torch.zeros(x.shape[1:], dtype=acc_dtype)
    g = gaussian(tuple(patch), acc_dtype)
    axes = [a + 2 for a in s['mirroring_axes']] if mirroring else []
    combos = [c for i in range(len(axes)) for c in itertools.combinations(axes, i + 1)]
    st = steps_for(x.shape[1:], patch)
    for sz in st[0]:
        for sy in st[1]:
            for sx in st[2]:
                sl = (slice(None), slice(sz, sz + patch[0]), slice(sy, sy + patch[1]), slice(sx, sx + patch[2]))
                tile = torch.clone(x[sl][None])
                pred = net(tile)
                if combos:
                    for ax in combos:
                        pred += torch.flip(net(torch.flip(tile, ax)), ax)
                    pred /= (len(combos) + 1)
                pred = pred[0]
                pred *= g
                logits[sl] += pred
                weights[sl[1:]] += g
    torch.div(logits, weights, out=logits)
    return logits[(slice(None),) + unpad], g


# ---------------------------------------------------------------- export
def export(logits, props, s, probabilities=False):
    lg = logits.numpy()
    lg = resample(lg, props['shape_after_cropping'], s['spacing'], props['spacing_t'],
                  s['resampling']['probabilities'])
    rco = s['regions_class_order']
    t = torch.from_numpy(lg).float()
    if probabilities:
        probs = torch.sigmoid(t) if rco is not None else torch.softmax(t, 0)
        src = probs.numpy()
    else:
        probs = None
        src = torch.sigmoid(t).numpy() if rco is not None else lg
    if rco is not None:
        seg = np.zeros(src.shape[1:], dtype=np.uint8)
        for i, c in enumerate(rco):
            seg[src[i] > 0.5] = c
    else:
        seg = src.argmax(0).astype(np.uint8)
    full = np.zeros(props['shape_before_cropping'], dtype=np.uint8)
    sl = tuple(slice(a, b) for a, b in props['bbox'])
    full[sl] = seg
    full = full.transpose(s['transpose_backward'])
    full_probs = None
    if probabilities:
        full_probs = np.zeros((lg.shape[0], *props['shape_before_cropping']), dtype=np.float32)
        if rco is None:
            full_probs[0] = 1
        full_probs[(slice(None),) + sl] = probs.numpy()
        full_probs = full_probs.transpose([0] + [i + 1 for i in s['transpose_backward']])
    return lg, full, full_probs
