"""Visible-unit families.

Every RBM in this package has binary hidden units and the energy

.. math:: E(v, h) = E_{vis}(v) - s(v)^\\top W^\\top h - c^\\top h

with ``W`` of shape ``(n_hidden, n_visible)`` (scikit-learn's ``components_``
layout). A family fixes four things, and nothing else:

* ``visible_energy(v, p)`` -- the part of the energy that does not involve h;
* ``scale(v, p)`` -- the statistic ``s(v)`` that couples to the hidden units
  (``v`` itself, or ``v / sigma**2`` for Gaussian units);
* the conditional ``p(v | h)`` through its *field* ``a = b + h @ W``:
  ``mean(a, p)``, ``sample(a, p, rng)`` and ``log_normalizer(a, p)``, the log of
  ``sum_v exp(-E_vis(v) + s(v)' W' h)`` (closed form for every family);
* ``base_params(moments, ...)``: the "base-rate" model with ``W = 0`` fitted to
  the data's marginals (``moments = (n, column sums, column sums of squares)``),
  whose log-partition is ``log_normalizer`` at ``a = b`` plus
  ``n_hidden * log 2``. It starts AIS and initialises the visible biases.

Parameters travel as a plain ``dict``: ``"W"``, ``"b"`` (visible bias),
``"c"`` (hidden bias) and any family extras (``"log_var"`` for Gaussian).
"""

import numpy as np
from scipy.special import expit, log_softmax, logsumexp

from . import _xp
from .numerics import col_sum as _col_sum
from .numerics import softplus, uniform

LOG_2PI = float(np.log(2.0 * np.pi))


class VisibleFamily:
    """Interface of a visible-unit family (see the module docstring)."""

    #: extra parameters beyond ``W``, ``b``, ``c`` (learned unless frozen)
    extra_params = ()
    #: whether ``scale`` depends on the parameters (False: s(v) = v)
    scale_depends_on_params = False
    #: True when :meth:`bias_stats` is just ``{"b": column sums of s(v)}``,
    #: which lets the fused update read it off its stacked statistics
    bias_stats_are_column_sums = False

    def scale(self, v, p):
        return v

    def visible_energy(self, v, p):
        raise NotImplementedError

    def log_normalizer(self, field, p):
        raise NotImplementedError

    def log_normalizer_of_hidden(self, hw, p):
        """``log_normalizer(b + hw)`` from the hidden contribution ``hw = h W``
        (a family may use ``hw`` directly to avoid cancellation)."""
        return self.log_normalizer(hw + p["b"], p)

    def mean(self, field, p):
        raise NotImplementedError

    def sample(self, field, p, rng):
        raise NotImplementedError

    def expected_bias_stats(self, field, h, p, weights=None):
        """:meth:`bias_stats` averaged over ``v ~ p(v | h)`` (field ``b + h @ W``).

        Exact expectations for a negative phase over enumerated hidden states.
        The default holds when the statistics are linear in ``v``.
        """
        return self.bias_stats(self.mean(field, p), h, p, weights)

    def bias_stats(self, v, ph, p, weights=None):
        """Per-parameter (weighted) sums of d(-E)/d(theta) over the rows of ``v``.

        ``ph`` is ``p(h=1|v)`` (or a sample): the derivative is linear in h, so
        its expectation given v uses the probabilities. Returns a dict over
        ``"b"`` and the family extras; the ``W`` and ``c`` statistics are
        shared and computed by the engine.
        """
        raise NotImplementedError

    def base_params(self, X, n_hidden, dtype, like=None):
        raise NotImplementedError

    def constrain(self, p):
        """Project parameters back into their valid set after an update."""

    def enumerate_visible(self, n_visible, dtype):
        """All visible states (rows) if the space is finite, else None."""
        return None

    def visible_state_chunks(self, n_visible, dtype, chunk):
        """The rows of :meth:`enumerate_visible`, ``chunk`` at a time.

        Families override it to build each chunk on its own, so that
        enumerating ``2**20`` states never holds them all in memory.
        """
        states = self.enumerate_visible(n_visible, dtype)
        for start in range(0, states.shape[0], chunk):
            yield states[start : start + chunk]

    def visible_state_bits(self, n_visible):
        """log2 of the number of visible states (inf for continuous units)."""
        return np.inf


class Bernoulli(VisibleFamily):
    """Binary (or [0, 1] mean-field) visible units, ``E_vis = -b'v``."""

    bias_stats_are_column_sums = True

    def visible_energy(self, v, p):
        return -_dot_vec(v, p["b"])

    def log_normalizer(self, field, p):
        return _xp.sum_rows(softplus(field))

    def mean(self, field, p):
        if not _xp.is_numpy(field):
            return _xp.expit(field)
        return expit(field, out=np.empty_like(field))

    def sample(self, field, p, rng):
        # u < sigmoid(x)  <=>  2u - 1 < tanh(x / 2): one SIMD tanh instead of
        # expit, no probability array (same draws as ``u < expit(x)``)
        u = uniform(rng, field.shape, field.dtype, symmetric=True)
        if not _xp.is_numpy(field):
            xp = _xp.get_xp(field)
            return xp.astype(u < xp.tanh(field * 0.5), field.dtype)
        t = np.multiply(field, 0.5)
        np.tanh(t, out=t)
        return np.less(u, t, out=t, casting="unsafe")

    def bias_stats(self, v, ph, p, weights=None):
        return {"b": _col_sum(v, weights)}

    def base_params(self, moments, n_hidden, dtype, like=None):
        # Smoothed base rates, as in Salakhutdinov & Murray (2008).
        n, s1, _ = moments
        mean = (s1 + 0.5) / (n + 1.0)
        b = np.log(mean) - np.log1p(-mean)
        return _params(np.zeros((n_hidden, s1.shape[0]), dtype), b.astype(dtype))

    def enumerate_visible(self, n_visible, dtype):
        return binary_states(n_visible, dtype)

    def visible_state_chunks(self, n_visible, dtype, chunk):
        for start in range(0, 2**n_visible, chunk):
            yield binary_states(n_visible, dtype, start, start + chunk)

    def visible_state_bits(self, n_visible):
        return n_visible


class Gaussian(VisibleFamily):
    """Gaussian visible units with per-feature variances (Cho et al., 2011).

    ``E_vis(v) = sum_i (v_i - b_i)^2 / (2 sigma_i^2)`` and ``s(v) = v / sigma^2``
    so that ``p(v | h) = N(b + W'h, diag(sigma^2))`` and
    ``p(h_j = 1 | v) = sigmoid(c_j + sum_i W_ji v_i / sigma_i^2)``. The variances
    are parameterised by ``log_var = log sigma^2``.
    """

    extra_params = ("log_var",)
    scale_depends_on_params = True

    #: variance ceiling, exp(20) ~ 5e8: far above any standardised feature, and
    #: low enough that energies stay finite in float32. GaussianBernoulliRBM
    #: refuses training data with a feature whose variance exceeds it, and
    #: keeps ``min_variance`` below it
    max_log_var = 20.0

    def __init__(self, min_log_var=-9.21):  # variance floor 1e-4
        self.min_log_var = float(min_log_var)

    def constrain(self, p):
        # a variance floor keeps p(v|h) proper and the updates stable
        if not _xp.is_numpy(p["log_var"]):
            lv = p["log_var"]
            lv[...] = _xp.get_xp(lv).clip(lv, self.min_log_var, self.max_log_var)
            return
        np.clip(p["log_var"], self.min_log_var, self.max_log_var, out=p["log_var"])

    def scale(self, v, p):
        return v * _xp.get_xp(v).exp(-p["log_var"])

    def visible_energy(self, v, p):
        prec = _xp.get_xp(v).exp(-p["log_var"])
        d = v - p["b"]
        return 0.5 * (d * d) @ prec

    def log_normalizer(self, field, p):
        # integral over v of exp(-(v-b)^2/(2 s2) + v a'/s2) with a = b + W'h:
        # completes the square around a.
        lv = p["log_var"]
        xp = _xp.get_xp(lv)
        prec = xp.exp(-lv)
        b = p["b"]
        const = 0.5 * float(xp.sum(LOG_2PI + lv))
        return const + 0.5 * ((field * field - b * b) @ prec)

    def log_normalizer_of_hidden(self, hw, p):
        # (b + hw)^2 - b^2 = hw (2 b + hw): no cancellation for data with a
        # large offset b (with b = 1e6 and a 1e-3 std the squared form lost
        # about 20 nats of log Z)
        lv = p["log_var"]
        xp = _xp.get_xp(lv)
        prec = xp.exp(-lv)
        const = 0.5 * float(xp.sum(LOG_2PI + lv))
        return const + 0.5 * ((hw * (2.0 * p["b"] + hw)) @ prec)

    def mean(self, field, p):
        return _xp.copy(field)

    def sample(self, field, p, rng):
        xp = _xp.get_xp(field)
        std = xp.astype(xp.exp(0.5 * p["log_var"]), field.dtype)
        noise = rng.standard_normal(field.shape, dtype=field.dtype)
        return field + noise * std

    def bias_stats(self, v, ph, p, weights=None):
        prec = _xp.get_xp(v).exp(-p["log_var"])
        d = v - p["b"]
        # d(-E)/d log_var_i = prec_i * ((v_i - b_i)^2 / 2 - v_i (W'h)_i)
        wh = ph @ p["W"]
        dlv = prec * _col_sum(0.5 * d * d - v * wh, weights)
        return {"b": prec * _col_sum(d, weights), "log_var": dlv}

    def expected_bias_stats(self, field, h, p, weights=None):
        # E[(v_i - b_i)^2 | h] = (a_i - b_i)^2 + sigma_i^2 adds 1/2 to the
        # log_var statistic of every row; the rest is linear in v.
        stats = self.bias_stats(self.mean(field, p), h, p, weights)
        if weights is None:
            n = field.shape[0]
        else:
            n = float(_xp.get_xp(weights).sum(weights))
        stats["log_var"] = stats["log_var"] + 0.5 * n
        return stats

    def base_params(self, moments, n_hidden, dtype, like=None):
        # The data's means and variances (above the floor), also with ``like``:
        # as the start of AIS, a base as broad as the data anneals better than
        # one with the model's (smaller) variances; the path interpolates the
        # log-variances (see ``partition.log_partition_ais``).
        n, s1, s2 = moments
        b = s1 / n
        var = np.maximum(s2 / n - b * b, 0.0)
        lv = np.log(np.maximum(var, np.exp(self.min_log_var)))
        p = _params(np.zeros((n_hidden, s1.shape[0]), dtype), b.astype(dtype))
        p["log_var"] = np.asarray(lv, dtype=dtype).copy()
        return p


class Categorical(VisibleFamily):
    """K-way softmax visible units, one group of K columns per variable.

    Dense one-hot layout: column ``i * K + k`` is "variable i takes value k".
    ``E_vis = -b'v``; the conditional is a softmax within each group
    (:func:`softmax_rows`), sampled by :func:`sample_softmax`. The sparse
    kernels of :mod:`sklearn_rbm.engine.sparse_categorical` are this family
    for cases that observe only some of their variables (ratings): they use
    the same two functions, at the observed entries only.
    """

    def __init__(self, n_categories):
        self.n_categories = int(n_categories)

    def _groups(self, a):
        return a.reshape(a.shape[0], -1, self.n_categories)

    def visible_energy(self, v, p):
        return -_dot_vec(v, p["b"])

    def log_normalizer(self, field, p):
        return logsumexp(self._groups(field), axis=2).sum(axis=1)

    def mean(self, field, p):
        groups = np.array(field).reshape(-1, self.n_categories)
        return softmax_rows(groups).reshape(field.shape)

    def sample(self, field, p, rng):
        prob = self.mean(field, p).reshape(-1, self.n_categories)
        k = sample_softmax(prob, rng)
        out = np.zeros_like(prob)
        out[np.arange(prob.shape[0]), k] = 1.0
        return out.reshape(field.shape)

    def bias_stats(self, v, ph, p, weights=None):
        return {"b": _col_sum(v, weights)}

    def base_params(self, moments, n_hidden, dtype, like=None):
        b = self.base_visible_bias(moments[1])
        W = np.zeros((n_hidden, b.shape[0]), dtype)
        return _params(W, b.astype(dtype))

    def base_visible_bias(self, counts):
        """Visible biases of the base-rate model from the value counts of
        each variable (flat, ``variable * K + k``): smoothed log frequencies,
        normalised within each group."""
        counts = counts + 0.5
        b = log_softmax(np.log(counts).reshape(-1, self.n_categories), axis=1)
        return b.ravel()

    def visible_state_bits(self, n_visible):
        return (n_visible // self.n_categories) * np.log2(self.n_categories)

    def enumerate_visible(self, n_visible, dtype):
        n_var = n_visible // self.n_categories
        idx = np.indices((self.n_categories,) * n_var).reshape(n_var, -1).T
        return self._one_hot(idx, n_visible, dtype)

    def visible_state_chunks(self, n_visible, dtype, chunk):
        # state number s has digits (in base K, most significant first) equal
        # to the values of the variables: the order of enumerate_visible
        K = self.n_categories
        n_var = n_visible // K
        powers = K ** np.arange(n_var - 1, -1, -1, dtype=np.int64)
        for start in range(0, K**n_var, chunk):
            codes = np.arange(start, min(start + chunk, K**n_var), dtype=np.int64)
            yield self._one_hot((codes[:, None] // powers) % K, n_visible, dtype)

    def _one_hot(self, idx, n_visible, dtype):
        """One-hot rows from the (n_states, n_var) values ``idx``."""
        n_var = idx.shape[1]
        out = np.zeros((idx.shape[0], n_visible), dtype)
        rows = np.arange(idx.shape[0])[:, None]
        out[rows, np.arange(n_var) * self.n_categories + idx] = 1.0
        return out


def softmax_rows(logits):
    """Row-wise softmax of a 2-d array, in place (returns the array).

    The conditional of every K-way softmax unit, dense or sparse.
    """
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return logits


def sample_softmax(prob, rng):
    """One draw per row of the probabilities ``prob`` (value indices, int64).

    One uniform per row, scaled by the row's total (rows need not sum to
    one exactly), against the cumulative probabilities.
    """
    cum = np.cumsum(prob, axis=1)
    u = rng.random((prob.shape[0], 1), dtype=prob.dtype) * cum[:, -1:]
    return np.minimum((u > cum).sum(axis=1), prob.shape[1] - 1)


def binary_states(n, dtype=np.float64, start=0, stop=None):
    """All ``2**n`` binary vectors of length n, one per row.

    ``start`` and ``stop`` select the rows ``start:stop`` of that list (the
    binary codes of ``start, ..., stop - 1``, least significant bit first).
    """
    stop = 2**n if stop is None else min(stop, 2**n)
    codes = np.arange(start, stop, dtype=np.int64)[:, None]
    return ((codes >> np.arange(n, dtype=np.int64)) & 1).astype(dtype)


def _params(W, b):
    return {"W": W, "b": b, "c": np.zeros(W.shape[0], W.dtype)}


def _dot_vec(v, b):
    if not _xp.is_numpy(b):
        return v @ b
    return np.asarray(v @ b).ravel()
