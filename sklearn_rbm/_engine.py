"""The shared RBM engine: conditionals, free energy, Gibbs chains, gradients.

Everything here is written once for every visible family (``_visible.py``):
the hidden layer is always binary, and a family only supplies the visible
energy, the statistic ``s(v)`` coupling to ``W``, and the conditional
``p(v | h)``. Parameters are a dict ``{"W", "b", "c", ...}`` with ``W`` of
shape ``(n_hidden, n_visible)``.
"""

import numpy as np
from scipy.special import expit
from sklearn.utils.extmath import safe_sparse_dot

from ._utils import col_sum, softplus, uniform


def hidden_field(family, v, p):
    """Total input to the hidden units, ``c + W s(v)``, shape (n, n_hidden)."""
    out = safe_sparse_dot(family.scale(v, p), p["W"].T, dense_output=True)
    out += p["c"]
    return out


def hidden_proba(family, v, p):
    """``p(h_j = 1 | v)`` for every row of ``v``."""
    u = hidden_field(family, v, p)
    return expit(u, out=u)


def visible_field(h, p):
    """Field of the visible conditional, ``b + h @ W``."""
    out = h @ p["W"]
    out += p["b"]
    return out


def free_energy(family, v, p):
    """``F(v) = E_vis(v) - sum_j softplus(c_j + W_j s(v))``, so ``p(v) = e^-F / Z``."""
    u = hidden_field(family, v, p)
    return family.visible_energy(v, p) - softplus(u, out=u).sum(axis=1)


def sample_bernoulli(prob, rng):
    """Binary sample with ``P(1) = prob``, in the dtype of ``prob``."""
    u = uniform(rng, prob.shape, prob.dtype)
    return np.less(u, prob, out=u, casting="unsafe")


def gibbs_from_hidden(family, p, h, n_steps, rng):
    """Run ``n_steps`` of block Gibbs sampling starting from hidden states ``h``.

    Each step draws ``v ~ p(v | h)`` then ``h ~ p(h | v)``. Returns the last
    visible sample, ``p(h = 1 | v)`` at it, and the new hidden sample (the
    state a persistent chain keeps).
    """
    v = ph = None
    for _ in range(n_steps):
        v = family.sample(visible_field(h, p), p, rng)
        ph = hidden_proba(family, v, p)
        h = sample_bernoulli(ph, rng)
    return v, ph, h


def phase_stats(family, v, ph, p, weights=None):
    """Expected sufficient statistics of one phase, averaged over its rows.

    ``weights`` (summing to one) lets the negative phase be an exact
    expectation over enumerated states; ``None`` means a uniform average.
    Returns ``{"W": <h s(v)'>, "c": <h>, "s": <s(v)>, "b": ..., extras...}``.
    """
    if weights is None:
        inv_n = 1.0 / v.shape[0]
        ph_w = ph * ph.dtype.type(inv_n)
    else:
        inv_n = 1.0
        ph_w = ph * weights[:, None].astype(ph.dtype)
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
        gW -= np.outer(dh, mu)
        gW -= np.outer(lam, ds)
        g["b"] = g["b"] - lam @ gW
        g["c"] = g["c"] - gW @ mu
    g["W"] = gW
    return g
