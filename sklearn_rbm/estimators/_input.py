"""Input checks of the dense RBMs: shapes, magnitudes, and the training
options that support numpy arrays only (see ``docs/user_guide/array_api.rst``)."""

import numpy as np
import scipy.sparse as sp

from ..engine import _xp


def _reject_no_columns(X):
    """A clear error for 2-d input without columns (pandas' is obscure)."""
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 2 and shape[1] == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={tuple(shape)}) while a "
            "minimum of 1 is required."
        )


def _check_magnitude(X):
    """Refuse finite values so large that squares and energies overflow.

    Every family needs ``x**2`` (data moments) or products of ``x`` with the
    weights, summed over rows and features; ``|x| <= finfo.max ** 0.25``
    (1.2e77 in float64, 4.3e9 in float32) keeps all of them finite. Data that
    large has to be rescaled for an RBM anyway.
    """
    data = X.data if sp.issparse(X) else X
    if not _xp.is_numpy(data):
        xp = _xp.get_xp(data)
        limit = _xp.finfo_max(data.dtype, data) ** 0.25
        top = float(xp.max(xp.abs(data)))
        data = _xp.to_numpy(data[:1, :1])  # for the message's dtype
    elif not data.size:
        return
    else:
        limit = np.finfo(data.dtype).max ** 0.25
        top = max(float(data.max()), -float(data.min()))
    if top > limit:
        raise ValueError(
            f"X has values up to {top:.3g} in magnitude; an RBM needs |X| <= "
            f"{limit:.3g} in {data.dtype} (squares and energies must stay "
            "finite). Rescale the data, e.g. with StandardScaler or MinMaxScaler."
        )


def _namespace_name(x):
    """ "numpy", "torch", "array_api_strict", ..."""
    return "numpy" if _xp.is_numpy(x) else _xp.get_xp(x).__name__.split(".")[-1]


def _numpy_only(X, *, sample_weight=None, sampler="gibbs"):
    """ValueError for the training options that support numpy arrays only."""
    name = _namespace_name(X)
    if sampler == "pt":
        raise ValueError(
            "sampler='pt' supports numpy arrays only for now; got "
            f"{name} arrays. Use sampler='gibbs' or numpy input."
        )
    if sample_weight is not None:
        raise ValueError(
            "sample_weight supports numpy arrays only for now; got "
            f"{name} arrays. Fit on numpy arrays to weight samples."
        )


def _mean_one(w, name):
    """The weights ``w`` rescaled to mean 1; a ValueError naming ``name``
    unless their sum is positive and finite."""
    total = w.sum()
    if not np.isfinite(total) or total <= 0:
        raise ValueError(f"{name} must have a positive, finite sum; got {total!r}.")
    return w * (w.shape[0] / total)


def _input_name(X, fxp):
    """The namespace of input ``X`` in messages: an Array API library's
    array passed while ``array_api_dispatch`` is off is named as what it
    is, not as numpy (which it would be converted to)."""
    if fxp is not None:
        return _namespace_name(X)
    if _xp.is_numpy(X):
        return "numpy"
    from sklearn.externals.array_api_compat import is_array_api_obj

    if is_array_api_obj(X):
        return f"{_namespace_name(X)} (with array_api_dispatch off)"
    return "numpy"


def _drop_zero_weights(X, sw):
    """``X`` and ``sw`` without the rows of weight 0 (``sw`` rescaled to
    mean 1 over the rest), so that such rows are as if dropped: they make
    no minibatch, no chain and no base rate."""
    if sw is None or sw.min() > 0:
        return X, sw
    keep = np.flatnonzero(sw > 0)
    return _xp.take_rows(X, keep), _mean_one(sw[keep], "sample_weight")
