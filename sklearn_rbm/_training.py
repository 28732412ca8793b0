"""The shared training loop.

One minibatch update (:func:`cd_update`) and one epoch loop
(:func:`run_epochs`) serve every estimator. The loop knows nothing about the
visible family or the data layout: an estimator hands it a ``step(batch_idx,
lr, momentum, cd_steps)`` callable and, optionally, a ``monitor()`` returning a
score where higher is better.
"""

import copy
import time
from dataclasses import dataclass, field

import numpy as np

from ._engine import (
    gibbs_from_hidden,
    gradient,
    hidden_proba,
    phase_stats,
    sample_bernoulli,
)
from ._utils import data_moments


@dataclass
class TrainState:
    """Everything a fit needs to continue bit-identically after pickling."""

    params: dict
    velocity: dict
    rng: np.random.Generator
    chains: np.ndarray | None = None  # hidden samples of persistent chains
    offsets: tuple | None = None  # (mu, lam) for centering
    moments: tuple | None = None  # running data moments for the base-rate model
    n_updates: int = 0
    n_epochs: int = 0
    cache: dict = field(default_factory=dict)  # derived values, e.g. log Z

    def copy(self):
        new = copy.deepcopy(self)
        new.cache = {}
        return new


@dataclass(frozen=True)
class Settings:
    """Hyperparameters of the update, resolved from an estimator's params."""

    learning_rate: float
    momentum: float
    weight_decay: float
    cd_steps: object  # int, or a tuple of (first_epoch, k) milestones
    persistent: bool
    n_chains: int
    centering: bool
    offset_rate: float = 0.01
    frozen: tuple = ()
    learning_rate_schedule: str = "constant"
    momentum_schedule: str = "warmup"
    max_iter: int = 1
    #: clip each parameter's gradient to this Euclidean norm (None: no clipping)
    max_grad_norm: float | None = None
    #: start of non-persistent negative chains: "data" (CD) or "noise", fresh
    #: samples of the base-rate model at every update (Liao et al. 2022)
    negative_init: str = "data"
    #: per-parameter multipliers of the learning rate, as (name, factor) pairs
    lr_scale: tuple = ()

    def learning_rate_at(self, epoch):
        if self.learning_rate_schedule == "linear":
            return self.learning_rate * (1.0 - epoch / max(self.max_iter, 1))
        return self.learning_rate

    def momentum_at(self, epoch):
        # Hinton (2010): start at 0.5 while the weights move fast, then raise.
        if self.momentum_schedule == "warmup" and epoch < 5:
            return min(0.5, self.momentum)
        return self.momentum

    def cd_steps_at(self, epoch):
        if isinstance(self.cd_steps, int | np.integer):
            return int(self.cd_steps)
        k = 1
        for start, steps in self.cd_steps:
            if epoch >= start:
                k = steps
        return int(k)


def init_state(family, X, n_hidden, dtype, settings, rng):
    """Initial parameters: small random weights, base-rate visible biases."""
    moments = data_moments(X)
    base = family.base_params(moments, n_hidden, dtype)
    params = {name: np.array(val, dtype=dtype) for name, val in base.items()}
    params["W"] = rng.normal(0.0, 0.01, size=params["W"].shape).astype(dtype)
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    state = TrainState(params=params, velocity=velocity, rng=rng, moments=moments)
    if settings.persistent:
        state.chains = init_chains(family, params, settings.n_chains, rng)
    if settings.centering:
        mu = np.asarray(family.scale(X, params).mean(axis=0), dtype=dtype).ravel()
        state.offsets = (mu, np.full(n_hidden, 0.5, dtype=dtype))
    return state


def init_chains(family, params, n_chains, rng):
    """Persistent chains start from the base-rate model (data marginals)."""
    dtype = params["W"].dtype
    b = np.broadcast_to(params["b"], (n_chains, params["b"].shape[0])).astype(dtype)
    v0 = family.sample(b, params, rng)
    return sample_bernoulli(hidden_proba(family, v0, params), rng)


def cd_update(family, state, v, settings, lr, momentum, cd_steps):
    """One CD-k / PCD-k minibatch update of ``state`` in place."""
    p = state.params
    rng = state.rng
    ph_pos = hidden_proba(family, v, p)
    if settings.persistent:
        h0 = state.chains
    elif settings.negative_init == "noise":
        h0 = init_chains(family, p, v.shape[0], rng)
    else:
        h0 = sample_bernoulli(ph_pos, rng)
    v_neg, ph_neg, h_new = gibbs_from_hidden(family, p, h0, cd_steps, rng)
    pos = phase_stats(family, v, ph_pos, p)
    neg = phase_stats(family, v_neg, ph_neg, p)
    g = gradient(family, p, pos, neg, state.offsets)
    if state.offsets is not None:
        mu, lam = state.offsets
        nu = settings.offset_rate
        mu += nu * (pos["s"] - mu)
        lam += nu * (pos["c"] - lam)
    if settings.persistent:
        state.chains = h_new
    apply_update(state, g, settings, lr, momentum)
    family.constrain(p)


def apply_update(state, g, settings, lr, momentum):
    """Momentum SGD ascent step with L2 weight decay on ``W``."""
    p = state.params
    if settings.weight_decay:
        g["W"] -= settings.weight_decay * p["W"]
    lr_scale = dict(settings.lr_scale)
    for name, grad in g.items():
        if name in settings.frozen:
            continue
        if settings.max_grad_norm is not None:
            norm = float(np.sqrt(np.sum(grad * grad)))
            if norm > settings.max_grad_norm:
                grad = grad * grad.dtype.type(settings.max_grad_norm / norm)
        vel = state.velocity[name]
        vel *= momentum
        vel += (lr * lr_scale[name] if name in lr_scale else lr) * grad
        p[name] += vel
    state.n_updates += 1


def minibatches(n_samples, batch_size, rng=None):
    """Index arrays of consecutive minibatches, shuffled when ``rng`` is given."""
    order = rng.permutation(n_samples) if rng is not None else np.arange(n_samples)
    return [order[i : i + batch_size] for i in range(0, n_samples, batch_size)]


class EarlyStopping:
    """Stop when the monitored score has not improved by ``tol`` for
    ``n_iter_no_change`` epochs; remembers the best state to restore."""

    def __init__(self, tol, n_iter_no_change):
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.best_score = -np.inf
        self.best_state = None
        self.best_epoch = 0
        self._bad = 0

    def update(self, score, state, epoch):
        """Record ``score``; return True when training should stop."""
        if score > self.best_score + self.tol:
            self.best_score = score
            self.best_state = state.copy()
            self.best_epoch = epoch
            self._bad = 0
        else:
            self._bad += 1
        return self._bad >= self.n_iter_no_change


def run_epochs(
    state,
    step,
    n_samples,
    settings,
    *,
    batch_size,
    n_epochs,
    shuffle=True,
    monitor=None,
    early_stopping=None,
    verbose=0,
    name="RBM",
    score_name="score",
):
    """Run up to ``n_epochs`` epochs of ``step`` over shuffled minibatches.

    Returns ``(state, history)``; with early stopping the returned state is the
    best one seen. ``history`` lists the monitored score per epoch.
    """
    history = []
    for _ in range(n_epochs):
        epoch = state.n_epochs
        t0 = time.perf_counter()
        lr = settings.learning_rate_at(epoch)
        mom = settings.momentum_at(epoch)
        k = settings.cd_steps_at(epoch)
        for idx in minibatches(n_samples, batch_size, state.rng if shuffle else None):
            step(idx, lr, mom, k)
        state.n_epochs += 1
        score = monitor() if monitor is not None else None
        history.append(score)
        if verbose:
            msg = f"[{name}] Iteration {state.n_epochs}"
            if score is not None:
                msg += f", {score_name} = {score:.4f}"
            print(f"{msg}, time = {time.perf_counter() - t0:.2f}s", flush=True)
        if early_stopping is not None and early_stopping.update(score, state, epoch):
            if verbose:
                print(
                    f"[{name}] Validation {score_name} did not improve more than "
                    f"tol={early_stopping.tol} for {early_stopping.n_iter_no_change} "
                    f"epochs; stopping, keeping epoch {early_stopping.best_epoch + 1}.",
                    flush=True,
                )
            best = early_stopping.best_state
            best.n_epochs = state.n_epochs
            return best, history
    if early_stopping is not None and early_stopping.best_state is not None:
        best = early_stopping.best_state
        best.n_epochs = state.n_epochs
        return best, history
    return state, history
