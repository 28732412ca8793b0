"""The optimisers of the training phases, behind one interface.

An optimiser holds hyperparameters only; what it must remember between steps
(velocities, Adam moments, lazy bookkeeping) is a state object that lives in
the training state, so a pickled model continues bit-identically. Every
optimiser has the same methods:

``init(params, n_rows=None)``
    A new state for ``params`` (``n_rows``: rows of the row-sparse ones).
``step(params, state, grads, lr, momentum, rows=None)``
    One update. ``grads[name]`` is the gradient of the objective (ascended
    with ``maximize=True``, descended otherwise); for a row-sparse parameter
    with ``rows`` given, it holds only those rows (sorted, unique).
``prepare(params, state, rows, lr, momentum)``
    Bring ``rows`` up to date before a step reads them (lazy updates).
``flush(params, state)``
    Apply everything pending, so that all parameters are current.
``grow(params, state, n_new)``
    Make room for ``n_new`` new rows of the row-sparse parameters (new
    users or items in ``partial_fit``); call after growing ``params``.
``reset(params, state)``
    Apply what is pending and forget the running averages (momentum, Adam's
    moments): the next step starts from rest.
``step_low_rank(params, state, name, left, right, lr, momentum)``
    The step of ``name`` for a gradient given as ``left' @ right`` (the
    dense CD update); :class:`MomentumSGD` never forms it.

* :class:`MomentumSGD`: dense momentum steps, with per-parameter learning
  rate scales, frozen parameters, weight decay and gradient clipping, and a
  fused low-rank step for a weight gradient given as a product (the dense CD
  update);
* :class:`LazyMomentumSGD`: the same step where only some rows of the
  row-sparse parameters get a gradient; the others' momentum and weight
  decay are applied later in closed form (the recommender's CD phase);
* :class:`Adam`: Adam, dense or lazy on the touched rows (fine-tuning).
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import blas

from ..engine import _xp
from .lowrank import _BLOCK_THIN, grad_norm, low_rank_norm, update_weights

#: values per block of an Adam step (3 arrays of 128 KB in float32)
_ADAM_BLOCK = 2**15


class Optimizer:
    """Interface of an optimiser (see the module docstring)."""

    #: True: ``step`` ascends ``grads`` (a log-likelihood); False: descends
    maximize = True
    #: names of the row-sparse parameters (gradients of touched rows only)
    row_params = ()

    def init(self, params, n_rows=None):
        raise NotImplementedError

    def step(self, params, state, grads, lr, momentum=0.0, rows=None):
        raise NotImplementedError

    def prepare(self, params, state, rows, lr, momentum=0.0):
        """Nothing is pending in a dense optimiser."""

    def flush(self, params, state):
        """Nothing is pending in a dense optimiser."""

    def grow(self, params, state, n_new):
        """Zero state for ``n_new`` new rows of the row-sparse parameters."""

    def reset(self, params, state):
        raise NotImplementedError

    def step_low_rank(self, params, state, name, left, right, lr, momentum=0.0):
        """Forms the gradient ``left' @ right`` and takes :meth:`step`."""
        self.step(params, state, {name: left.T @ right}, lr, momentum)

    def _signed(self, grads, natural):
        if self.maximize == natural:
            return grads
        return {name: -g for name, g in grads.items()}


def _scatter_rows(params, grads, row_params, rows):
    """Gradients of whole parameters from those of ``rows`` of the
    row-sparse ones (zero elsewhere)."""
    if rows is None:
        return grads
    out = dict(grads)
    for name in row_params:
        if name in grads:
            full = np.zeros_like(params[name])
            full[rows] = grads[name]
            out[name] = full
    return out


# ---------------------------------------------------------------- momentum
@dataclass
class MomentumState:
    """Velocities of momentum SGD, one per parameter."""

    velocity: dict


class MomentumSGD(Optimizer):
    """Momentum SGD: ``vel = momentum vel + lr g; theta += vel``.

    Parameters
    ----------
    weight_decay : float
        L2 penalty on ``W``, added to its gradient (``g - weight_decay W``).
    max_grad_norm : float or None
        Clip each parameter's gradient to this Euclidean norm.
    lr_scale : tuple of (name, factor)
        Per-parameter multipliers of the learning rate.
    frozen : tuple of str
        Parameters that are not updated.
    maximize : bool
        Ascend the gradients (a log-likelihood).
    """

    def __init__(
        self,
        weight_decay=0.0,
        max_grad_norm=None,
        lr_scale=(),
        frozen=(),
        maximize=True,
    ):
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.lr_scale = dict(lr_scale)
        self.frozen = tuple(frozen)
        self.maximize = maximize

    def init(self, params, n_rows=None):
        zeros = {k: _xp.get_xp(v).zeros_like(v) for k, v in params.items()}
        return MomentumState(zeros)

    def reset(self, params, state):
        for v in state.velocity.values():
            v[...] = 0

    def step(self, params, state, grads, lr, momentum=0.0, rows=None):
        """Each gradient is clipped to ``max_grad_norm`` (if set); L2 weight
        decay is then added to the gradient of ``W``; ``lr_scale`` multiplies
        the step of the parameters it names. With ``rows``, the gradients of
        ``row_params`` hold those rows only (the others' are zero)."""
        grads = _scatter_rows(params, grads, self.row_params, rows)
        for name, grad in self._signed(grads, True).items():
            if name in self.frozen:
                continue
            if self.max_grad_norm is not None:
                scale = self.clip_scale(grad_norm(grad))
                if scale < 1.0:
                    grad = grad * _xp.scalar(scale, grad)
            if name == "W" and self.weight_decay:
                grad = grad - self.weight_decay * params["W"]
            vel = state.velocity[name]
            vel *= momentum
            vel += lr * self.lr_scale.get(name, 1.0) * grad
            params[name] += vel

    def clip_scale(self, norm):
        """The factor that clips a gradient of Euclidean ``norm`` to
        ``max_grad_norm`` (1 without clipping or below it)."""
        if self.max_grad_norm is None or norm <= self.max_grad_norm:
            return 1.0
        return self.max_grad_norm / norm

    def step_low_rank(self, params, state, name, left, right, lr, momentum):
        """The step of ``name`` for the gradient ``left' @ right``, which is
        never formed (a weight gradient of a minibatch: ``left`` its stacked
        hidden statistics, ``right`` its visible ones).

        The clipping norm comes from the ``(rows x rows)`` Gram matrices
        (``||L' R||_F^2 = sum((L L') * (R R'))``) when those are the smaller
        objects; :func:`~.lowrank.update_weights` then writes the step straight into
        the velocity, one cache-sized block of rows at a time. Returns the
        factor the gradient was clipped by (1.0: not clipped), which FPCD's
        fast weights reuse.
        """
        W = params[name]
        lr_w = lr * self.lr_scale.get(name, 1.0)
        step = lr_w if self.maximize else -lr_w
        clip = 1.0
        if self.max_grad_norm is not None:
            clip = self.clip_scale(low_rank_norm(left, right))
            step = step * clip
        decay = lr_w * self.weight_decay
        if not _xp.is_numpy(W):
            vel = state.velocity[name]
            _xp.momentum_step(vel, W, left, right, step, momentum, decay)
        else:
            update_weights(W, state.velocity[name], left, right, step, momentum, decay)
        return clip


# ----------------------------------------------------------- lazy momentum
@dataclass
class LazyMomentumState:
    """Velocities and the bookkeeping of lazily applied steps.

    ``last[r]``: the step count when row ``r`` was last brought up to date;
    ``t``: steps taken; ``coef``: the ``(lr, momentum)`` of the pending
    steps (None when nothing is pending).
    """

    velocity: dict
    last: np.ndarray
    t: int = 0
    coef: tuple | None = None
    scratch: dict = field(default_factory=dict, repr=False)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["scratch"] = {}  # work buffers, rebuilt on demand
        return state


class LazyMomentumSGD(Optimizer):
    """Momentum SGD where only some rows of the row-sparse parameters get a
    gradient at each step.

    Untouched rows only feel momentum and weight decay; instead of touching
    them every step, their missed steps are applied in closed form
    (:func:`_step_powers`) when they are next touched (:meth:`prepare`) or at
    :meth:`flush`. The result equals :class:`MomentumSGD`'s dense step
    (``vel = m vel + lr (g - decay w); w += vel``) up to rounding. When the
    touched rows are at least ``dense_fraction`` of all rows, the step is
    done densely instead (cheaper than gathering). A change of ``lr`` or
    ``momentum`` flushes automatically.

    Parameters
    ----------
    row_params : tuple of str
        Names of the row-sparse parameters (leading axis: rows).
    decay : dict
        L2 coefficient of each parameter (default 0).
    dense_fraction : float
        Fraction of touched rows above which a step is dense.
    """

    def __init__(self, row_params, decay=None, dense_fraction=0.4):
        self.row_params = tuple(row_params)
        self.decay = dict(decay or {})
        self.dense_fraction = dense_fraction

    def init(self, params, n_rows=None):
        velocity = {k: np.zeros_like(v) for k, v in params.items()}
        return LazyMomentumState(velocity, np.zeros(n_rows, dtype=np.int64))

    def grow(self, params, state, n_new):
        for name in self.row_params:
            if name in state.velocity:
                old = state.velocity[name]
                pad = np.zeros((n_new,) + old.shape[1:], old.dtype)
                state.velocity[name] = np.concatenate([old, pad])
        state.last = np.concatenate([state.last, np.full(n_new, state.t, np.int64)])

    def _names(self, params):
        return tuple(n for n in self.row_params if n in params)

    def _catch_up(self, params, state, rows):
        """Bring ``rows`` forward through the steps they missed."""
        gaps = state.t - state.last[rows]
        stale = gaps > 0
        if not stale.any():
            return
        rows, gaps = rows[stale], gaps[stale]
        lr, momentum = state.coef
        uniq, inv = np.unique(gaps, return_inverse=True)
        for name in self._names(params):
            p = params[name]
            vel = state.velocity[name]
            a = lr * self.decay.get(name, 0.0)
            P = _step_powers(a, momentum, uniq).astype(p.dtype)
            P = P[inv].reshape((len(rows), 2, 2) + (1,) * (p.ndim - 1))
            w, v = p[rows], vel[rows]
            new_w = P[:, 0, 0] * w
            new_w += P[:, 0, 1] * v
            v *= P[:, 1, 1]
            w *= P[:, 1, 0]
            v += w
            p[rows] = new_w
            vel[rows] = v
        state.last[rows] = state.t

    def flush(self, params, state):
        """Apply every pending step to all rows, so that they equal what
        dense updates would have produced."""
        if state.coef is not None:
            rows = np.flatnonzero(state.last != state.t)
            if rows.size:
                self._catch_up(params, state, rows)
        state.coef = None
        state.scratch = {}

    def _sync_coef(self, params, state, lr, momentum):
        """Missed steps are replayed with one ``(lr, momentum)``: flush on a
        change."""
        if state.coef != (lr, momentum):
            self.flush(params, state)
            state.coef = (lr, momentum)

    def prepare(self, params, state, rows, lr, momentum=0.0):
        """Bring ``rows`` up to date before a minibatch reads them.

        The CD statistics of a minibatch must see its rows after the momentum
        and weight-decay steps they missed, as the dense update would; then
        :meth:`step` equals the dense step up to rounding (before, statistics
        at stale rows differed by up to 5e-2 after an epoch).
        """
        self._sync_coef(params, state, lr, momentum)
        self._catch_up(params, state, rows)

    def reset(self, params, state):
        self.flush(params, state)
        for v in state.velocity.values():
            v[...] = 0

    def step(self, params, state, grads, lr, momentum=0.0, rows=None):
        """The gradient arrays of row-sparse parameters may be overwritten;
        ``rows=None`` means every row."""
        if rows is None:
            rows = np.arange(state.last.shape[0])
        grads = self._signed(grads, True)
        row_grads = {n: g for n, g in grads.items() if n in self.row_params}
        dense_grads = {n: g for n, g in grads.items() if n not in self.row_params}
        self._sync_coef(params, state, lr, momentum)
        n_rows = state.last.shape[0]
        dense = len(rows) >= self.dense_fraction * n_rows
        if dense:
            stale = np.flatnonzero(state.last != state.t)
            if stale.size:
                self._catch_up(params, state, stale)
            for name, g in row_grads.items():
                p = params[name]
                _dense_rows_step(
                    p.reshape(p.shape[0], -1),
                    state.velocity[name].reshape(p.shape[0], -1),
                    rows,
                    g.reshape(len(rows), -1),
                    lr,
                    momentum,
                    lr * self.decay.get(name, 0.0),
                )
        else:
            self._gathered_step(params, state, rows, row_grads, lr, momentum)
        for name, g in dense_grads.items():
            p = params[name]
            vel = state.velocity[name]
            wd = self.decay.get(name, 0.0)
            vel *= momentum
            vel += lr * g
            if wd:
                vel -= (lr * wd) * p
            p += vel
        state.t += 1
        if dense:
            state.last[:] = state.t
        else:
            state.last[rows] = state.t

    def _gathered_step(self, params, state, rows, row_grads, lr, momentum):
        """Gather the touched rows once: catch up their missed steps
        (identity for rows that are current), take this step, scatter back.
        Rows are handled as 2-d (n_rows, rest) blocks with few temporaries."""
        gaps = state.t - state.last[rows]
        stale = bool(gaps.any())
        if stale:
            uniq, inv = np.unique(gaps, return_inverse=True)
        scratch = state.scratch
        n = len(rows)
        for name, g in row_grads.items():
            p = params[name]
            p2 = p.reshape(p.shape[0], -1)
            vel2 = state.velocity[name].reshape(p.shape[0], -1)
            wd = self.decay.get(name, 0.0)
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


def _dense_rows_step(w2, v2, rows, g2, lr, momentum, a):
    """``v = momentum v - a w; v[rows] += lr g; w += v`` on 2-d C arrays.

    Done in blocks of rows small enough for a core's L2 cache, so that the
    four steps read and write each block from cache instead of memory (the
    unblocked numpy version made about fourteen passes over the whole
    array). Measured on the ML-1M I-RBM of ``bench_recommender.py``, with
    the batched gathers of ``sparse_categorical.visible_logits``: fit 37.8 -> 30.5 s
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


# -------------------------------------------------------------------- Adam
@dataclass
class AdamState:
    """Step count and first and second moments (made on first use)."""

    t: int = 0
    m: dict = field(default_factory=dict)
    v: dict = field(default_factory=dict)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), dense or lazy on the touched rows.

    With ``rows``, the row-sparse parameters update only those rows; the
    other rows keep their values and moments (the "lazy" Adam of TensorFlow
    Addons, PyTorch's SparseAdam). The other parameters update whole.

    Parameters
    ----------
    row_params : tuple of str
        Names of the row-sparse parameters.
    decay : dict
        L2 coefficient added to each named parameter's gradient.
    betas, eps : Adam's constants.
    maximize : bool, default=False
        Descend the gradients (a loss) unless True.
    """

    def __init__(
        self, row_params=(), decay=None, betas=(0.9, 0.999), eps=1e-8, maximize=False
    ):
        self.row_params = tuple(row_params)
        self.decay = dict(decay or {})
        self.betas = betas
        self.eps = eps
        self.maximize = maximize

    def init(self, params, n_rows=None):
        return AdamState()

    def reset(self, params, state):
        state.t, state.m, state.v = 0, {}, {}

    def grow(self, params, state, n_new):
        for moments in (state.m, state.v):
            for name in self.row_params:
                if name in moments:
                    old = moments[name]
                    pad = np.zeros((n_new,) + old.shape[1:], old.dtype)
                    moments[name] = np.concatenate([old, pad])

    def step(self, params, state, grads, lr, momentum=0.0, rows=None):
        """The gradient arrays may be overwritten."""
        grads = self._signed(grads, False)
        state.t += 1
        t = state.t
        b1, b2 = self.betas
        # bias corrections folded into the step size
        step = lr * np.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        for name, g in grads.items():
            idx = rows if name in self.row_params else None
            self._update(params, state, name, idx, g, step)

    def _block(self, w, mi, vi, g, tmp, wd, step):
        # one Adam step on a block of rows, all operands in cache
        b1, b2 = self.betas
        if wd:
            g += np.multiply(w, wd, out=tmp)
        mi *= b1
        mi += np.multiply(g, 1.0 - b1, out=tmp)
        vi *= b2
        np.square(g, out=tmp)
        tmp *= 1.0 - b2
        vi += tmp
        np.sqrt(vi, out=tmp)
        tmp += self.eps
        np.divide(mi, tmp, out=tmp)
        tmp *= step
        w -= tmp

    def _update(self, params, state, name, idx, g, step):
        p = params[name]
        if name not in state.m:
            state.m[name] = np.zeros_like(p)
            state.v[name] = np.zeros_like(p)
        shape2 = (p.shape[0], -1) if p.ndim > 1 else (1, -1)
        p2, m2, v2 = (a.reshape(shape2) for a in (p, state.m[name], state.v[name]))
        g = np.asarray(g, dtype=p.dtype).reshape(-1, p2.shape[1])
        wd = self.decay.get(name, 0.0)
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
                self._block(p2[sl], m2[sl], v2[sl], g[sl], t_, wd, step)
            else:
                r = idx[sl]
                w, mi, vi = p2[r], m2[r], v2[r]
                self._block(w, mi, vi, g[sl], t_, wd, step)
                p2[r], m2[r], v2[r] = w, mi, vi
