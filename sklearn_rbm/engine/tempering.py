"""Parallel tempering (replica exchange) with an adaptive temperature ladder.

The replicas live on the annealing path of AIS (:class:`~sklearn_rbm.engine.
partition._AnnealingPath`): at inverse temperature ``beta`` the model has
weights ``beta W``, hidden biases ``beta c`` and visible biases
``(1 - beta) b_A + beta b``, where ``b_A`` are the data's base rates and the
family extras (Gaussian variances) are the model's. ``beta = 1`` is the model;
``beta = 0`` the base-rate model of independent units, which one Gibbs sweep
samples exactly. Every sweep updates all replicas of all chains at once (one
stacked matrix product per layer: the path's Gibbs transition with one
``beta`` per row), then proposes to swap the states of neighbouring
replicas, even pairs and odd pairs in turn, accepted with the Metropolis
probability ``min(1, f_i(v_j) f_j(v_i) / (f_i(v_i) f_j(v_j)))`` on the
visible marginals ``f = exp(-F_beta)`` (``swap_states="marginal"``), or on
the joint states ``(v, h)``, ``f = exp(-E_beta(v, h))``, where ``h`` is the
hidden state that drew ``v`` in the sweep (``"joint"``, as in Desjardins et
al. 2010). Both leave the product of the replicas' distributions invariant.
A marginal swap is accepted more often (``h`` is summed out of it) but costs
four softplus sums over the hidden units per pair; a joint one costs a dot
product per replica: ``-E_beta(v, h)`` is the visible term at ``beta`` plus
``beta h . u``, so one ``h . u`` per replica serves both temperatures of a
pair, and only the visible terms are evaluated at each.

The ladder adapts while ``adapt`` is on: it keeps ``beta = 1`` at the top and
parameterises the rest by the log-gaps between neighbours; each swap round
moves a gap's log by ``rate * (acceptance - target)``, so a pair that swaps
too rarely moves closer and one that swaps too often spreads out. The
ladder thus reaches as far down as its replicas allow at the target swap
rate, and stops at ``beta = 0`` (the gaps are scaled to fit) when it has
more replicas than needed. Adaptation breaks detailed balance, so samplers
adapt during burn-in only and keep the ladder fixed afterwards.
"""

from dataclasses import dataclass

import numpy as np

from .partition import _AnnealingPath

#: target swap rate of neighbouring replicas, and the band reported as "in band"
TARGET_SWAP_RATE = 0.35
SWAP_RATE_BAND = (0.2, 0.5)
#: smallest log-gap between neighbouring inverse temperatures (exp: 6e-6)
MIN_LOG_GAP = -12.0


@dataclass
class TemperingState:
    """What persistent tempering chains keep between training updates.

    ``v`` holds the replicas' visible states (replica ``k`` of every chain in
    rows ``k * n_chains ...``, the model's dtype), ``log_gaps`` the ladder
    (``n_temperatures - 1`` log-gaps, see :class:`ParallelTempering`) and
    ``parity`` which pairs swap next.
    """

    v: np.ndarray
    log_gaps: np.ndarray
    parity: int = 0


class ParallelTempering:
    """Replicas of ``n_chains`` chains on a ladder of ``n_temperatures``.

    Parameters
    ----------
    family, params : the model (``params`` in its own dtype).
    base_b : ndarray of shape (n_visible,)
        Visible biases of the base-rate model at ``beta = 0``.
    n_chains : int
        Chains at ``beta = 1`` (each with ``n_temperatures - 1`` helpers).
    n_temperatures : int
        Replicas per chain, at least 2.
    v0 : ndarray of shape (n_chains, n_visible) or None
        Start of the ``beta = 1`` replicas (the others start from the base
        model); None starts every replica from the base model.
    swap_states : {"marginal", "joint"}
        What a swap proposal compares: the visible states with the hidden
        units summed out, or the visible and hidden states of the sweep.

    Attributes
    ----------
    betas : ndarray of shape (n_temperatures,)
        Increasing inverse temperatures, ``betas[-1] == 1``.
    v : ndarray of shape (n_temperatures * n_chains, n_visible)
        Replica states, replica ``k`` in rows ``k * n_chains ...``.
    swap_rates : ndarray of shape (n_temperatures - 1,)
        Acceptance rate of each neighbouring pair since the last
        :meth:`reset_rates`.
    swap_states : str
        The kind of swap, as given.
    h : ndarray of shape (n_temperatures * n_chains, n_hidden) or None
        With joint swaps, the hidden states that drew ``v`` in the last
        sweep (swapped with it); None before the first sweep and with
        marginal swaps.
    """

    def __init__(
        self,
        family,
        params,
        base_b,
        n_chains,
        n_temperatures,
        rng,
        *,
        v0=None,
        swap_states="marginal",
    ):
        if n_temperatures < 2:
            raise ValueError(f"n_temperatures must be >= 2, got {n_temperatures}.")
        self.swap_states = _check_swap_states(swap_states)
        self.h = None
        self.path = _AnnealingPath(family, params, {"b": base_b})
        self.n_chains = int(n_chains)
        k = int(n_temperatures)
        # start as an even ladder over [0, 1]; adaptation shrinks the gaps
        self.log_gaps = np.full(k - 1, np.log(1.0 / (k - 1)))
        self.betas = self._ladder()
        v = self.path.base_sample(k * self.n_chains, rng)
        if v0 is not None:
            v[-self.n_chains :] = v0
        self.v = v
        self.u = self.path.u_of(v, 1.0)
        self.parity = 0
        self.reset_rates()

    @classmethod
    def resume(cls, family, params, base_b, state, *, swap_states="marginal"):
        """A sampler continuing the chains of a :class:`TemperingState`
        (under the current ``params``; joint swaps start after a sweep)."""
        pt = cls.__new__(cls)
        pt.swap_states = _check_swap_states(swap_states)
        pt.h = None
        pt.path = _AnnealingPath(family, params, {"b": base_b})
        pt.log_gaps = state.log_gaps
        pt.n_chains = state.v.shape[0] // (state.log_gaps.shape[0] + 1)
        pt.betas = pt._ladder()
        pt.v = state.v
        pt.u = pt.path.u_of(state.v, 1.0)
        pt.parity = int(state.parity)
        pt.reset_rates()
        return pt

    def to_state(self):
        return TemperingState(v=self.v, log_gaps=self.log_gaps, parity=int(self.parity))

    def _ladder(self):
        gaps = np.exp(self.log_gaps)
        total = gaps.sum()
        if total > 1.0:  # more replicas than needed: stop at beta = 0
            gaps = gaps / total
        betas = 1.0 - np.concatenate([np.cumsum(gaps[::-1])[::-1], [0.0]])
        betas[-1] = 1.0
        return np.maximum(betas, 0.0)

    def reset_rates(self):
        self._accepted = np.zeros(len(self.betas) - 1)
        self._proposed = np.zeros(len(self.betas) - 1)

    @property
    def swap_rates(self):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self._proposed > 0, self._accepted / self._proposed, 0.0)

    def _rows(self, k):
        return slice(k * self.n_chains, (k + 1) * self.n_chains)

    def _beta_column(self):
        col = np.repeat(self.betas, self.n_chains)[:, None]
        return col.astype(self.path.dtype)

    def sweep(self, rng, *, adapt=False, adapt_rate=0.1, swap=True):
        """One Gibbs sweep of every replica, then one round of swaps (none
        with ``swap=False``: each of the two steps leaves the tempered
        product distribution invariant on its own)."""
        joint = self.swap_states == "joint"
        out = self.path.transition(
            self.v, self.u, self._beta_column(), rng, return_hidden=joint
        )
        self.v, self.h = out if joint else (out, None)
        self.u = self.path.u_of(self.v, 1.0)
        if swap:
            self._swap(rng, adapt, adapt_rate)

    def _log_ratios(self):
        """Function of a pair ``i, i + 1``: the log Metropolis ratio of
        swapping its replicas, for each chain."""
        path, betas, rows = self.path, self.betas, self._rows
        if self.swap_states == "marginal":

            def log_ratio(i):
                lo, hi = rows(i), rows(i + 1)
                v_lo, u_lo, v_hi, u_hi = self.v[lo], self.u[lo], self.v[hi], self.u[hi]
                return (
                    path.log_f(v_hi, u_hi, betas[i])
                    + path.log_f(v_lo, u_lo, betas[i + 1])
                    - path.log_f(v_lo, u_lo, betas[i])
                    - path.log_f(v_hi, u_hi, betas[i + 1])
                )

            return log_ratio
        # joint states: -E_beta = visible term at beta + beta h . u, so the
        # coupling h . u of every replica is computed once per round
        # (h is 0/1, so h * u is exact in the model's dtype; summed in float64)
        v64 = self.v.astype(np.float64)
        coupling = np.sum(self.h * self.u, axis=1, dtype=np.float64)

        def log_ratio(i):
            lo, hi = rows(i), rows(i + 1)
            b_lo, b_hi = betas[i], betas[i + 1]
            return (
                path.visible_log(v64[hi], b_lo)
                + path.visible_log(v64[lo], b_hi)
                - path.visible_log(v64[lo], b_lo)
                - path.visible_log(v64[hi], b_hi)
                + (b_lo - b_hi) * (coupling[hi] - coupling[lo])
            )

        return log_ratio

    def _swap(self, rng, adapt, adapt_rate):
        betas = self.betas
        log_ratio = self._log_ratios()
        swapped = (self.v, self.u) if self.h is None else (self.v, self.u, self.h)
        for i in range(self.parity, len(betas) - 1, 2):
            lo, hi = self._rows(i), self._rows(i + 1)
            prob = np.exp(np.minimum(log_ratio(i), 0.0))
            accept = rng.random(self.n_chains) < prob
            if accept.any():
                idx = np.flatnonzero(accept)
                for arr in swapped:
                    a, b = arr[lo][idx], arr[hi][idx]  # copies
                    arr[lo.start + idx], arr[hi.start + idx] = b, a
            rate = float(np.mean(prob))  # Rao-Blackwellised acceptance
            self._accepted[i] += rate
            self._proposed[i] += 1
            if adapt:
                self.log_gaps[i] += adapt_rate * (rate - TARGET_SWAP_RATE)
        self.parity = 1 - self.parity
        if adapt:
            # no gap above the whole range, nor so small that it cannot
            # recover: a model near its base swaps at every distance
            np.clip(self.log_gaps, MIN_LOG_GAP, 0.0, out=self.log_gaps)
            self.betas = self._ladder()

    def top(self):
        """The ``beta = 1`` replicas: the chains' current samples."""
        return self.v[self._rows(len(self.betas) - 1)]


def _check_swap_states(swap_states):
    if swap_states not in ("marginal", "joint"):
        raise ValueError(
            f"swap_states must be 'marginal' or 'joint', got {swap_states!r}."
        )
    return swap_states


def tempered_chains(
    family, params, base_b, n_chains, n_steps, rng, *, burn_in=None, **options
):
    """Run parallel tempering for ``n_steps`` sweeps; return the sampler.

    The ladder adapts during the first ``burn_in`` sweeps (default: half of
    them, with a step size that decays like ``1 / sqrt(t)``) and stays fixed
    afterwards, so the last ``n_steps - burn_in`` sweeps leave the tempered
    product distribution invariant. ``options`` (``n_temperatures``,
    default 10; ``v0``, ``swap_states``) are those of
    :class:`ParallelTempering`.
    """
    k = options.pop("n_temperatures", 10)
    pt = ParallelTempering(family, params, base_b, n_chains, k, rng, **options)
    burn_in = n_steps // 2 if burn_in is None else burn_in
    for t in range(n_steps):
        adapting = t < burn_in
        if t == burn_in:
            pt.reset_rates()
        pt.sweep(rng, adapt=adapting, adapt_rate=0.5 / np.sqrt(1.0 + t))
    return pt


__all__ = [
    "SWAP_RATE_BAND",
    "TARGET_SWAP_RATE",
    "ParallelTempering",
    "TemperingState",
    "tempered_chains",
]
