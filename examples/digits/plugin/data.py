"""Digit images as 8x8 PGM files, the bundled scikit-learn data, and the model file format."""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

DATASET_NAME = "sklearn-digits"
MODEL_NAME = "digits"
SIDE = 8
MAXVAL = 16  # scikit-learn's digits are 0..16 grey levels


def encode_pgm(pixels: Sequence[int]) -> bytes:
    """An 8x8 binary PGM image (viewable with any image viewer)."""
    if len(pixels) != SIDE * SIDE:
        raise ValueError(f"a digit has {SIDE * SIDE} pixels, got {len(pixels)}")
    return f"P5\n{SIDE} {SIDE}\n{MAXVAL}\n".encode() + bytes(int(p) for p in pixels)


def decode_pgm(data: bytes) -> list[int]:
    """The pixels of an image written by :func:`encode_pgm`."""
    parts = data.split(b"\n", 3)
    if len(parts) != 4 or parts[0] != b"P5" or parts[1] != f"{SIDE} {SIDE}".encode():
        raise ValueError(f"not an {SIDE}x{SIDE} P5 PGM image: {data[:16]!r}")
    return list(parts[3])


@functools.lru_cache(maxsize=1)
def _load_bundled() -> tuple[np.ndarray, np.ndarray]:
    # The file load_digits() reads, read directly: importing sklearn.datasets costs seconds,
    # reading its 1797 rows costs milliseconds. find_spec locates it without importing.
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise ImportError(
            "the digits example needs scikit-learn: pip install 'synapse-sdk[examples]'"
        )
    csv = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    if csv.is_file():
        table = np.loadtxt(csv, delimiter=",", dtype=np.int64)
        return table[:, :-1], table[:, -1]
    from sklearn.datasets import load_digits  # a future layout: the documented way

    digits = load_digits()
    return digits.data.astype(np.int64), digits.target.astype(np.int64)


def bundled_digits(limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits: images (n, 64) as ints 0..16 and labels (n,)."""
    images, labels = _load_bundled()
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images, labels


def digit_units(limit: int | None = None) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Data units ``({'image': pgm bytes}, {'label': digit, 'index': i})`` for the backend."""
    images, labels = bundled_digits(limit)
    return [
        ({"image": encode_pgm(image)}, {"label": int(label), "index": i})
        for i, (image, label) in enumerate(zip(images, labels, strict=True))
    ]


def load_arrays(
    units: Sequence[dict[str, Any]],
    read: Callable[[dict[str, Any]], bytes],
    on_unit: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Features (n, 64) scaled to 0..1 and labels from data units read with ``read``."""
    xs, ys = [], []
    for done, unit in enumerate(units, 1):
        xs.append(decode_pgm(read(unit)))
        ys.append(int(unit["meta"]["label"]))
        if on_unit is not None and (done % 200 == 0 or done == len(units)):
            on_unit(done, len(units))
    return np.asarray(xs, dtype=np.float64) / MAXVAL, np.asarray(ys, dtype=np.int64)


# -- the model: softmax regression, stored as .npz (loaded without pickle) --------------------


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def save_model(path: Path, weights: np.ndarray, bias: np.ndarray) -> Path:
    np.savez(path, weights=weights, bias=bias, scale=np.float64(MAXVAL))
    return path


def load_model(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in ("weights", "bias", "scale")}


def predict_proba(model: dict[str, np.ndarray], pixels: np.ndarray) -> np.ndarray:
    """Class probabilities for images given as raw 0..16 pixels (n, 64)."""
    x = np.asarray(pixels, dtype=np.float64) / float(model["scale"])
    return softmax(x @ model["weights"] + model["bias"])


def latest_model_id(client: Any, model_id: int | None) -> int:
    """``model_id``, or the newest model named :data:`MODEL_NAME` when it is None."""
    if model_id is not None:
        return model_id
    models = client.list_models(name=MODEL_NAME)
    if not models:
        raise LookupError(
            f"no model named {MODEL_NAME!r} in {client!r} yet: run the train action first "
            "(synapse run examples/digits train) or pass -p model=ID"
        )
    return int(models[-1]["id"])
