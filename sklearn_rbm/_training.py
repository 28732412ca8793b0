"""The shared training loop.

One minibatch update (:func:`cd_update`) and one epoch loop
(:func:`run_epochs`) serve every estimator. The loop knows nothing about the
visible family or the data layout: an estimator hands it a ``step(batch_idx,
lr, momentum, cd_steps)`` callable and, optionally, a ``monitor()`` returning a
score where higher is better.
"""

import contextlib
import copy
import os
import threading
import time
from dataclasses import MISSING, dataclass, field, fields

import numpy as np
import scipy.sparse as sp
from scipy.linalg import blas

from ._engine import (
    gibbs_from_hidden,
    gradient,
    hidden_proba,
    phase_stats,
    sample_bernoulli,
    visible_field,
)
from ._utils import blas_controller, data_moments, sigmoid
from .exceptions import DivergenceError

#: entries of ``TrainState.cache`` that are pickled with the model
_KEPT_CACHE = ("log_z",)


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
    #: learning rate of the last epoch of fit, as a multiple of the
    #: ``learning_rate`` parameter: where partial_fit continues after fit
    lr_factor: float = 1.0
    # bookkeeping of lazy_row_update: {"last": int64 per row, "t": int, "coef": ...}
    lazy: dict = field(default_factory=dict)
    #: Adam moments of discriminative fine-tuning: {"t": int, "m": {}, "v": {}}
    adam: dict = field(default_factory=dict)

    def copy(self):
        new = copy.deepcopy(self)
        new.cache = {}
        return new

    def __getstate__(self):
        # pickled (and skops) state keeps the costly log Z estimate but not
        # the serving caches (the recommender's user x item CSR, hidden
        # probabilities): cheap to rebuild, and a CSR is no type skops trusts
        state = self.__dict__.copy()
        state["cache"] = {k: v for k, v in self.cache.items() if k in _KEPT_CACHE}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        # a state pickled by an older version lacks the newer fields (e.g.
        # ``adam``): they take their defaults
        for f in fields(self):
            if f.name not in self.__dict__:
                if f.default_factory is not MISSING:
                    setattr(self, f.name, f.default_factory())
                elif f.default is not MISSING:
                    setattr(self, f.name, f.default)


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
    #: the estimator parameter that sets ``learning_rate`` (error messages)
    learning_rate_name: str = "learning_rate"

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


def init_state(
    family, X, n_hidden, dtype, settings, rng, *, adjust=None, data_offsets=True
):
    """Initial state: small random weights, base-rate visible biases.

    ``adjust(params)`` may change the initial parameters in place before the
    persistent chains and the centring offsets are made from them. The visible
    offset is the data mean of ``s(v)`` (``data_offsets``) or the initial
    model's mean; the hidden offset starts at 0.5.
    """
    moments = data_moments(X)
    base = family.base_params(moments, n_hidden, dtype)
    params = {name: np.array(val, dtype=dtype) for name, val in base.items()}
    params["W"] = rng.normal(0.0, 0.01, size=params["W"].shape).astype(dtype)
    if adjust is not None:
        adjust(params)
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    state = TrainState(params=params, velocity=velocity, rng=rng, moments=moments)
    if settings.persistent:
        state.chains = init_chains(family, params, settings.n_chains, rng)
    if settings.centering:
        state.offsets = init_offsets(family, params, X if data_offsets else None)
    return state


def init_offsets(family, params, X=None):
    """Centring offsets: the visible one is the mean of ``s(X)`` (or, without
    ``X``, ``s`` of the model's visible mean), the hidden one 0.5."""
    dtype = params["W"].dtype
    if X is not None:
        mu = family.scale(X, params).mean(axis=0)
    else:
        mu = family.scale(family.mean(params["b"][None, :].copy(), params), params)
    mu = np.asarray(mu, dtype=dtype).ravel()
    return mu, np.full(params["W"].shape[0], 0.5, dtype=dtype)


def init_chains(family, params, n_chains, rng):
    """Persistent chains start from the base-rate model (data marginals)."""
    dtype = params["W"].dtype
    b = np.broadcast_to(params["b"], (n_chains, params["b"].shape[0])).astype(dtype)
    v0 = family.sample(b, params, rng)
    return sample_bernoulli(hidden_proba(family, v0, params), rng)


def cd_update_reference(family, state, v, settings, lr, momentum, cd_steps):
    """Readable reference of :func:`cd_update` (same result, same random draws)."""
    p = state.params
    rng = state.rng
    ph_pos = hidden_proba(family, v, p)
    h0 = _negative_start(family, state, settings, ph_pos, v.shape[0])
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


def _negative_start(family, state, settings, ph_pos, n):
    """Hidden states the negative chains start from."""
    if settings.persistent:
        return state.chains
    if settings.negative_init == "noise":
        return init_chains(family, state.params, n, state.rng)
    return sample_bernoulli(ph_pos, state.rng)


def cd_update(family, state, v, settings, lr, momentum, cd_steps):
    """One CD-k / PCD-k minibatch update of ``state`` in place.

    The fused form of :func:`cd_update_reference` (same random draws, same
    result up to rounding):

    * the positive phase and the last negative step share one hidden-field
      GEMM over the stacked ``S = [s(v); s(v_neg)]`` (for PCD and
      noise-started chains; CD needs the data's hidden sample first);
    * the hidden probabilities come from a tanh-based sigmoid (``_utils``);
    * column means (bias gradients, centring offsets) come from two thin
      GEMMs with a (2, n + m) weight matrix;
    * both phases' statistics are stacked with signed weights and centred by
      the offsets, so that the centring corrections of the biases (and the
      norm of ``gW`` for clipping) come from the small stacked factors, and
      :func:`_update_weights` writes ``momentum * velocity + lr * gW`` into
      the velocity one block of rows at a time; no temporary of the size of
      ``W`` is made.
    """
    p = state.params
    rng = state.rng
    if sp.issparse(v):
        v = v.toarray()
    W = p["W"]
    dtype = W.dtype
    n = v.shape[0]
    stacked = settings.persistent or settings.negative_init == "noise"
    ph_pos = None
    if not stacked:  # CD from the data: its hidden sample starts the chain
        ph_pos = _hidden_sigmoid(family, v, p)
    h = _negative_start(family, state, settings, ph_pos, n)
    for step in range(cd_steps):
        v_neg = family.sample(visible_field(h, p), p, rng)
        if step < cd_steps - 1:
            h = sample_bernoulli(_hidden_sigmoid(family, v_neg, p), rng)
    m = v_neg.shape[0]
    S = np.empty((n + m, v.shape[1]), dtype)
    S[:n] = family.scale(v, p)
    S[n:] = family.scale(v_neg, p)
    if stacked:
        Hw = _sigmoid_of_field(S, p)
    else:
        Hw = np.empty((n + m, W.shape[0]), dtype)
        Hw[:n] = ph_pos
        Hw[n:] = _sigmoid_of_field(S[n:], p)
    ph_pos, ph_neg = Hw[:n], Hw[n:]
    h_new = sample_bernoulli(ph_neg, rng)
    # column means by two thin GEMMs instead of five reductions: row 0 of A
    # averages the data rows, row 1 takes data mean minus model mean
    A = np.zeros((2, n + m), dtype)
    A[:, :n] = 1.0 / n
    A[1, n:] = -1.0 / m
    s_mean, ds = A @ S
    h_mean, g_c = A @ Hw
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
    Hw[:n] *= dtype.type(1.0 / n)
    Hw[n:] *= dtype.type(-1.0 / m)
    if state.offsets is not None:
        # gW = Hw' S, so gW' lam = (Hw lam)' S and gW mu = Hw' (S mu)
        g["b"] = g["b"] - (Hw @ lam) @ S
        g["c"] = g["c"] - Hw.T @ (S @ mu)
        nu = settings.offset_rate
        mu += nu * (s_mean - mu)
        lam += nu * (h_mean - lam)
    if settings.persistent:
        state.chains = h_new
    lr_w = lr * dict(settings.lr_scale).get("W", 1.0)
    step = lr_w
    if settings.max_grad_norm is not None:
        if Hw.shape[0] ** 2 < W.size:
            # ||Hw' S||_F^2 = sum((Hw Hw') * (S S')), from (2B x 2B) Gram matrices
            norm = float(np.sqrt(max(np.sum((Hw @ Hw.T) * (S @ S.T)), 0.0)))
        else:  # huge batches: the gradient itself is the smaller object
            norm = float(np.linalg.norm(Hw.T @ S))
        if norm > settings.max_grad_norm:
            step = lr_w * settings.max_grad_norm / norm
    decay = lr_w * settings.weight_decay
    _update_weights(W, state.velocity["W"], Hw, S, step, momentum, decay)
    apply_update(state, g, settings, lr, momentum)
    family.constrain(p)


#: values of ``W`` per block of the weight update (see _update_weights)
_BLOCK_THIN = 2**15
_BLOCK_THICK = 2**18
#: stacked batches up to this many rows count as "thin"
_THIN_ROWS = 64


def _update_weights(W, vel, Hw, S, step, momentum, decay):
    """``vel = momentum vel + step Hw' S - decay W`` then ``W += vel``, in place.

    One BLAS GEMM per block of rows writes ``momentum vel + step Hw' S``
    into the velocity (``beta = momentum``: the velocity is read and written
    once, no temporary), then two axpy passes apply the weight decay and add
    the velocity to ``W``. Walking ``W`` in blocks keeps a block of ``W`` and
    of its velocity in a core's L2 cache across the three passes: blocks of
    32K values for thin batches (memory-bound products), 256K for thick ones
    (where the product dominates and wants long blocks). Measured on one
    core, 500 x 784 (``benchmarks/README.md``): 0.75 ms against 1.44 ms for
    numpy unblocked at batch 10, float64; 1.47 against 2.10 at batch 100,
    float32.
    """
    if not (W.flags.c_contiguous and vel.flags.c_contiguous):
        raise RuntimeError("W and its velocity must be C-contiguous")
    f32 = W.dtype == np.float32
    axpy = blas.saxpy if f32 else blas.daxpy
    gemm = blas.sgemm if f32 else blas.dgemm
    block = _BLOCK_THIN if Hw.shape[0] <= _THIN_ROWS else _BLOCK_THICK
    rows = max(1, block // W.shape[1])
    for r0 in range(0, W.shape[0], rows):
        w, v = W[r0 : r0 + rows], vel[r0 : r0 + rows]
        # v (C order) is v.T in Fortran order: v.T = step S' Hw_blk + m v.T
        out = gemm(
            step,
            S.T,
            Hw[:, r0 : r0 + rows].T,
            beta=momentum,
            c=v.T,
            trans_b=True,
            overwrite_c=True,
        )
        if not np.shares_memory(out, v):  # pragma: no cover - BLAS copied c
            v[...] = out.T
        if decay:
            axpy(w.ravel(), v.ravel(), a=-decay)  # v -= decay * w
        axpy(v.ravel(), w.ravel())  # w += v


def _sigmoid_of_field(S, p):
    """``sigmoid(S W' + c)`` for already-scaled statistics ``S``."""
    u = S @ p["W"].T
    u += p["c"]
    return sigmoid(u, out=u)


def _hidden_sigmoid(family, v, p):
    """:func:`hidden_proba` with the fast sigmoid, for training."""
    return _sigmoid_of_field(family.scale(v, p), p)


def apply_update(state, g, settings, lr, momentum):
    """Momentum SGD ascent step for every parameter in ``g``.

    Each gradient is clipped to ``max_grad_norm`` (if set); L2 weight decay is
    then added to the gradient of ``W``; ``lr_scale`` multiplies the step of
    the parameters it names.
    """
    p = state.params
    lr_scale = dict(settings.lr_scale)
    for name, grad in g.items():
        if name in settings.frozen:
            continue
        if settings.max_grad_norm is not None:
            norm = float(np.sqrt(np.sum(grad * grad)))
            if norm > settings.max_grad_norm:
                grad = grad * grad.dtype.type(settings.max_grad_norm / norm)
        if name == "W" and settings.weight_decay:
            grad = grad - settings.weight_decay * p["W"]
        vel = state.velocity[name]
        vel *= momentum
        vel += lr * lr_scale.get(name, 1.0) * grad
        p[name] += vel
    state.n_updates += 1


def _is_numpy_blas(lib):
    return "numpy" in os.path.basename(os.path.dirname(lib.filepath))


#: guards the shared BLAS thread counts of concurrent training calls (threads
#: of one process): the first to enter saves the counts and sets the limit,
#: the last to leave restores them
_THREADS_LOCK = threading.Lock()
_threads_users = 0
_threads_saved = None


@contextlib.contextmanager
def training_threads():
    """BLAS threads while training dense RBMs: one, unless the user says so.

    Measured on the 2-core machine of ``benchmarks/README.md``, one thread is
    as fast as two for the products of an update (500 x 784 weights, batch
    10 to 100) and far more robust: a second thread gains at most ~20% on an
    idle machine and loses up to 10x as soon as anything else runs on the
    other core (two-thread OpenBLAS spin-waits between thin products).
    numpy's and scipy's wheels each bundle an OpenBLAS, and the weight update
    (:func:`_update_weights`) uses scipy's, so two multithreaded pools would
    also spin against each other (11.8 s against 4.7 s per epoch, measured).
    One thread also makes a fit's bits independent of the caller's limit.
    ``SKLEARN_RBM_BLAS_THREADS=N`` gives numpy's BLAS (the conditionals'
    products) ``N`` threads and keeps scipy's at one; ``0`` leaves both
    libraries alone.

    The thread counts are process-wide, so concurrent fits (in Python
    threads) share one limit: the first fit to enter saves the counts and
    sets the limit (from its view of ``SKLEARN_RBM_BLAS_THREADS``), the last
    one to leave restores them, under a lock and a reference count. Work in
    other threads meanwhile runs with the training limit too.
    """
    global _threads_users, _threads_saved
    env = os.environ.get("SKLEARN_RBM_BLAS_THREADS", "").strip()
    if env == "0":
        yield
        return
    with _THREADS_LOCK:
        if _threads_users == 0:
            libs = blas_controller().lib_controllers
            saved = [(lib, lib.num_threads) for lib in libs]
            # one shared BLAS (e.g. conda's): it is numpy's as well
            numpy_libs = [lib for lib in libs if len(libs) == 1 or _is_numpy_blas(lib)]
            try:
                for lib in libs:
                    n = int(env) if env and lib in numpy_libs else 1
                    _set_num_threads(lib, n)
            except BaseException:
                _restore_threads(saved)
                raise
            _threads_saved = saved
        _threads_users += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _threads_users -= 1
            if _threads_users == 0:
                saved, _threads_saved = _threads_saved, None
                _restore_threads(saved)


def _set_num_threads(lib, n):
    """``lib.set_num_threads(n)``, effective from any thread.

    threadpoolctl >= 3.8 lets a single "controlling" thread (the first to set
    a limit, until it clears) change a process-wide OpenBLAS pool, and
    silently ignores the others; the restore of the last fit to finish may
    run in another thread than the first fit's set. The control is taken for
    the call and released after it, so that no thread keeps it (releasing a
    caller's ``threadpool_limits``, whose exit takes it again to restore).
    """
    clear = getattr(type(lib), "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)
    try:
        lib.set_num_threads(n)
    finally:
        if clear is not None:
            clear()


def _restore_threads(saved):
    for lib, n in saved:
        _set_num_threads(lib, n)


def continued_learning_rate(state, settings):
    """Learning rate of a partial_fit call: where fit's schedule ended.

    After ``fit`` with the linear schedule that is ``learning_rate /
    max_iter`` (its last epoch): restarting at the full rate undoes the
    annealing (MovieLens 100K u1, one pass over 5% new ratings: 0.9243 ->
    0.9285 RMSE at the full rate, 0.9228 continued; a test reproduces it).
    A model built by partial_fit alone uses ``learning_rate``.
    """
    return settings.learning_rate * getattr(state, "lr_factor", 1.0)


def _step_powers(a, m, gaps):
    """``M**d`` for each ``d`` in ``gaps``, with ``M = [[1 - a, m], [-a, m]]``.

    ``M`` maps ``(w, velocity)`` through one momentum step with zero gradient
    and weight decay ``a = lr * decay``: ``vel' = m vel - a w``,
    ``w' = w + vel'``. Computed by repeated squaring, vectorised over ``gaps``.
    """
    gaps = np.asarray(gaps, dtype=np.int64).copy()
    out = np.broadcast_to(np.eye(2), (gaps.shape[0], 2, 2)).copy()
    base = np.array([[1.0 - a, m], [-a, m]])
    while gaps.any():
        odd = (gaps & 1).astype(bool)
        out[odd] = out[odd] @ base
        base = base @ base
        gaps >>= 1
    return out


def _catch_up(state, names, rows, decay):
    """Bring ``rows`` of the row-sparse parameters ``names`` forward through
    the steps they missed since their last update."""
    lz = state.lazy
    gaps = lz["t"] - lz["last"][rows]
    stale = gaps > 0
    if not stale.any():
        return
    rows, gaps = rows[stale], gaps[stale]
    lr, momentum = lz["coef"]
    uniq, inv = np.unique(gaps, return_inverse=True)
    for name in names:
        p = state.params[name]
        vel = state.velocity[name]
        P = _step_powers(lr * decay.get(name, 0.0), momentum, uniq).astype(p.dtype)
        P = P[inv].reshape((len(rows), 2, 2) + (1,) * (p.ndim - 1))
        w, v = p[rows], vel[rows]
        new_w = P[:, 0, 0] * w
        new_w += P[:, 0, 1] * v
        v *= P[:, 1, 1]
        w *= P[:, 1, 0]
        v += w
        p[rows] = new_w
        vel[rows] = v
    lz["last"][rows] = lz["t"]


def init_lazy(state, n_rows):
    """Start lazy bookkeeping for row-sparse parameters with ``n_rows`` rows."""
    state.lazy = {"last": np.zeros(n_rows, dtype=np.int64), "t": 0, "coef": None}


def flush_rows(state, names, decay):
    """Apply every pending (missed) step to all rows of the row-sparse
    parameters, so they equal what dense updates would have produced."""
    lz = state.lazy
    if lz.get("coef") is not None:
        rows = np.flatnonzero(lz["last"] != lz["t"])
        if rows.size:
            _catch_up(state, names, rows, decay)
    lz["coef"] = None
    lz.pop("scratch", None)  # (older pickles)
    lz.pop("scratch_rows", None)


def _dense_rows_step(w2, v2, rows, g2, lr, momentum, a):
    """``v = momentum v - a w; v[rows] += lr g; w += v`` on 2-d C arrays.

    Done in blocks of rows small enough for a core's L2 cache, so that the
    four steps read and write each block from cache instead of memory (the
    unblocked numpy version made about fourteen passes over the whole
    array). Measured on the ML-1M I-RBM of ``bench_recommender.py``, with
    the batched gathers of ``_sparse.visible_logits``: fit 37.8 -> 30.5 s
    CPU, same RMSE. ``rows`` must be sorted and unique.
    """
    if not (w2.flags.c_contiguous and v2.flags.c_contiguous):
        raise RuntimeError("row-sparse parameters must be C-contiguous")
    axpy = blas.saxpy if w2.dtype == np.float32 else blas.daxpy
    mom = w2.dtype.type(momentum)
    lr = w2.dtype.type(lr)
    n_rows, width = w2.shape
    step = max(1, _BLOCK_THIN // max(width, 1))
    starts = np.arange(0, n_rows, step)
    bounds = np.searchsorted(rows, np.append(starts, n_rows))
    for i, r0 in enumerate(starts):
        w, v = w2[r0 : r0 + step], v2[r0 : r0 + step]
        wr, vr = w.ravel(), v.ravel()
        v *= mom
        if a:
            axpy(wr, vr, a=-a)  # v -= a * w
        lo, hi = bounds[i], bounds[i + 1]
        if hi > lo:
            v[rows[lo:hi] - r0] += lr * g2[lo:hi]
        axpy(vr, wr)  # w += v


def _sync_coef(state, names, lr, momentum, decay):
    """Missed steps are replayed with one ``(lr, momentum)``: flush on a change."""
    if state.lazy.get("coef") != (lr, momentum):
        flush_rows(state, names, decay)
        state.lazy["coef"] = (lr, momentum)


def lazy_rows_current(state, names, rows, lr, momentum, decay):
    """Bring ``rows`` of the row-sparse parameters ``names`` up to date
    before a minibatch reads them.

    The CD statistics of a minibatch must see its rows after the momentum
    and weight-decay steps they missed, as the dense update would; then
    :func:`lazy_row_update` equals the dense step up to rounding (before,
    statistics at stale rows differed by up to 5e-2 after an epoch).
    """
    _sync_coef(state, names, lr, momentum, decay)
    _catch_up(state, names, rows, decay)


def lazy_row_update(
    state, rows, row_grads, dense_grads, lr, momentum, decay, dense_fraction=0.4
):
    """Momentum SGD ascent step where only ``rows`` get a gradient.

    ``row_grads[name]`` holds the gradient of ``rows`` (leading axis, sorted
    unique indices) of the row-sparse parameter ``name``; every other row has
    gradient zero this step, so it only feels momentum and weight decay.
    Instead of touching it now, its missed steps are applied in closed form
    (:func:`_step_powers`) when it is next touched or at :func:`flush_rows`.
    The result equals the dense step of :func:`apply_update` (``vel = m vel +
    lr (g - decay w); w += vel``) up to rounding. When ``rows`` cover at
    least ``dense_fraction`` of the rows, the step is done densely instead
    (cheaper than gathering). ``dense_grads`` are always updated densely.
    ``decay`` maps parameter names to their L2 coefficient (default 0).
    The arrays in ``row_grads`` may be overwritten.
    Call :func:`lazy_rows_current` on the rows a step reads before computing
    its gradient, and :func:`flush_rows` before reading all the parameters;
    a change of ``lr`` or ``momentum`` flushes automatically.
    """
    lz = state.lazy
    names = tuple(row_grads)
    _sync_coef(state, names, lr, momentum, decay)
    n_rows = lz["last"].shape[0]
    dense = len(rows) >= dense_fraction * n_rows
    if dense:
        stale = np.flatnonzero(lz["last"] != lz["t"])
        if stale.size:
            _catch_up(state, names, stale, decay)
        for name, g in row_grads.items():
            p = state.params[name]
            _dense_rows_step(
                p.reshape(p.shape[0], -1),
                state.velocity[name].reshape(p.shape[0], -1),
                rows,
                g.reshape(len(rows), -1),
                lr,
                momentum,
                lr * decay.get(name, 0.0),
            )
    else:
        # gather the touched rows once: catch up their missed steps (identity
        # for rows that are current), take this step, scatter back. Rows are
        # handled as 2-d (n_rows, rest) blocks with few temporaries.
        gaps = lz["t"] - lz["last"][rows]
        stale = bool(gaps.any())
        if stale:
            uniq, inv = np.unique(gaps, return_inverse=True)
        scratch = lz.setdefault("scratch_rows", {})
        n = len(rows)
        for name, g in row_grads.items():
            p = state.params[name]
            p2 = p.reshape(p.shape[0], -1)
            vel2 = state.velocity[name].reshape(p.shape[0], -1)
            wd = decay.get(name, 0.0)
            if name not in scratch:
                scratch[name] = (np.empty_like(p2), np.empty_like(p2))
            a, b = scratch[name][0][:n], scratch[name][1][:n]
            w = p2[rows]
            v = vel2[rows]
            if stale:
                C = _step_powers(lr * wd, momentum, uniq).astype(p.dtype)[inv]
                np.multiply(v, C[:, 0, 1, None], out=a)
                v *= C[:, 1, 1, None]
                v += np.multiply(w, C[:, 1, 0, None], out=b)
                w *= C[:, 0, 0, None]
                w += a
            v *= momentum
            v += np.multiply(g.reshape(n, -1), lr, out=a)
            if wd:
                v -= np.multiply(w, lr * wd, out=a)
            w += v
            vel2[rows] = v
            p2[rows] = w
    for name, g in dense_grads.items():
        p = state.params[name]
        vel = state.velocity[name]
        wd = decay.get(name, 0.0)
        vel *= momentum
        vel += lr * g
        if wd:
            vel -= (lr * wd) * p
        p += vel
    lz["t"] += 1
    if dense:
        lz["last"][:] = lz["t"]
    else:
        lz["last"][rows] = lz["t"]
    state.n_updates += 1


#: values per block of an Adam step (3 arrays of 128 KB in float32)
_ADAM_BLOCK = 2**15


def adam_row_update(
    state, rows, row_grads, dense_grads, lr, decay, betas=(0.9, 0.999), eps=1e-8
):
    """Adam *descent* step (Kingma & Ba, 2015) on the rows a minibatch touched.

    ``row_grads[name]`` is the gradient of the loss on ``rows`` of the
    row-sparse parameter ``name``; the other rows keep their values and
    moments (the "lazy" Adam of TensorFlow Addons, PyTorch's SparseAdam).
    ``dense_grads`` update whole parameters. ``decay`` maps names to an L2
    coefficient added to their gradient. Moments live in ``state.adam`` (so
    a pickled model continues bit-identically), created on first use. The
    gradient arrays may be overwritten.
    """
    ad = state.adam
    if not ad:
        ad.update(t=0, m={}, v={})
    ad["t"] += 1
    t = ad["t"]
    b1, b2 = betas
    # bias corrections folded into the step size
    step = lr * np.sqrt(1.0 - b2**t) / (1.0 - b1**t)

    def block(w, mi, vi, g, tmp, wd):
        # one Adam step on a block of rows, all operands in cache
        if wd:
            g += np.multiply(w, wd, out=tmp)
        mi *= b1
        mi += np.multiply(g, 1.0 - b1, out=tmp)
        vi *= b2
        np.square(g, out=tmp)
        tmp *= 1.0 - b2
        vi += tmp
        np.sqrt(vi, out=tmp)
        tmp += eps
        np.divide(mi, tmp, out=tmp)
        tmp *= step
        w -= tmp

    def update(name, idx, g):
        p = state.params[name]
        if name not in ad["m"]:
            ad["m"][name] = np.zeros_like(p)
            ad["v"][name] = np.zeros_like(p)
        shape2 = (p.shape[0], -1) if p.ndim > 1 else (1, -1)
        p2, m2, v2 = (a.reshape(shape2) for a in (p, ad["m"][name], ad["v"][name]))
        g = np.asarray(g, dtype=p.dtype).reshape(-1, p2.shape[1])
        wd = decay.get(name, 0.0)
        n = g.shape[0]
        whole = idx is None or n == p2.shape[0]
        # blocks of about _ADAM_BLOCK values: the ~12 elementwise passes of a
        # step run in cache, and memory sees one gather and one scatter
        rows_per = max(1, _ADAM_BLOCK // max(p2.shape[1], 1))
        tmp = np.empty((min(rows_per, n), p2.shape[1]), dtype=p.dtype)
        for s in range(0, n, rows_per):
            sl = slice(s, s + rows_per)
            t_ = tmp[: len(g[sl])]
            if whole:  # views: no gather / scatter
                block(p2[sl], m2[sl], v2[sl], g[sl], t_, wd)
            else:
                r = idx[sl]
                w, mi, vi = p2[r], m2[r], v2[r]
                block(w, mi, vi, g[sl], t_, wd)
                p2[r], m2[r], v2[r] = w, mi, vi

    for name, g in row_grads.items():
        update(name, rows, g)
    for name, g in dense_grads.items():
        update(name, None, g)
    state.n_updates += 1


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


def minibatches(n_samples, batch_size, rng=None):
    """Index arrays of consecutive minibatches, shuffled when ``rng`` is given."""
    order = rng.permutation(n_samples) if rng is not None else np.arange(n_samples)
    return [order[i : i + batch_size] for i in range(0, n_samples, batch_size)]


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
    epoch_end=None,
):
    """Run up to ``n_epochs`` epochs of ``step`` over shuffled minibatches.

    Returns ``(state, history)``; with early stopping the returned state is the
    best one seen. ``history`` lists the monitored score per epoch.
    ``epoch_end()``, if given, runs after each epoch's updates and before the
    monitor (e.g. to flush lazily applied updates).
    """
    history = []
    for _ in range(n_epochs):
        epoch = state.n_epochs
        t0 = time.perf_counter()
        lr = settings.learning_rate_at(epoch)
        state.lr_factor = lr / settings.learning_rate
        mom = settings.momentum_at(epoch)
        k = settings.cd_steps_at(epoch)
        with training_errstate():
            batches = minibatches(n_samples, batch_size, state.rng if shuffle else None)
            for idx in batches:
                step(idx, lr, mom, k)
            if epoch_end is not None:
                epoch_end()
        check_finite(state, settings.learning_rate, name=settings.learning_rate_name)
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
