"""Checks of a loaded dense RBM (Bernoulli, Gaussian) before it is used.

Called from ``VersionedStateMixin.__setstate__`` through
``_BaseRBM._check_loaded_state``; the helpers and the checks of the training
and optimiser states are in :mod:`sklearn_rbm.training.checks`. An unfitted
estimator (no fitted parameter, no training state) is not checked.
"""

import numpy as np

from ..training import checks
from ..training.state import DenseState


def check_dense_rbm(est):
    """Validate the fitted state of a dense RBM; raise ValueError."""
    d = vars(est)
    attrs = est._param_attrs  # engine name -> public attribute
    if "_state" not in d and not any(a in d for a in attrs.values()):
        return  # unfitted
    for attr in (*attrs.values(), "_state", "n_features_in_"):
        if attr not in d:
            checks.invalid(attr, "is missing (the model is fitted)")

    W = checks.array("components_", d["components_"], (None, None))
    H, D = W.shape
    if H < 1 or D < 1:
        checks.invalid("components_", f"has shape {W.shape}: no units")
    shapes = {"W": (H, D), "b": (D,), "c": (H,)}
    shapes.update({name: (D,) for name in attrs if name not in shapes})
    for name, attr in attrs.items():
        a = checks.array(attr, d[attr], shapes[name])
        if a.dtype != W.dtype:
            checks.invalid(attr, f"has dtype {a.dtype}, components_ {W.dtype}")
    checks.integer("n_features_in_", d["n_features_in_"], low=D, high=D)
    names = d.get("feature_names_in_")
    if names is not None and (not isinstance(names, np.ndarray) or names.shape != (D,)):
        checks.invalid("feature_names_in_", f"must be an array of {D} names")
    if "batch_size_" in d:
        checks.integer("batch_size_", d["batch_size_"], low=1)
    if "n_iter_" in d:
        checks.integer("n_iter_", d["n_iter_"])

    state = d["_state"]
    checks.train_state("_state", state, DenseState, shapes)
    p = state.params
    if p["W"].dtype != W.dtype:
        checks.invalid(
            "_state.params", f"have dtype {p['W'].dtype}, components_ {W.dtype}"
        )
    checks.momentum_state("_state.opt", state.opt, p)
    _check_chains(state.chains, H, W.dtype)
    _check_tempering(getattr(state, "tempering", None), D, W.dtype)
    _check_fast(getattr(state, "fast", None), p)
    _check_offsets(state.offsets, H, D, W.dtype)
    _check_moments(state.moments, D)
    est._check_loaded_values({name: d[attr] for name, attr in attrs.items()}, state)


def _check_chains(chains, H, dtype):
    """Persistent chains: None, or hidden states (n_chains, H) in [0, 1]."""
    if chains is None:
        return
    checks.array("_state.chains", chains, (None, H), contiguous=True)
    if chains.dtype != dtype:
        checks.invalid("_state.chains", f"have dtype {chains.dtype}, the model {dtype}")
    if chains.shape[0] == 0:
        checks.invalid("_state.chains", "has no chains")
    if chains.min() < 0 or chains.max() > 1:
        checks.invalid("_state.chains", "has hidden states outside [0, 1]")


def _check_tempering(tstate, D, dtype):
    """Persistent tempering chains: None, or a TemperingState whose replica
    states (K * n_chains, D) match its ladder of K - 1 finite log-gaps."""
    from ..engine.tempering import TemperingState

    if tstate is None:
        return
    where = "_state.tempering"
    checks.instance(where, tstate, TemperingState)
    gaps = checks.array(f"{where}.log_gaps", tstate.log_gaps, (None,))
    if gaps.shape[0] == 0:
        checks.invalid(f"{where}.log_gaps", "is empty (at least 2 temperatures)")
    v = checks.array(f"{where}.v", tstate.v, (None, D))
    if v.dtype != dtype:
        checks.invalid(f"{where}.v", f"has dtype {v.dtype}, the model {dtype}")
    k = gaps.shape[0] + 1
    if v.shape[0] == 0 or v.shape[0] % k:
        checks.invalid(
            f"{where}.v", f"has {v.shape[0]} rows, not a positive multiple of {k}"
        )
    checks.integer(f"{where}.parity", tstate.parity, low=0, high=1)


def _check_fast(fast, p):
    """Fast weights of FPCD: None, or a dict of W, b, c shaped like the
    parameters (same dtype, finite)."""
    if fast is not None:
        checks.array_dict("_state.fast", fast, {k: p[k] for k in ("W", "b", "c")})


def _check_offsets(offsets, H, D, dtype):
    """Centring offsets: None, or (visible offset (D,), hidden offset (H,))."""
    if offsets is None:
        return
    if not (isinstance(offsets, tuple | list) and len(offsets) == 2):
        checks.invalid("_state.offsets", "must be None or a (visible, hidden) pair")
    for i, n in enumerate((D, H)):
        a = checks.array(f"_state.offsets[{i}]", offsets[i], (n,))
        if a.dtype != dtype:
            checks.invalid(
                f"_state.offsets[{i}]", f"has dtype {a.dtype}, the model {dtype}"
            )


def _check_moments(moments, D):
    """Running data moments: (n >= 1, the rows or the total of their
    frequency weights; column sums (D,), sums of squares (D,) >= 0)."""
    if not (isinstance(moments, tuple | list) and len(moments) == 3):
        checks.invalid("_state.moments", "must be an (n, sums, sums of squares) triple")
    # a weight total may round a hair below 1 (fit accepts 1 - 1e-9)
    checks.real("_state.moments[0]", moments[0], low=1 - 1e-9)
    checks.array("_state.moments[1]", moments[1], (D,))
    s2 = checks.array("_state.moments[2]", moments[2], (D,))
    if s2.min() < 0:
        checks.invalid("_state.moments[2]", "has negative sums of squares")
