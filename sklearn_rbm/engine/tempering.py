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
visible marginals ``f = exp(-F_beta)``.

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

    Attributes
    ----------
    betas : ndarray of shape (n_temperatures,)
        Increasing inverse temperatures, ``betas[-1] == 1``.
    v : ndarray of shape (n_temperatures * n_chains, n_visible)
        Replica states, replica ``k`` in rows ``k * n_chains ...``.
    swap_rates : ndarray of shape (n_temperatures - 1,)
        Acceptance rate of each neighbouring pair since the last
        :meth:`reset_rates`.
    """

    def __init__(
        self, family, params, base_b, n_chains, n_temperatures, rng, *, v0=None
    ):
        if n_temperatures < 2:
            raise ValueError(f"n_temperatures must be >= 2, got {n_temperatures}.")
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
    def resume(cls, family, params, base_b, state):
        """A sampler continuing the chains of a :class:`TemperingState`
        (under the current ``params``)."""
        pt = cls.__new__(cls)
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
        self.v = self.path.transition(self.v, self.u, self._beta_column(), rng)
        self.u = self.path.u_of(self.v, 1.0)
        if swap:
            self._swap(rng, adapt, adapt_rate)

    def _swap(self, rng, adapt, adapt_rate):
        path, betas = self.path, self.betas
        for i in range(self.parity, len(betas) - 1, 2):
            lo, hi = self._rows(i), self._rows(i + 1)
            v_lo, u_lo, v_hi, u_hi = self.v[lo], self.u[lo], self.v[hi], self.u[hi]
            log_a = (
                path.log_f(v_hi, u_hi, betas[i])
                + path.log_f(v_lo, u_lo, betas[i + 1])
                - path.log_f(v_lo, u_lo, betas[i])
                - path.log_f(v_hi, u_hi, betas[i + 1])
            )
            prob = np.exp(np.minimum(log_a, 0.0))
            accept = rng.random(self.n_chains) < prob
            if accept.any():
                idx = np.flatnonzero(accept)
                for arr in (self.v, self.u):
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


def tempered_chains(
    family,
    params,
    base_b,
    n_chains,
    n_steps,
    rng,
    *,
    n_temperatures=10,
    v0=None,
    burn_in=None,
):
    """Run parallel tempering for ``n_steps`` sweeps; return the sampler.

    The ladder adapts during the first ``burn_in`` sweeps (default: half of
    them, with a step size that decays like ``1 / sqrt(t)``) and stays fixed
    afterwards, so the last ``n_steps - burn_in`` sweeps leave the tempered
    product distribution invariant.
    """
    pt = ParallelTempering(family, params, base_b, n_chains, n_temperatures, rng, v0=v0)
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
