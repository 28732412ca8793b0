"""The dense CD-k / PCD-k training phase of the Bernoulli and Gaussian RBMs.

:class:`DenseCD` ties a visible family, the CD options (:class:`~.state.CDSettings`)
and an optimiser (:class:`~.optimizers.MomentumSGD`): it makes the initial
:class:`DenseState`, keeps it in line with changed options, and runs the
fused minibatch update (:meth:`DenseCD.update`). ``training/reference.py``
holds the readable form of the same update, which the tests compare it to.
"""

import numpy as np
import scipy.sparse as sp

from ..engine import _xp
from ..engine.gibbs import (
    DenseChain,
    gibbs_chain,
    hidden_proba,
    sample_bernoulli,
    sigmoid_of_field,
)
from ..engine.numerics import data_moments
from ..engine.statistics import centred_decay
from ..engine.tempering import ParallelTempering
from .lowrank import decayed_low_rank, grad_norm
from .state import DenseState


def init_offsets(family, params, X=None, weights=None):
    """Centring offsets: the visible one is the (weighted) mean of ``s(X)``
    (or, without ``X``, ``s`` of the model's visible mean), the hidden one
    0.5. Sample ``weights`` are a numpy vector whatever the namespace."""
    W = params["W"]
    if not _xp.is_numpy(W):
        xp = _xp.get_xp(W)
        v = X if X is not None else family.mean(params["b"][None, :], params)
        s = family.scale(v, params)
        if X is not None and weights is not None:
            w = _xp.like(weights / weights.sum(), W, s.dtype)
            mu = xp.astype(w @ s, W.dtype)
        else:
            mu = xp.astype(xp.mean(s, axis=0), W.dtype)
        return mu, xp.full(W.shape[0], 0.5, dtype=W.dtype, device=_xp.device_of(W))
    dtype = params["W"].dtype
    if X is not None and weights is not None:
        mu = np.average(family.scale(X, params), axis=0, weights=weights)
    elif X is not None:
        mu = family.scale(X, params).mean(axis=0)
    else:
        mu = family.scale(family.mean(params["b"][None, :].copy(), params), params)
    mu = np.asarray(mu, dtype=dtype).ravel()
    return mu, np.full(params["W"].shape[0], 0.5, dtype=dtype)


def zero_fast(params):
    """Fast weights of FPCD, all zero."""
    xp = _xp.get_xp(params["W"])
    return {k: xp.zeros_like(params[k]) for k in ("W", "b", "c")}


def init_chains(family, params, n_chains, rng):
    """Persistent chains start from the model's visible biases alone
    (``W`` ignored): at the start of ``fit`` the base-rate model (data
    marginals) with ``visible_bias_init="base_rates"``, fair coins with
    ``"zeros"``; the current biases when chains are added later."""
    dtype = params["W"].dtype
    xp = _xp.get_xp(params["b"])
    b = xp.astype(xp.broadcast_to(params["b"], (n_chains, params["b"].shape[0])), dtype)
    v0 = family.sample(b, params, rng)
    return sample_bernoulli(hidden_proba(family, v0, params), rng)


def _with_fast(p, fast):
    """The parameters the FPCD chains sample: the model's plus the fast ones."""
    return dict(p, W=p["W"] + fast["W"], b=p["b"] + fast["b"], c=p["c"] + fast["c"])


class DenseCD:
    """CD-k / PCD-k for a dense visible family.

    Parameters
    ----------
    family : VisibleFamily
    settings : CDSettings
        Schedule and CD options.
    optimizer : MomentumSGD
        The optimiser (weight decay, clipping, learning-rate scales).
    """

    def __init__(self, family, settings, optimizer):
        self.family = family
        self.settings = settings
        self.optimizer = optimizer

    def init_state(
        self,
        X,
        n_hidden,
        dtype,
        rng,
        *,
        adjust=None,
        data_offsets=True,
        sample_weight=None,
    ):
        """Initial state: small random weights, base-rate visible biases.

        ``adjust(params)`` may change the initial parameters in place before
        the persistent chains and the centring offsets are made from them. The
        visible offset is the data mean of ``s(v)`` (``data_offsets``) or the
        initial model's mean; the hidden offset starts at 0.5.
        """
        family, settings = self.family, self.settings
        moments = data_moments(X, weights=sample_weight)
        base = family.base_params(moments, n_hidden, _xp.numpy_dtype(dtype))
        params = {name: np.array(val, dtype=val.dtype) for name, val in base.items()}
        params["W"] = rng.normal(0.0, 0.01, size=params["W"].shape)
        params = {k: _xp.like(v, X, dtype) for k, v in params.items()}
        if adjust is not None:
            adjust(params)
        state = DenseState(
            params=params, rng=rng, opt=self.optimizer.init(params), moments=moments
        )
        if settings.tempering:
            state.tempering = self._init_tempering(state, settings.n_chains)
        elif settings.persistent:
            state.chains = init_chains(family, params, settings.n_chains, rng)
        if settings.fast_weights:
            state.fast = zero_fast(params)
        if settings.centering:
            state.offsets = init_offsets(
                family,
                params,
                X if data_offsets else None,
                sample_weight if data_offsets else None,
            )
        return state

    def _base_b(self, state):
        p = state.params
        return self.family.base_params(state.moments, p["W"].shape[0], p["W"].dtype)[
            "b"
        ]

    def _init_tempering(self, state, n_chains):
        """Fresh tempering chains: every replica from the base-rate model."""
        pt = ParallelTempering(
            self.family,
            state.params,
            self._base_b(state),
            n_chains,
            self.settings.n_temperatures,
            state.rng,
        )
        return pt.to_state()

    def _tempered_negative(self, state, n_sweeps):
        """``n_sweeps`` sweeps of the persistent tempering chains (the ladder
        adapting as the model moves); the ``beta = 1`` replicas."""
        pt = ParallelTempering.resume(
            self.family, state.params, self._base_b(state), state.tempering
        )
        for _ in range(n_sweeps):
            pt.sweep(state.rng, adapt=True, adapt_rate=0.05)
        state.tempering = pt.to_state()
        return pt.top()

    def match(self, state, X, sample_weight=None):
        """Bring a continued state in line with changed options.

        Persistent chains are made (from the model's visible biases, as in
        :meth:`init_state`), dropped or resized to ``n_chains``; the centring
        offsets are made from ``X`` (visible: the mean of ``s(X)``, weighted
        by ``sample_weight``; hidden: 0.5) or dropped.
        """
        family, settings, p = self.family, self.settings, state.params
        pt = settings.tempering
        tstate = getattr(state, "tempering", None)
        if not pt:
            state.tempering = None
        elif (
            tstate is None
            or tstate.v.shape[0] != settings.n_chains * settings.n_temperatures
        ):
            state.tempering = self._init_tempering(state, settings.n_chains)
        if not settings.persistent or pt:
            state.chains = None
        elif state.chains is None:
            state.chains = init_chains(family, p, settings.n_chains, state.rng)
        elif state.chains.shape[0] > settings.n_chains:
            state.chains = _xp.copy(state.chains[: settings.n_chains, ...])
        elif state.chains.shape[0] < settings.n_chains:
            extra = settings.n_chains - state.chains.shape[0]
            new = init_chains(family, p, extra, state.rng)
            state.chains = _xp.get_xp(new).concat([state.chains, new])
        if not settings.fast_weights:
            state.fast = None
        elif state.fast is None:
            state.fast = zero_fast(p)
        if not settings.centering:
            state.offsets = None
        elif state.offsets is None:
            state.offsets = init_offsets(family, p, X, sample_weight)

    def bind(self, state, X):
        """The ``step(idx, lr, momentum, k)`` of :func:`~.loop.run_epochs`
        (sample weights act through the rows the minibatches repeat,
        :func:`~.loop.minibatches`)."""

        def step(idx, lr, momentum, k):
            self.update(state, _xp.take_rows(X, idx), lr, momentum, k)

        return step

    def _fast_step(self, fast, g, Hw, S, w_clip):
        """FPCD: the fast weights decay and take the likelihood step (the
        weight gradient is ``Hw' S``, clipped by the optimiser's factor
        ``w_clip``; the biases' clipped as the optimiser clips them): the
        chains sample the fast weights, so an unclipped step feeds on itself
        (a Gaussian RBM diverged within an epoch)."""
        a, d = self.settings.fast_learning_rate, self.settings.fast_decay
        opt = self.optimizer
        fast["W"] = decayed_low_rank(fast["W"], Hw, S, a * w_clip, d)
        for k in ("b", "c"):
            ak = a if opt.max_grad_norm is None else a * opt.clip_scale(grad_norm(g[k]))
            fast[k] = d * fast[k] + ak * g[k]

    def negative_start(self, state, ph_pos, n):
        """Hidden states the negative chains start from."""
        if self.settings.persistent:
            return state.chains
        if self.settings.negative_init == "noise":
            return init_chains(self.family, state.params, n, state.rng)
        return sample_bernoulli(ph_pos, state.rng)

    def update(self, state, v, lr, momentum, cd_steps):
        """One CD-k / PCD-k minibatch update of ``state`` in place.

        The fused form of :func:`~.reference.cd_update_reference` (same
        random draws, same result up to rounding):

        * the positive phase and the last negative step share one
          hidden-field GEMM over the stacked ``S = [s(v); s(v_neg)]`` (for
          PCD and noise-started chains; CD needs the data's hidden sample
          first);
        * the hidden probabilities come from a tanh-based sigmoid;
        * column means (bias gradients, centring offsets) come from two thin
          GEMMs with a (2, n + m) weight matrix;
        * both phases' statistics are stacked with signed weights and centred
          by the offsets, so that the centring corrections of the biases (and
          the norm of ``gW`` for clipping) come from the small stacked
          factors, and the optimiser's low-rank step writes the weight update
          into the velocity one block of rows at a time; no temporary of the
          size of ``W`` is made.
        """
        family, settings, p = self.family, self.settings, state.params
        if sp.issparse(v):
            v = v.toarray()
        W = p["W"]
        dtype = W.dtype
        xp = _xp.get_xp(W)
        n = v.shape[0]
        stacked = settings.persistent or settings.negative_init == "noise"
        ph_pos = None
        if not stacked:  # CD from the data: its hidden sample starts the chain
            ph_pos = sigmoid_of_field(family.scale(v, p), p)
        tempering = settings.tempering
        if tempering:
            v_neg = self._tempered_negative(state, cd_steps)
        else:
            h = self.negative_start(state, ph_pos, n)
            pn = p if state.fast is None else _with_fast(p, state.fast)
            chain = DenseChain(family, pn, fast=True)
            v_neg = gibbs_chain(chain, h, cd_steps, state.rng, last="visible")[0]
        m = v_neg.shape[0]
        S = xp.concat([family.scale(v, p), family.scale(v_neg, p)])
        if state.fast is not None:  # the chains' statistics see the fast weights
            Hw = xp.concat(
                [sigmoid_of_field(S[:n, ...], p), sigmoid_of_field(S[n:, ...], pn)]
            )
        elif stacked:
            Hw = sigmoid_of_field(S, p)
        else:
            Hw = xp.concat([ph_pos, sigmoid_of_field(S[n:, ...], p)])
        ph_pos, ph_neg = Hw[:n, ...], Hw[n:, ...]
        h_new = None if tempering else sample_bernoulli(ph_neg, state.rng)
        # column means by two thin GEMMs instead of five reductions: row 0 of
        # A averages the data rows, row 1 takes data mean minus model mean
        A = xp.zeros((2, n + m), dtype=dtype, device=_xp.device_of(W))
        A[:, :n] = 1.0 / n
        A[1, n:] = -1.0 / m
        AS, AH = A @ S, A @ Hw
        s_mean, ds, h_mean, g_c = AS[0, :], AS[1, :], AH[0, :], AH[1, :]
        if family.bias_stats_are_column_sums:
            g = {"b": ds}
        else:
            g = {k: val / n for k, val in family.bias_stats(v, ph_pos, p).items()}
            for k, val in family.bias_stats(v_neg, ph_neg, p).items():
                g[k] = g[k] - val / m
        g["c"] = g_c
        if state.offsets is not None:
            mu, lam = state.offsets
            S -= mu
            Hw -= lam
        Hw[:n, :] *= _xp.scalar(1.0 / n, W)
        Hw[n:, :] *= _xp.scalar(-1.0 / m, W)
        if state.offsets is not None:
            # gW = Hw' S, so gW' lam = (Hw lam)' S and gW mu = Hw' (S mu)
            g["b"] = g["b"] - (Hw @ lam) @ S
            g["c"] = g["c"] - Hw.T @ (S @ mu)
        # FPCD's bias gradients: before the weight decay joins g
        fast_g = None if state.fast is None else {"b": g["b"], "c": g["c"]}
        if state.offsets is not None:
            opt = self.optimizer
            centred_decay(g, W, state.offsets, opt.weight_decay, opt.lr_scale)
            nu = settings.offset_rate
            mu += nu * (s_mean - mu)
            lam += nu * (h_mean - lam)
        if settings.persistent and not tempering:
            state.chains = h_new
        opt = self.optimizer
        w_clip = opt.step_low_rank(p, state.opt, "W", Hw, S, lr, momentum)
        if fast_g is not None:
            self._fast_step(state.fast, fast_g, Hw, S, w_clip)
        opt.step(p, state.opt, g, lr, momentum)
        state.n_updates += 1
        family.constrain(p)
