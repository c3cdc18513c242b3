"""Image-folder datasets: ROOT/train/<class>/* and ROOT/test/<class>/*.

Scanning (listing and stat-ing every file) is kept separate from decoding: the scan is
cheap and yields the cache fingerprint, so a cached dataset never decodes an image.
"""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from aisnas.data._dataset import Decoded
from aisnas.errors import AisnasError

SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
SPLITS = ("train", "test")
LAYOUT = "an image folder holds ROOT/train/<class>/*.jpg|png|bmp and ROOT/test/<class>/*"
# Modes Pillow reports for single-channel images (with or without alpha or extra depth).
_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
# Pillow releases the GIL while decoding, so a few threads nearly scale with cores.
_CHUNK = 256
_MAX_THREADS = 8


@dataclass(frozen=True)
class FolderScan:
    root: Path
    classes: tuple[str, ...]
    # Train files, then test files, each grouped by class. Strings, not Paths: building
    # 60,000 Path objects would take longer than the whole cached load.
    files: tuple[str, ...]
    labels: np.ndarray  # int64, one per file
    num_train: int
    fingerprint: tuple[str, ...]  # "split/class/name size mtime_ns" per file


def _listdir(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError as e:
        raise AisnasError(f"{folder}: cannot list the folder ({e.strerror or e})") from None


def _class_dirs(split_dir: Path) -> list[str]:
    # Hidden folders (.ipynb_checkpoints, .git) are tool litter, not classes.
    return sorted(n for n in _listdir(split_dir) if not n.startswith(".") and (split_dir / n).is_dir())


def _image_files(class_dir: Path) -> list[tuple[str, os.stat_result]]:
    names = sorted(n for n in _listdir(class_dir) if not n.startswith(".") and n.lower().endswith(SUFFIXES))
    # Stat-ing relative to an open directory skips the path walk for every file, about
    # a third faster; this stat loop is most of a cached load.
    fd = os.open(class_dir, os.O_RDONLY) if os.stat in os.supports_dir_fd else None
    entries = []
    try:
        for name in names:
            try:
                st = os.stat(name, dir_fd=fd) if fd is not None else os.stat(class_dir / name)
            except OSError as e:  # e.g. a dangling symlink
                raise AisnasError(f"{class_dir / name}: cannot read ({e.strerror or e})") from None
            if stat.S_ISREG(st.st_mode):
                entries.append((name, st))
    finally:
        if fd is not None:
            os.close(fd)
    return entries


def scan(root: Path) -> FolderScan:
    """List the folder tree and check its structure; decodes nothing."""
    for split in SPLITS:
        if not (root / split).is_dir():
            raise AisnasError(f"{root}: missing the {split}/ folder; {LAYOUT}")
    classes = _class_dirs(root / "train")
    test_classes = _class_dirs(root / "test")
    if len(classes) < 2:
        raise AisnasError(f"{root / 'train'}: found {len(classes)} class folder(s); need at least 2")
    if classes != test_classes:
        only_train = sorted(set(classes) - set(test_classes)) or ["-"]
        only_test = sorted(set(test_classes) - set(classes)) or ["-"]
        raise AisnasError(
            f"{root}: train/ and test/ must have the same class folders; "
            f"only in train/: {', '.join(only_train)}; only in test/: {', '.join(only_test)}"
        )
    files: list[str] = []
    labels: list[int] = []
    fingerprint: list[str] = []
    num_train = 0
    for split in SPLITS:
        for label, name in enumerate(classes):
            class_dir = root / split / name
            entries = _image_files(class_dir)
            if not entries:
                raise AisnasError(f"{class_dir}: empty class folder (no {'/'.join(SUFFIXES)} files)")
            prefix = f"{class_dir}{os.sep}"
            files.extend(prefix + fname for fname, _ in entries)
            labels.extend([label] * len(entries))
            fingerprint.extend(f"{split}/{name}/{fname} {st.st_size} {st.st_mtime_ns}" for fname, st in entries)
        if split == "train":
            num_train = len(files)
    return FolderScan(root, tuple(classes), tuple(files), np.asarray(labels, np.int64), num_train, tuple(fingerprint))


def read_image(path: str | Path) -> np.ndarray:
    """One image as uint8 [H, W] (grayscale) or [H, W, 3] (anything else, as RGB)."""
    try:
        with Image.open(path) as im:
            target = "L" if im.mode in _GRAY_MODES else "RGB"
            # convert() forces the full decode, so truncated files fail here, inside the try.
            return np.asarray(im if im.mode == target else im.convert(target))
    # DecompressionBombError is not an OSError; SyntaxError/ValueError come from
    # malformed headers in some Pillow plugins.
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        # Pillow's messages often repeat the path, which the message already starts with.
        reason = str(e).replace(f"'{path}'", "").replace(str(path), "").strip() or type(e).__name__
        raise AisnasError(f"{path}: unreadable or corrupt image ({reason})") from None


def decode_images(scan: FolderScan, *, progress: bool = True) -> Decoded:
    """Decode every image of a scan into uint8 arrays [N, C, H, W]."""
    files = scan.files
    first = read_image(files[0])
    height, width = first.shape[:2]
    # Gray images are written into all three planes; if every image turns out gray,
    # one plane is kept, otherwise this equals Pillow's L -> RGB conversion.
    out = np.empty((len(files), height, width, 3), np.uint8)
    gray = np.zeros(len(files), bool)

    def decode_range(start: int, stop: int) -> int:
        for i in range(start, stop):
            img = read_image(files[i])
            if img.shape[:2] != (height, width):
                raise AisnasError(
                    f"{files[i]}: image size {img.shape[1]}x{img.shape[0]} differs from "
                    f"{width}x{height} of {files[0]}; all images must have one size"
                )
            gray[i] = img.ndim == 2
            out[i] = img[..., None] if gray[i] else img
        return stop - start

    ranges = [(s, min(s + _CHUNK, len(files))) for s in range(0, len(files), _CHUNK)]
    workers = max(1, min(_MAX_THREADS, os.cpu_count() or 1, len(ranges)))
    executor = ThreadPoolExecutor(workers, thread_name_prefix="aisnas-decode")
    try:
        with tqdm(total=len(files), desc=f"decoding {scan.root.name}", unit="img", disable=not progress) as bar:
            # Results are collected in submission order, so the first bad file reported
            # is the same one a serial loop would have hit.
            for future in [executor.submit(decode_range, a, b) for a, b in ranges]:
                bar.update(future.result())
    finally:
        # Do not keep decoding 60,000 files after one has failed or on Ctrl-C.
        executor.shutdown(wait=True, cancel_futures=True)

    x = out[..., :1] if gray.all() else out
    x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    n = scan.num_train
    return Decoded(x[:n], scan.labels[:n], x[n:], scan.labels[n:], scan.classes)
