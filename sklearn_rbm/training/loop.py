"""The epoch loop shared by every estimator.

:func:`run_epochs` knows nothing about the visible family or the data
layout: an estimator hands it a ``step(batch_idx, lr, momentum, cd_steps)``
callable built by a training phase, the phase's :class:`~.state.Schedule`,
and optionally a ``monitor()`` returning a score where higher is better
(early stopping keeps the best epoch) and an ``epoch_end()`` (to flush
lazily applied updates).
"""

import time

import numpy as np
from sklearn.utils import gen_batches

from ..engine import _xp
from ..exceptions import DivergenceError


def check_finite(state, learning_rate, where="epoch", name="learning_rate"):
    """Raise :class:`DivergenceError` when a parameter has blown up.

    Called after every epoch (and every ``partial_fit`` pass); costs one pass
    over the parameters, a fraction ``1 / n_batches`` of an epoch. Blown up
    means infinite, NaN, or larger in magnitude than the square root of the
    dtype's largest value (1.3e154 in float64, 1.8e19 in float32): beyond
    that, products of two such numbers and sums of energies over samples
    overflow, so the model could not be scored; no trained RBM comes near it.
    """
    bad = []
    for k, v in state.params.items():
        if not _xp.is_numpy(v):
            if not _xp.all_finite_below(v, np.sqrt(_xp.finfo_max(v.dtype, v))):
                bad.append(k)
            continue
        limit = np.sqrt(np.finfo(v.dtype).max) if v.dtype.kind == "f" else np.inf
        with np.errstate(invalid="ignore"):
            if not (np.abs(v) <= limit).all():  # False for NaN too
                bad.append(k)
    if bad:
        raise DivergenceError(
            f"Training diverged: parameter(s) {', '.join(sorted(bad))} became "
            f"infinite, NaN or too large after {where} {state.n_epochs + 1} with "
            f"{name}={learning_rate!r}. Lower the {name} (and/or "
            "momentum and weight_decay) or rescale the data. The previous model "
            "is kept."
        )


def training_errstate():
    """Floating-point policy of the training loop.

    Overflow and invalid operations are not warned about inside the loop:
    a diverging run is caught by :func:`check_finite` after the epoch and
    reported as one clear :class:`DivergenceError` instead of a cascade of
    RuntimeWarnings.
    """
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


def frequency_rows(sample_weight, rng):
    """The rows an epoch visits under frequency weights: row ``i`` repeated
    ``floor(w_i)`` times, plus once more with probability ``w_i - floor(w_i)``
    (one draw per row from ``rng``, made only when some weight is not an
    integer), in row order. Integer weights give exactly the rows of
    ``np.repeat(X, w, axis=0)``; so do weights within ``1e-9`` (relative) of
    integers, such as ``3.0000000000000004`` from ``0.3 * 10``."""
    counts = np.rint(sample_weight)
    near = np.abs(sample_weight - counts) <= 1e-9 * np.maximum(counts, 1.0)
    counts = np.where(near, counts, np.floor(sample_weight))
    frac = np.where(near, 0.0, sample_weight - counts)
    if frac.any():
        counts = counts + (_xp.to_numpy(rng.random((len(frac),))) < frac)
    return np.repeat(np.arange(len(counts)), counts.astype(np.int64))


def minibatches(n_samples, batch_size, rng=None, sample_weight=None, draw_rng=None):
    """Index arrays of consecutive minibatches, shuffled when ``rng`` is given.

    With ``sample_weight`` (frequencies), the rows of :func:`frequency_rows`
    (its draws from ``draw_rng``, else ``rng``) are batched instead of each
    row once: the epoch is that of the rows repeated as the weights say.
    """
    if sample_weight is None:
        order = rng.permutation(n_samples) if rng is not None else np.arange(n_samples)
        return [order[s] for s in gen_batches(n_samples, batch_size)]
    rows = frequency_rows(sample_weight, draw_rng if draw_rng is not None else rng)
    if rng is not None:
        rows = rows[_xp.to_numpy(rng.permutation(len(rows)))]
    return [rows[s] for s in gen_batches(len(rows), batch_size)]


class EarlyStopping:
    """Stop when the monitored score has not improved by ``tol`` for
    ``n_iter_no_change`` epochs; remembers the best state to restore.

    As in scikit-learn's ``MLPClassifier``: ``tol`` only drives the patience
    counter, and the kept state is the best-scoring epoch (any improvement).
    """

    def __init__(self, tol, n_iter_no_change):
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.best_score = -np.inf
        self.best_state = None
        self.best_epoch = 0
        self._bad = 0

    def learning_rate(self, epoch, scheduled):
        """The learning rate of ``epoch``: the schedule's."""
        return scheduled

    def describe(self, score_name):
        """Why training stopped (a ``verbose`` line)."""
        return (
            f"The {score_name} did not improve more than tol={self.tol} for "
            f"{self.n_iter_no_change} epochs; stopping, keeping epoch "
            f"{self.best_epoch + 1}."
        )

    def reset_patience(self):
        """Start a new phase of training: the best score and state are kept,
        the count of epochs without progress restarts."""
        self._bad = 0

    def update(self, score, state, epoch):
        """Record ``score``; return True when training should stop."""
        progress = score > self.best_score + self.tol
        if score > self.best_score:
            self.best_score = score
            self.best_state = state.copy()
            self.best_epoch = epoch
        self._bad = 0 if progress else self._bad + 1
        return self._bad >= self.n_iter_no_change


#: the decay after a stall lasts this many times the epochs before it
ANNEAL_FACTOR = 10


class AnnealingEarlyStopping(EarlyStopping):
    """Early stopping for a linearly decaying learning rate.

    The first time the score stalls (``n_iter_no_change`` epochs without
    progress), training does not stop: the learning rate decays linearly
    from its current value to zero over :data:`ANNEAL_FACTOR` times the
    epochs done so far (at most the epochs left before ``end``), and
    training stops at the end of that decay, keeping the best epoch. A
    linear schedule improves the model most in its last epochs, which a
    plain early stop never reaches; this runs them from where the score
    stalls. (The factor is a cost trade-off measured on 3-fold splits of
    the training parts of wine, breast cancer and diabetes:
    ``benchmarks/check_gaussian_pitfalls.py --select``.)
    :func:`run_epochs` asks :meth:`learning_rate` of each epoch before
    :meth:`update` of its score, as the decay's start needs.
    """

    def __init__(self, tol, n_iter_no_change, end):
        super().__init__(tol, n_iter_no_change)
        self.end = end  # the epoch count at which training ends anyway
        self.start = None  # the first epoch of the decay
        self.length = None
        self.rate = None  # the schedule's rate, frozen when the decay starts

    def learning_rate(self, epoch, scheduled):
        if self.start is None:
            self.rate = scheduled
            return scheduled
        return self.rate * (1.0 - (epoch - self.start + 1) / (self.length + 1))

    def describe(self, score_name):
        if not self.length:  # the stall came at the last epoch
            return super().describe(score_name)
        return (
            f"The {score_name} stalled at epoch {self.start}; the learning "
            f"rate then decayed to zero over {self.length} epochs; stopping, "
            f"keeping epoch {self.best_epoch + 1}."
        )

    def update(self, score, state, epoch):
        stalled = super().update(score, state, epoch)
        if self.start is None:
            if stalled:
                done = epoch + 1
                self.start = done
                # a stall takes n_iter_no_change epochs: done >= that
                self.length = min(ANNEAL_FACTOR * done, max(self.end - done, 0))
                return self.length == 0
            return False
        return epoch + 1 >= self.start + self.length


def run_epochs(
    state,
    step,
    n_samples,
    schedule,
    *,
    batch_size,
    n_epochs,
    shuffle=True,
    sample_weight=None,
    monitor=None,
    early_stopping=None,
    verbose=0,
    name="RBM",
    score_name="score",
    score_sign=1,
    epoch_end=None,
):
    """Run up to ``n_epochs`` epochs of ``step`` over shuffled minibatches.

    ``sample_weight`` (frequencies, a numpy vector) makes each epoch visit
    row ``i`` about ``w_i`` times (:func:`minibatches`).

    Returns ``(state, history)``; with early stopping the returned state is the
    best one seen. ``history`` lists the monitored score per epoch (higher is
    better); progress lines print ``score_sign * score`` as ``score_name``
    (``-1`` for a loss monitored as its negative, such as the RMSE).
    ``epoch_end()``, if given, runs after each epoch's updates and before the
    monitor (e.g. to flush lazily applied updates).
    """
    history = []
    for _ in range(n_epochs):
        epoch = state.n_epochs
        t0 = time.perf_counter()
        lr = schedule.learning_rate_at(epoch)
        if early_stopping is not None:
            lr = early_stopping.learning_rate(epoch, lr)
        state.lr_factor = lr / schedule.learning_rate
        mom = schedule.momentum_at(epoch)
        k = schedule.cd_steps_at(epoch)
        with training_errstate():
            batches = minibatches(
                n_samples,
                batch_size,
                state.rng if shuffle else None,
                sample_weight,
                state.rng,
            )
            for idx in batches:
                step(idx, lr, mom, k)
            if epoch_end is not None:
                epoch_end()
        check_finite(state, schedule.learning_rate, name=schedule.learning_rate_name)
        state.n_epochs += 1
        score = monitor() if monitor is not None else None
        history.append(score)
        if verbose:
            msg = f"[{name}] Iteration {state.n_epochs}"
            if score is not None:
                msg += f", {score_name} = {score_sign * score:.4f}"
            print(f"{msg}, time = {time.perf_counter() - t0:.2f}s", flush=True)
        if early_stopping is not None and early_stopping.update(score, state, epoch):
            if verbose:
                print(f"[{name}] {early_stopping.describe(score_name)}", flush=True)
            best = early_stopping.best_state
            best.n_epochs = state.n_epochs
            return best, history
    if early_stopping is not None and early_stopping.best_state is not None:
        best = early_stopping.best_state
        best.n_epochs = state.n_epochs
        return best, history
    return state, history


def continued_learning_rate(state, schedule):
    """Learning rate of a partial_fit call: where fit's schedule ended.

    After ``fit`` with the linear schedule that is ``learning_rate /
    max_iter`` (its last epoch): restarting at the full rate undoes the
    annealing (MovieLens 100K u1, one pass over 5% new ratings: 0.9243 ->
    0.9285 RMSE at the full rate, 0.9228 continued; a test reproduces it).
    A model built by partial_fit alone uses ``learning_rate``.
    """
    return schedule.learning_rate * getattr(state, "lr_factor", 1.0)
