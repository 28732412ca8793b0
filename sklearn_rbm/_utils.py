"""Small numerical helpers shared by the engine and the estimators."""

import functools

import numpy as np
import scipy.sparse as sp


def softplus(x, out=None):
    """``log(1 + exp(x))`` without overflow, in the dtype of ``x``.

    Computed as ``max(x, 0) + log1p(exp(-|x|))``: exact, never overflows, and
    several times faster than ``np.logaddexp(0, x)``. ``out`` may be ``x``.
    """
    t = np.abs(x)
    np.negative(t, out=t)
    np.exp(t, out=t)
    np.log1p(t, out=t)
    res = np.maximum(x, 0, out=out)
    res += t
    return res


def col_sum(v, weights=None):
    """Column sums of a dense or sparse matrix as a 1d array (optionally weighted)."""
    if weights is None:
        return np.asarray(v.sum(axis=0)).ravel()
    if sp.issparse(v):
        return np.asarray(v.T @ weights).ravel()
    return weights @ v


def logmeanexp(a):
    """``log(mean(exp(a)))`` computed stably."""
    a = np.asarray(a, dtype=np.float64)
    m = np.max(a)
    return float(m + np.log(np.mean(np.exp(a - m))))


def data_moments(X, previous=None):
    """Running ``(n, column sums, column sums of squares)`` in float64.

    The base-rate model of every family is a function of these, so a model
    trained by ``partial_fit`` gets the same base model as one trained by
    ``fit`` on the same rows.
    """
    n = X.shape[0]
    s1 = col_sum(X).astype(np.float64)
    s2 = col_sum(X.multiply(X) if sp.issparse(X) else X * X).astype(np.float64)
    if previous is not None:
        n0, p1, p2 = previous
        return n0 + n, p1 + s1, p2 + s2
    return n, s1, s2


def atomic(method):
    """Make a fitting method all-or-nothing on the estimator's attributes.

    If ``method`` raises anything (including ``KeyboardInterrupt``), the
    instance ``__dict__`` is restored to what it was before the call, so a
    failed ``fit`` / ``partial_fit`` never leaves a half-updated model (for
    example a new ``n_features_in_`` set by input validation next to the old
    weights). The copy is shallow: fitting methods must build new arrays and
    a new training state rather than modify published ones in place, which is
    how ``fit`` (new state, committed at the end) and ``partial_fit`` (works
    on a copy of the state) are written.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        saved = dict(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    return wrapper
