"""The training ratings: input checks, the store grouped by case, and the
orientation that decides what a case is (a user, or an item)."""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ..engine.sparse_categorical import Batch
from .ids import caller_level as _caller_level
from .ids import refuse_unordered


def as_float64(values, what):
    """Rating values as float64, never cast silently: complex values and
    strings are refused, and so are values float64 cannot hold exactly
    (integers beyond 2**53, long doubles), which could merge distinct
    rating values."""
    kind = values.dtype.kind
    if kind == "c":
        raise ValueError(f"{what} must be real numbers; got complex values.")
    bad = {"U": "strings", "S": "bytes", "V": "structured values"}.get(kind)
    if kind == "O":
        odd = (v for v in values if isinstance(v, str | bytes | complex))
        bad = next((f"{type(v).__name__} {v!r}" for v in odd), None)
    if bad:
        raise ValueError(
            f"{what} must be real numbers; got {bad} (convert them first)."
        )
    try:
        with np.errstate(over="ignore"):  # a long double beyond float64: below
            out = values.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numeric.") from exc
    if kind in "iu" or (kind == "f" and values.dtype.itemsize > 8):
        with np.errstate(invalid="ignore", over="ignore"):
            inexact = out.astype(values.dtype) != values
            inexact |= ~np.isfinite(out) & np.isfinite(values)
        if np.any(inexact):
            v = values[np.flatnonzero(inexact)[0]]
            raise ValueError(
                f"{what} hold {v!r}, which float64 cannot represent exactly "
                "(distinct values could merge); rescale them first."
            )
    return out


def check_ratings(y, n, *, names=("X", "pairs", "y"), warn=False):
    """The ratings ``y`` of ``n`` pairs as a finite float64 vector; errors
    name the arguments ``names``: (the pairs' argument, what it holds, the
    ratings' argument). ``warn``: a column vector warns (``fit``, as
    scikit-learn's regressors do; ``score`` takes one silently, as
    ``r2_score`` does)."""
    x_name, x_unit, y_name = names
    if y is None:
        raise ValueError(
            f"{y_name} (the ratings) is required when {x_name} holds "
            f"{'(user, item) pairs' if x_unit == 'pairs' else x_unit}."
        )
    refuse_unordered(y, y_name)
    y = np.asarray(y)
    if y.ndim != 1 and not (y.ndim == 2 and y.shape[1] == 1):
        raise ValueError(
            f"{y_name} (the ratings) must be 1-dimensional; got shape {y.shape}."
        )
    if y.ndim == 2 and warn:  # scikit-learn's warning, at the user's line
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please "
            "change the shape of y to (n_samples,), for example using ravel().",
            DataConversionWarning,
            stacklevel=_caller_level(),
        )
    y = column_or_1d(y)
    try:
        check_consistent_length(np.empty(n), y)
    except ValueError:
        raise ValueError(
            f"{x_name} has {n} {x_unit} but {y_name} has {y.shape[0]} ratings."
        ) from None
    y = as_float64(y, f"Ratings {y_name}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"Ratings {y_name} contain NaN or infinity.")
    return y


def sparse_to_triplets(R):
    """``(rows, cols, ratings)`` of the stored non-zero entries, row-major.

    Entries stored more than once (a COO matrix, or a non-canonical CSR) are
    refused, as duplicate pairs are: summing them would invent a rating
    value. The caller's matrix is never modified.
    """
    R = sp.coo_matrix(R)
    row = np.asarray(R.row, dtype=np.int64)
    col = np.asarray(R.col, dtype=np.int64)
    data = as_float64(np.asarray(R.data), "The ratings of a sparse X")
    keep = data != 0
    if not np.any(keep):
        raise ValueError(
            "The sparse rating matrix is empty: no non-zero entries (no ratings)."
        )
    if not np.all(keep):
        # a stored zero looks like a rating of 0 but cannot be one here
        warnings.warn(
            f"The sparse rating matrix stores {int(np.sum(~keep))} explicit "
            "zero(s); a zero entry is a missing rating, so they are dropped. "
            "For a rating scale that includes 0, pass (user, item) pairs and "
            "y instead.",
            UserWarning,
            stacklevel=_caller_level(),
        )
    row, col, data = row[keep], col[keep], data[keep]
    order = np.lexsort((col, row))  # canonical (row-major) order
    row, col, data = row[order], col[order], data[order]
    dup = (row[1:] == row[:-1]) & (col[1:] == col[:-1])
    if np.any(dup):
        j = int(np.flatnonzero(dup)[0])
        count = int(np.sum((row == row[j]) & (col == col[j])))
        raise ValueError(
            f"The sparse rating matrix stores entry ({row[j]}, {col[j]}) "
            f"{count} times (duplicate (user, item) pairs); aggregate them "
            "first (e.g. sum_duplicates() if summing is really intended)."
        )
    if not np.all(np.isfinite(data)):
        raise ValueError("The rating matrix contains NaN or infinity.")
    return row, col, data


def check_duplicates(ucode, icode, n_items, uid, iid):
    key = ucode.astype(np.int64) * max(n_items, 1) + icode
    s = np.sort(key)
    dup = s[1:] == s[:-1]
    if np.any(dup):
        bad = s[1:][dup][0]
        j = int(np.flatnonzero(key == bad)[0])
        count = int(np.sum(key == bad))
        raise ValueError(
            f"Duplicate (user, item) pairs in the ratings, e.g. "
            f"({np.asarray(uid[j]).item()!r}, {np.asarray(iid[j]).item()!r}) "
            f"appears {count} times; aggregate them first."
        )


class RatingStore:
    """Observed entries stored grouped by case (CSR without values)."""

    def __init__(self, case, var, k, n_cases):
        order = np.argsort(case, kind="stable")  # group by case, keep order
        self.var = var[order].astype(np.int32, copy=False)
        small = len(k) == 0 or int(np.max(k)) < 128
        self.k = k[order].astype(np.int8 if small else np.int32, copy=False)
        counts = np.bincount(case, minlength=n_cases)
        self.ptr = np.zeros(n_cases + 1, dtype=np.int64)
        np.cumsum(counts, out=self.ptr[1:])
        self.n_cases = n_cases

    def case_of_entries(self):
        return np.repeat(np.arange(self.n_cases, dtype=np.int64), np.diff(self.ptr))

    def batch(self, cases, n_vars, K):
        return Batch.from_cases(
            self.ptr, self.var, self.k, np.asarray(cases, dtype=np.int64), n_vars, K
        )

    def merged(self, case, var, k, n_cases, n_vars):
        """A new store with the entries ``(case, var, k)`` added; a pair
        already stored takes the new value."""
        old_case = self.case_of_entries()
        o_var, o_k = self.var.astype(np.int64), self.k.astype(np.int64)
        key_old = old_case * n_vars + o_var
        key_new = case.astype(np.int64) * n_vars + var
        keep = ~np.isin(key_old, key_new)
        return RatingStore(
            np.concatenate([old_case[keep], case]),
            np.concatenate([o_var[keep], var]),
            np.concatenate([o_k[keep], k]),
            n_cases,
        )

    def user_item_codes(self, orientation):
        """``(user codes, item codes, value indices)`` of every entry."""
        case = self.case_of_entries()
        var = self.var.astype(np.int64)
        k = self.k.astype(np.int64)
        return (case, var, k) if orientation == "user" else (var, case, k)

    def indicator(self, n_vars):
        """CSR cases x variables indicator of the stored entries."""
        return sp.csr_matrix(
            (np.ones(len(self.var), np.int8), self.var, self.ptr),
            shape=(self.n_cases, n_vars),
        )


class Orientation:
    """What a case is: one case per user (``"user"``, variables are items)
    or per item (``"item"``, variables are users)."""

    def __init__(self, orientation, users, items):
        self.orientation = orientation
        self.users, self.items = users, items

    @property
    def cases(self):
        """The id table of the cases."""
        return self.users if self.orientation == "user" else self.items

    @property
    def variables(self):
        """The id table of the visible variables."""
        return self.items if self.orientation == "user" else self.users

    @property
    def n_cases(self):
        return len(self.cases.ids)

    @property
    def n_vars(self):
        return len(self.variables.ids)

    def orient(self, ucode, icode):
        """(case codes, variable codes) of user and item codes."""
        if self.orientation == "user":
            return ucode, icode
        return icode, ucode
