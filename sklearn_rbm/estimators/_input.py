"""Input checks of the dense RBMs: shapes, magnitudes, namespaces, sample
weights, and the training options that support numpy arrays only (see
``docs/user_guide/array_api.rst``)."""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils._array_api import check_same_namespace
from sklearn.utils.validation import _check_sample_weight, validate_data

from ..engine import _xp
from ._common import caller_level


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


def _numpy_only(X, *, sampler="gibbs"):
    """ValueError for the training options that support numpy arrays only."""
    name = _namespace_name(X)
    if sampler == "pt":
        raise ValueError(
            "sampler='pt' supports numpy arrays only for now; got "
            f"{name} arrays. Use sampler='gibbs' or numpy input."
        )


#: the most rows an epoch may visit under frequency weights (the epoch's row
#: indices are materialised: 8 bytes each)
MAX_WEIGHT_TOTAL = 2**31


def _check_total(w, name):
    """``w`` unchanged; a ValueError naming ``name`` unless the weights, as
    frequencies, make an epoch of at least one row (to rounding: weights
    normalised to sum to 1 can sum to a hair below it) and at most
    ``MAX_WEIGHT_TOTAL`` rows."""
    total = w.sum()
    if not np.isfinite(total) or total <= 0:
        raise ValueError(f"{name} must have a positive, finite sum; got {total!r}.")
    if total < 1 - 1e-9 or total > MAX_WEIGHT_TOTAL:
        visits = "less than one row" if total < 1 else "that many rows"
        raise ValueError(
            f"{name} sums to {total:.10g}: weights are frequencies (a row of "
            "weight k counts as k rows, as scikit-learn defines them), so an "
            f"epoch would visit {visits}. Rescale them, for example to mean "
            "1: w * len(w) / w.sum()."
        )
    return w


def _warn_if_normalised(w):
    """Warn when the weights look normalised rather than like frequencies:
    a total under a tenth of the rows of positive weight (weights that sum
    to 1 over more than 10 rows), which trains a tenth of an epoch's
    updates or fewer."""
    n_rows = np.count_nonzero(w)
    total = float(w.sum())
    if total < 0.1 * n_rows:
        warnings.warn(
            f"sample_weight sums to {total:.4g} over {n_rows} rows: weights "
            "are frequencies (a row of weight k counts as k rows), so an epoch "
            f"visits only about {total:.4g} rows. If the weights are relative "
            "(for example normalised to sum to 1), rescale them to mean 1: "
            "w * len(w) / w.sum().",
            UserWarning,
            stacklevel=caller_level(),
        )


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
    """``X`` and ``sw`` without the rows of weight 0, so that such rows are
    as if dropped: they make no minibatch, no chain and no base rate."""
    if sw is None or sw.min() > 0:
        return X, sw
    keep = np.flatnonzero(sw > 0)
    return _xp.take_rows(X, keep), sw[keep]


class InputMixin:
    """Validation of the input of a dense RBM's methods (``_validate_X``),
    of its namespace against the fitted model's, and of sample weights.
    Needs ``_check_values`` and ``_accept_sparse`` of the estimator."""

    def _validate_X(self, X, *, reset, method):
        _reject_no_columns(X)
        fxp = self._input_namespace(X, method) if not reset else _xp.input_xp(X)
        # a float64 value beyond the float32 range becomes inf in the cast to a
        # float32 model's dtype, which validate_data then reports as "too large
        # for dtype('float32')"; the cast itself must not warn, nor must
        # scikit-learn's fast finiteness check (a sum: inf + -inf warns
        # "invalid value") -- the ValueError that follows names the problem
        fxp = np if fxp is None else fxp  # an Array API library's X keeps it
        with np.errstate(over="ignore", invalid="ignore"):
            X = validate_data(
                self,
                X,
                accept_sparse="csr" if self._accept_sparse else False,
                dtype=[fxp.float64, fxp.float32] if reset else self.components_.dtype,
                reset=reset,
            )
        if X.shape[0] == 0:  # pragma: no cover - validate_data already refuses
            raise ValueError("Input X is empty (0 samples).")
        if sp.issparse(X) and not X.has_canonical_format:
            # duplicate entries add up (the matrix's value is their sum): sum
            # them, on a copy, before any check reads X.data
            X = X.copy()
            X.sum_duplicates()
        _check_magnitude(X)
        return self._check_values(X, method)

    def _input_namespace(self, X, method):
        """The namespace of input ``X`` to a fitted model (None: numpy), which
        must be the model's: under ``array_api_dispatch`` the namespace and
        device of fit (sparse X only for a numpy model), and without it numpy
        input for a numpy model."""
        # sklearn's own check and message, under array_api_dispatch
        check_same_namespace(X, self, attribute="components_", method=method)
        fxp = _xp.input_xp(X)
        if (fxp is None) != _xp.is_numpy(self.components_):
            raise ValueError(
                f"{type(self).__name__} was fitted on "
                f"{_namespace_name(self.components_)} arrays; {method} got "
                f"{_input_name(X, fxp)} input. Pass "
                "arrays of the namespace and device of fit (with "
                "sklearn.set_config(array_api_dispatch=True) for non-numpy arrays)."
            )
        return fxp

    def _sample_weight(self, sample_weight, X):
        """Validated sample weights (frequencies), or None.

        The weights are a float64 numpy vector whatever the namespace of
        ``X`` or of the weights: they choose the rows of each epoch on the
        host, and only the moments they weight are taken on ``X``'s device.
        Also refuses, for non-numpy ``X``, what runs on numpy only."""
        if not _xp.is_numpy(X):
            _numpy_only(X, sampler=self.sampler)
        if sample_weight is None:
            return None
        from sklearn.externals.array_api_compat import is_array_api_obj

        if is_array_api_obj(sample_weight):  # e.g. torch weights, on the host
            sample_weight = _xp.to_numpy(sample_weight)
        # a numpy stand-in for X: scikit-learn's check reads its length only,
        # and with array_api_dispatch on it would move the weights to X's
        # namespace
        w = _check_sample_weight(
            sample_weight,
            np.empty((X.shape[0], 0)),
            dtype=np.float64,
            ensure_non_negative=True,
        )
        _check_total(w, "sample_weight")
        _warn_if_normalised(w)
        return w
