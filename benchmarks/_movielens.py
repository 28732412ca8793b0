"""Minimal MovieLens readers for the benchmarks (to be replaced by
``sklearn_rbm.datasets`` when merged). The files are licensed: they are read
from ``$SKLEARN_RBM_DATA`` or ``../shared/data`` and never copied."""

import gzip
import os
from pathlib import Path

import numpy as np


def data_dir():
    env = os.environ.get("SKLEARN_RBM_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def ml100k_split(i):
    """``(X_train, y_train, X_test, y_test)`` of the official split u{i}."""
    d = data_dir() / "ml-100k"
    tr = np.loadtxt(d / f"u{i}.base", dtype=np.int64, usecols=(0, 1, 2))
    te = np.loadtxt(d / f"u{i}.test", dtype=np.int64, usecols=(0, 1, 2))
    return tr[:, :2], tr[:, 2].astype(float), te[:, :2], te[:, 2].astype(float)


def ml1m():
    """All 1,000,209 ML-1M ratings as ``(X, y)``."""
    path = data_dir() / "ml-1m" / "ratings_without_timestamps.dat.gz"
    with gzip.open(path, "rb") as f:
        raw = f.read().replace(b"::", b"\t")
    a = np.loadtxt(raw.decode().splitlines(), dtype=np.int64, delimiter="\t")
    return a[:, :2], a[:, 2].astype(float)


def random_split(X, y, test_fraction, seed):
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    n_te = int(round(test_fraction * len(y)))
    te, tr = perm[:n_te], perm[n_te:]
    return X[tr], y[tr], X[te], y[te]
