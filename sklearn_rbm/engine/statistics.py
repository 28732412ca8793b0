"""Sufficient statistics of the CD gradient, centered or not.

:func:`phase_stats` averages the statistics of one phase (data or model),
:func:`gradient` turns a positive and a negative phase into the
log-likelihood gradient of every parameter. These are the readable forms:
``training/reference.py`` builds the update from them, and the fused update
of ``training/cd.py`` is tested equal to it.
"""

import numpy as np
from sklearn.utils.extmath import safe_sparse_dot

from . import _xp
from .numerics import col_sum


def phase_stats(family, v, ph, p, weights=None):
    """Expected sufficient statistics of one phase, averaged over its rows.

    ``weights`` (summing to one) lets the negative phase be an exact
    expectation over enumerated states; ``None`` means a uniform average.
    Returns ``{"W": <h s(v)'>, "c": <h>, "s": <s(v)>, "b": ..., extras...}``.
    """
    if weights is None:
        inv_n = 1.0 / v.shape[0]
        ph_w = ph * _xp.scalar(inv_n, ph)
    else:
        inv_n = 1.0
        ph_w = ph * _xp.get_xp(weights).astype(weights[:, None], ph.dtype)
    s = family.scale(v, p)
    stats = {
        "W": safe_sparse_dot(ph_w.T, s, dense_output=True),
        "c": ph_w.sum(axis=0),
        "s": col_sum(s, weights) * inv_n,
    }
    for name, val in family.bias_stats(v, ph, p, weights).items():
        stats[name] = val * inv_n
    return stats


def gradient(family, p, pos, neg, offsets=None):
    """Log-likelihood gradient estimate: data statistics minus model statistics.

    ``pos`` and ``neg`` are the dicts of :func:`phase_stats`. With ``offsets =
    (mu, lam)`` this is the *centered* gradient of Melchior, Wang & Wiskott
    (2016), expressed for the ordinary (uncentered) parameters we store::

        gW = <(s - mu)(h - lam)'>_data - <(s - mu)(h - lam)'>_model
        gb = <s>_data - <s>_model - gW' lam
        gc = <h>_data - <h>_model - gW mu

    Since the model itself is never reparameterised, every scoring routine is
    unaffected by centering and the offsets can move freely.
    """
    g = {name: pos[name] - neg[name] for name in pos if name not in ("W", "s")}
    gW = pos["W"] - neg["W"]
    if offsets is not None:
        mu, lam = offsets
        dh = pos["c"] - neg["c"]
        ds = pos["s"] - neg["s"]
        gW -= _outer(dh, mu)
        gW -= _outer(lam, ds)
        g["b"] = g["b"] - lam @ gW
        g["c"] = g["c"] - gW @ mu
    g["W"] = gW
    return g


def centred_decay(g, W, offsets, weight_decay, scales=None):
    """Add to the bias gradients ``g`` the shift that keeps weight decay in
    the centred frame (in place; nothing without offsets or decay).

    The optimiser decays the stored ``W`` (``W -= lr * wd * W``) with the
    stored biases fixed; with centring, the centred biases ``b + W' lam``
    and ``c + W mu`` would then drift by ``-lr * wd * W' lam`` (and ``W
    mu``) every step: not a gradient of the penalised likelihood, and a
    drift that grows with ``W``. On MNIST with weight decay 5e-4 it pushed
    pixels' centred biases to -150 and the model to a log-likelihood of
    -26,672 nats (``benchmarks/README.md``). The shift ``+wd W' lam`` (and
    ``+wd W mu``) keeps the centred biases where the likelihood puts them:
    decay acts on ``W`` alone in the centred frame, as in Melchior, Wang &
    Wiskott (2016). ``scales``: the optimiser's learning-rate scales of
    ``W``, ``b`` and ``c`` (the shift is scaled so that the biases move by
    what the decay of ``W`` moves them).
    """
    if offsets is None or not weight_decay:
        return g
    mu, lam = offsets
    scales = scales or {}
    w = scales.get("W", 1.0)
    g["b"] = g["b"] + (weight_decay * w / scales.get("b", 1.0)) * (lam @ W)
    g["c"] = g["c"] + (weight_decay * w / scales.get("c", 1.0)) * (W @ mu)
    return g


def _outer(a, b):
    """Outer product of two vectors (``np.outer`` on numpy)."""
    if _xp.is_numpy(a):
        return np.outer(a, b)
    return a[:, None] * b[None, :]
