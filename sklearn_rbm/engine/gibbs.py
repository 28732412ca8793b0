"""Conditionals, free energy and the one Gibbs loop of every RBM.

Everything here is written once for every visible family (``families.py``):
the hidden layer is always binary, and a family only supplies the visible
energy, the statistic ``s(v)`` coupling to ``W``, and the conditional
``p(v | h)``. Parameters are a dict ``{"W", "b", "c", ...}`` with ``W`` of
shape ``(n_hidden, n_visible)``.

:func:`gibbs_chain` is the only block-Gibbs loop of the package. It runs on a
*chain*: an object with four moves, ``sample_visible(h, rng)``,
``mean_visible(h)``, ``hidden_proba(v)`` and ``sample_hidden(ph, rng)``.
:class:`DenseChain` gives them for a dense family (training, ``sample``,
``gibbs``, the AIS and RAISE transitions);
:class:`~sklearn_rbm.engine.sparse_categorical.RatingChain` for the
categorical family at the rated entries of a minibatch of cases.
"""

import numpy as np
from scipy.special import expit
from sklearn.utils.extmath import safe_sparse_dot

from . import _xp
from .numerics import sigmoid, softplus, uniform


def hidden_field(family, v, p):
    """Total input to the hidden units, ``c + W s(v)``, shape (n, n_hidden)."""
    out = safe_sparse_dot(family.scale(v, p), p["W"].T, dense_output=True)
    out += p["c"]
    return out


def hidden_proba(family, v, p):
    """``p(h_j = 1 | v)`` for every row of ``v``."""
    u = hidden_field(family, v, p)
    if not _xp.is_numpy(u):
        return _xp.expit(u)
    return expit(u, out=u)


def visible_field(h, p):
    """Field of the visible conditional, ``b + h @ W``."""
    out = h @ p["W"]
    out += p["b"]
    return out


def free_energy_from_field(visible_energy, u):
    """``F = E_vis - sum_j softplus(u_j)`` from the hidden field ``u``
    (overwritten); shared by the dense and the sparse categorical forms."""
    return visible_energy - _xp.sum_rows(softplus(u, out=u))


def free_energy(family, v, p):
    """``F(v) = E_vis(v) - sum_j softplus(c_j + W_j s(v))``, so ``p(v) = e^-F / Z``."""
    return free_energy_from_field(
        family.visible_energy(v, p), hidden_field(family, v, p)
    )


def sample_bernoulli(prob, rng):
    """Binary sample with ``P(1) = prob``, in the dtype of ``prob``."""
    u = uniform(rng, prob.shape, prob.dtype)
    if not _xp.is_numpy(u):
        return _xp.get_xp(u).astype(u < prob, prob.dtype)
    return np.less(u, prob, out=u, casting="unsafe")


def sigmoid_of_field(S, p):
    """``sigmoid(S W' + c)`` for already-scaled statistics ``S``, with the
    fast tanh sigmoid (training statistics and samples, not log-probabilities)."""
    u = S @ p["W"].T
    u += p["c"]
    return sigmoid(u, out=u)


class DenseChain:
    """The Gibbs moves of a dense RBM (``family`` with parameters ``p``).

    ``fast=True`` computes ``p(h | v)`` with the tanh sigmoid of
    :func:`~sklearn_rbm.engine.numerics.sigmoid` (training), else with
    ``expit``. ``hidden_scale`` multiplies the hidden states before they
    reach the visible units: the tempered models of AIS, whose weights are
    ``beta W``.
    """

    def __init__(self, family, p, *, fast=False, hidden_scale=None):
        self.family = family
        self.p = p
        self.fast = fast
        self.hidden_scale = hidden_scale

    def _field(self, h):
        if self.hidden_scale is not None:
            h = h * self.hidden_scale
        return visible_field(h, self.p)

    def sample_visible(self, h, rng):
        return self.family.sample(self._field(h), self.p, rng)

    def mean_visible(self, h):
        return self.family.mean(self._field(h), self.p)

    def hidden_proba(self, v):
        if self.fast:
            return sigmoid_of_field(self.family.scale(v, self.p), self.p)
        return hidden_proba(self.family, v, self.p)

    def sample_hidden(self, ph, rng):
        return sample_bernoulli(ph, rng)


def gibbs_chain(chain, h, n_steps, rng, *, last="sample", mean_field=False):
    """``n_steps`` of block Gibbs sampling from hidden states ``h``.

    Each step draws ``v ~ p(v | h)``, computes ``p(h | v)`` and draws ``h``
    from it. The last step stops after the visible state (``last="visible"``),
    after ``p(h | v)`` (``"proba"``), or draws ``h`` too (``"sample"``); with
    ``mean_field`` its visible state is ``E[v | h]`` instead of a sample.

    Returns ``(v, ph, h)``: the last visible state, ``p(h = 1 | v)`` at it
    (None with ``last="visible"``) and the hidden state (the last sample; the
    state a persistent chain keeps).
    """
    v = ph = None
    for t in range(n_steps):
        final = t == n_steps - 1
        if mean_field and final:
            v = chain.mean_visible(h)
        else:
            v = chain.sample_visible(h, rng)
        if final and last == "visible":
            break
        ph = chain.hidden_proba(v)
        if not final or last == "sample":
            h = chain.sample_hidden(ph, rng)
    return v, ph, h
