#!/usr/bin/env python3
"""Writes hostile weight files (issue 9) for HostileFileTest, each a valid tiny model with one attack.

  make_hostile.py VALID OUT_DIR     VALID: a valid weight file (TinyModel); writes OUT_DIR/<case>.h5

Prints the case names, one a line. The files are made at test time, not committed: one case needs a
FIFO, and a few are megabytes. Every case must be listed in HostileFileTest with the problem that
the reader has to name; the test fails if a case here is missing there.
"""
import json
import os
import sys

import h5py
import numpy as np

ATTR = "renal_mtl_config"
VICTIM = "head.towers.0.out.weight"  # (1, 4) float32 in the tiny model


def read_valid(src):
    with h5py.File(src, "r") as f:
        cfg = f.attrs[ATTR]
        if isinstance(cfg, bytes):
            cfg = cfg.decode("utf-8")
        return cfg, {name: ds[()] for name, ds in f.items()}


def write(path, cfg, tensors, skip=(), libver="earliest"):
    """A copy of the valid model; cfg None leaves the config attribute to the caller.

    libver "latest" stores large attributes densely (the earliest format caps an object header at
    64 KiB); "earliest", h5py's default, has no metadata checksums, so a patched address still opens.
    """
    f = h5py.File(path, "w", libver=libver)
    if cfg is not None:
        f.attrs[ATTR] = cfg
    for name, data in tensors.items():
        if name not in skip:
            f.create_dataset(name, data=data)
    return f


def raw_attr(f, space, tid, value=None):
    """The config attribute with an explicit dataspace and type, written only if value is given."""
    aid = h5py.h5a.create(f.id, ATTR.encode(), tid, space)
    if value is not None:
        aid.write(value, mtype=tid)


def fixed_type(size):
    tid = h5py.h5t.C_S1.copy()
    tid.set_size(size)
    return tid


def vlen_type():
    return h5py.h5t.py_create(h5py.string_dtype("utf-8"), logical=True)


def cases(valid, out):
    cfg, tensors = read_valid(valid)
    shape = tensors[VICTIM].shape
    made = []

    def case(name):
        made.append(name)
        return os.path.join(out, name + ".h5")

    # --- the config attribute: shapes that a one-element read buffer overflows --------------------
    for n in (2, 30, 64):
        with write(case("attr-fixed-array-%d" % n), None, tensors, libver="latest") as f:
            text = cfg.encode()
            arr = np.array([text] * n, dtype="S%d" % len(text))
            raw_attr(f, h5py.h5s.create_simple((n,)), fixed_type(len(text)), arr)
    for n in (2, 1000):
        with write(case("attr-vlen-array-%d" % n), None, tensors, libver="latest") as f:
            f.attrs.create(ATTR, [cfg] * n, dtype=h5py.string_dtype("utf-8"))
    with write(case("attr-null-space"), None, tensors, libver="latest") as f:
        raw_attr(f, h5py.h5s.create(h5py.h5s.NULL), vlen_type())
    with write(case("attr-fixed-null-space"), None, tensors, libver="latest") as f:
        raw_attr(f, h5py.h5s.create(h5py.h5s.NULL), fixed_type(16))
    with write(case("attr-vlen-null"), None, tensors, libver="latest") as f:
        raw_attr(f, h5py.h5s.create(h5py.h5s.SCALAR), vlen_type())  # never written: a NULL char*
    with write(case("attr-fixed-too-long"), None, tensors, libver="latest") as f:
        big = cfg + " " * (1024 * 1024 + 1 - len(cfg))
        f.attrs.create(ATTR, np.bytes_(big.encode()))
    with write(case("attr-vlen-too-long"), None, tensors, libver="latest") as f:
        f.attrs.create(ATTR, cfg + " " * (1024 * 1024 + 1 - len(cfg)), dtype=h5py.string_dtype("utf-8"))

    # --- tensors whose storage is not data in this file -------------------------------------------
    fifo = os.path.join(out, "fifo")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    nbytes = int(np.prod(shape)) * 4
    for name, target in (("external-fifo", fifo), ("external-dev-zero", "/dev/zero"),
                         ("external-dev-urandom", "/dev/urandom")):
        with write(case(name), cfg, tensors, skip={VICTIM}) as f:
            f.create_dataset(VICTIM, shape=shape, dtype="<f4", external=[(target, 0, nbytes)])
    with write(case("unwritten"), cfg, tensors, skip={VICTIM}) as f:
        f.create_dataset(VICTIM, shape=shape, dtype="<f4")  # late allocation: no storage at all
    with write(case("unwritten-chunked"), cfg, tensors, skip={VICTIM}) as f:
        f.create_dataset(VICTIM, shape=shape, dtype="<f4", chunks=(1, 2))
    with write(case("partly-written-chunks"), cfg, tensors, skip={VICTIM}) as f:
        d = f.create_dataset(VICTIM, shape=shape, dtype="<f4", chunks=(1, 2))
        d[0, 0:2] = tensors[VICTIM][0, 0:2]  # the chunk holding [0, 2:4] is never written
    with write(case("virtual"), cfg, tensors, skip={VICTIM}) as f:
        src = f.create_dataset("source", data=tensors[VICTIM])
        layout = h5py.VirtualLayout(shape=shape, dtype="<f4")
        layout[:] = h5py.VirtualSource(src)
        f.create_virtual_dataset(VICTIM, layout)
    with write(case("gzip"), cfg, tensors, skip={VICTIM}) as f:
        f.create_dataset(VICTIM, data=tensors[VICTIM], chunks=shape, compression="gzip")
    with write(case("float64"), cfg, tensors, skip={VICTIM}) as f:
        f.create_dataset(VICTIM, data=tensors[VICTIM].astype(np.float64))
    with write(case("null-space-tensor"), cfg, tensors, skip={VICTIM}) as f:
        f.create_dataset(VICTIM, data=h5py.Empty("<f4"))
    with write(case("big-endian"), cfg, tensors, skip={VICTIM}) as f:
        # Not hostile: the one accepted case here, big-endian IEEE float32 (FORMAT.md: either order).
        f.create_dataset(VICTIM, data=tensors[VICTIM].astype(">f4"))
    with write(case("shared-storage"), cfg, tensors) as f:
        pass
    share_storage(made_path(out, "shared-storage"))

    # --- links: cycles, aliases, and links out of the file ----------------------------------------
    with write(case("hard-link-cycle"), cfg, tensors) as f:
        g = f.create_group("g")
        g["loop"] = g
    with write(case("hard-link-to-root"), cfg, tensors) as f:
        f.create_group("g")["root"] = f
    with write(case("soft-link-to-root"), cfg, tensors) as f:
        f["g"] = h5py.SoftLink("/")
    with write(case("soft-link-tensor"), cfg, tensors, skip={VICTIM}) as f:
        f.create_dataset("real", data=tensors[VICTIM])
        f[VICTIM] = h5py.SoftLink("/real")
    with write(case("hard-link-alias"), cfg, tensors) as f:
        f["alias"] = f[VICTIM]
    with write(case("external-link-self"), cfg, tensors) as f:
        f["self"] = h5py.ExternalLink(os.path.abspath(made_path(out, "external-link-self")), "/")
    with write(case("external-link-tensor"), cfg, tensors, skip={VICTIM}) as f:
        f[VICTIM] = h5py.ExternalLink(os.path.abspath(valid), "/" + VICTIM)
    with write(case("deep-groups"), cfg, tensors) as f:
        f.create_group("/".join("g%d" % i for i in range(40)))

    # --- the config: wrong types, trailing junk, unknown versions, duplicates, huge sizes ----------
    c = json.loads(cfg)

    def config_case(name, text):
        assert text != cfg, name + ": the edit did not apply"
        with write(case(name), text, tensors):
            pass

    config_case("trailing-junk", cfg + " {\"x\": 1}")
    config_case("duplicate-key", cfg.replace("\"name\": \"tiny\"", "\"name\": \"tiny\", \"name\": \"other\""))
    config_case("format-version-1.5", cfg.replace("\"format_version\": 1", "\"format_version\": 1.5"))
    config_case("format-version-string", cfg.replace("\"format_version\": 1", "\"format_version\": \"1\""))
    config_case("margin-string", cfg.replace("\"margin_mm\": 10.0", "\"margin_mm\": \"ten\""))
    config_case("fractional-size", cfg.replace("\"size\": [16, 16, 16]", "\"size\": [16, 16.5, 16]"))
    d = json.loads(cfg)
    d["tasks"][2]["name"] = "ccrcc"
    d["networks"][0]["tasks"][2] = "ccrcc"
    config_case("duplicate-task", json.dumps(d))
    d = json.loads(cfg)
    d["networks"][0]["head"].update(levels=100000, task_experts=100000, shared_experts=100000)
    config_case("huge-ple", json.dumps(d))
    d = json.loads(cfg)
    d["input"]["size"] = [100000, 100000, 100000]
    config_case("huge-input", json.dumps(d))
    d = json.loads(cfg)
    d["networks"][0]["backbone"]["widths"] = [4, 8, 8, 60000]
    config_case("too-many-parameters", json.dumps(d))
    d = json.loads(cfg)
    d["networks"][0]["backbone"]["widths"] = [4, 8, 8, 2000]  # 0.2 G parameters, within the limit
    config_case("more-tensor-bytes-than-file", json.dumps(d))

    # --- the global heap that the variable-length config names (libhdf5 1.14.3 trusts it) ---------
    def heap_case(name, edit):
        path = case(name)
        with write(path, cfg, tensors):
            pass
        blob = bytearray(open(path, "rb").read())
        edit(blob, *vlen_reference(blob))
        open(path, "wb").write(bytes(blob))

    heap_case("gcol-free-space-size-0", lambda blob, heap, ref: put(blob, free_space_size(blob, heap), 8, 0))
    heap_case("gcol-object-runs-past-end", lambda blob, heap, ref: put(blob, heap + 24, 8, 1 << 40))
    n = len(cfg.encode())
    # Still tiling the collection (same 8-byte padding), but one byte more than the reference's length
    # (or, for a length that fills its padding, one less: the chain then checks out and only the length
    # comparison can catch it).
    grown = n + 1 if n % 8 else n - 1
    heap_case("gcol-object-size-not-reference-length", lambda blob, heap, ref: put(blob, heap + 24, 8, grown))
    heap_case("gcol-reference-shorter", lambda blob, heap, ref: put(blob, ref, 4, 10))
    heap_case("gcol-reference-index-0", lambda blob, heap, ref: put(blob, ref + 12, 4, 0))
    heap_case("gcol-reference-index-absent", lambda blob, heap, ref: put(blob, ref + 12, 4, 77))
    return made


def align8(n):
    return (n + 7) // 8 * 8


def put(blob, at, size, value):
    blob[at:at + size] = value.to_bytes(size, "little")


def vlen_reference(blob):
    """(offset of the one global heap collection, offset of the one vlen value naming its object 1)."""
    assert blob.count(b"GCOL") == 1
    heap = blob.index(b"GCOL")
    needle = heap.to_bytes(8, "little") + (1).to_bytes(4, "little")
    assert blob.count(needle) == 1, "the config's heap reference is not unique in the file"
    return heap, blob.index(needle) - 4


def free_space_size(blob, heap):
    """Offset of the size field of the free-space object (index 0) that follows object 1."""
    first = int.from_bytes(blob[heap + 24:heap + 32], "little")
    free = heap + 16 + 16 + align8(first)
    assert int.from_bytes(blob[free:free + 2], "little") == 0, "object 1 is not followed by the free space"
    return free + 8


def made_path(out, name):
    return os.path.join(out, name + ".h5")


def share_storage(path):
    """Points the second-largest conv's data address at the largest one's: two tensors, one storage."""
    with h5py.File(path, "r") as f:
        sized = sorted(((ds.id.get_storage_size(), ds.id.get_offset(), name) for name, ds in f.items()
                        if ds.id.get_offset() is not None), reverse=True)
    (size_a, off_a, _), (size_b, off_b, name_b) = sized[0], sized[1]
    blob = bytearray(open(path, "rb").read())
    needle = off_b.to_bytes(8, "little")
    assert blob.count(needle) == 1, "offset of %s is not unique in the file" % name_b
    at = blob.index(needle)
    blob[at:at + 8] = off_a.to_bytes(8, "little")
    # The layout message also stores the size: keep it (size_b <= size_a), so the read stays in the file.
    assert size_b <= size_a
    open(path, "wb").write(bytes(blob))


if __name__ == "__main__":
    valid, out = sys.argv[1:]
    for name in cases(valid, out):
        print(name)
