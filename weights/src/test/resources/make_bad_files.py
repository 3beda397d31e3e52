#!/usr/bin/env python3
"""Writes weight-file variants that the Java HDF5 writer cannot produce, for the weights tests.

  make_bad_files.py fp16 IN OUT          every dataset of IN stored as float16 (FORMAT.md: accepted, widened)
  make_bad_files.py fixed-string IN OUT  the config attribute as a fixed-length ASCII string
  make_bad_files.py nested IN OUT        IN plus a dataset inside a group ("extra/w"): unexpected
  make_bad_files.py int-tensor IN OUT    IN with head.towers.0.out.weight stored as int32
  make_bad_files.py int-config IN OUT    IN with the config attribute an integer, not a string
  make_bad_files.py userblock IN OUT     IN behind a 512-byte user block (text), every other dataset chunked
"""
import sys

import h5py
import numpy as np

ATTR = "renal_mtl_config"


def copy(src, dst, dtype=None, fixed=False, userblock=0):
    with h5py.File(src, "r") as f, h5py.File(dst, "w", userblock_size=userblock) as g:
        cfg = f.attrs[ATTR]
        if isinstance(cfg, bytes):
            cfg = cfg.decode("utf-8")
        if fixed:
            g.attrs.create(ATTR, np.bytes_(cfg.encode("ascii")))
        else:
            g.attrs[ATTR] = cfg
        for i, (name, ds) in enumerate(f.items()):
            data = ds[()]
            chunks = tuple(max(1, d // 2) for d in data.shape) if userblock and i % 2 and data.ndim else None
            g.create_dataset(name, data=data.astype(dtype) if dtype else data, chunks=chunks)


def main(argv):
    mode, src, dst = argv
    if mode == "fp16":
        copy(src, dst, dtype=np.float16)
    elif mode == "fixed-string":
        copy(src, dst, fixed=True)
    elif mode == "nested":
        copy(src, dst)
        with h5py.File(dst, "a") as g:
            g.create_dataset("extra/w", data=np.zeros((2, 2), np.float32))
    elif mode == "int-tensor":
        copy(src, dst)
        with h5py.File(dst, "a") as g:
            name = "head.towers.0.out.weight"
            data = g[name][()]
            del g[name]
            g.create_dataset(name, data=data.astype(np.int32))
    elif mode == "userblock":
        copy(src, dst, userblock=512)
        with open(dst, "r+b") as out:
            out.write(b"renal-mtl test user block: any bytes may sit here\n")
    elif mode == "int-config":
        copy(src, dst)
        with h5py.File(dst, "a") as g:
            g.attrs[ATTR] = np.int64(1)
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv[1:])
