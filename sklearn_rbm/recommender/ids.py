"""Ids of users and items: checking id columns and the id <-> code tables."""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp


def _is_missing(v):
    if v is None or type(v).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(v, Real) and v != v  # NaN


def _object_ids(col, name, allow_mixed):
    """Ids held as Python objects: int64 (all integers), str (all strings),
    or, with ``allow_mixed``, an object array of Python ints and strs."""
    n = len(col)
    is_str = np.fromiter((isinstance(v, str) for v in col), bool, n)
    if is_str.all():
        return col.astype(str)
    num = col[~is_str]
    ints = []
    for v in num:
        if isinstance(v, Integral):
            ints.append(int(v))
        elif _is_missing(v):
            raise ValueError(f"{name} ids contain missing values (None/NaN).")
        elif isinstance(v, Real) and np.isfinite(v) and float(v).is_integer():
            ints.append(int(v))
        elif isinstance(v, Real):
            raise ValueError(
                f"{name} ids must be integers or strings; got the "
                f"non-integral number {v!r}."
            )
        else:
            raise ValueError(
                f"{name} ids must be integers or strings; got {type(v).__name__} {v!r}."
            )
    if not is_str.any():
        try:
            return np.array(ints, dtype=np.int64)
        except OverflowError as exc:
            raise ValueError(f"{name} ids do not fit in 64-bit integers.") from exc
    if not allow_mixed:
        example_s = col[is_str][0]
        raise ValueError(
            f"{name} ids mix numbers and strings (e.g. {ints[0]!r} and "
            f"{example_s!r}); all ids of a column must have one type. Convert "
            "them, e.g. all to str, before fitting."
        )
    out = np.empty(n, dtype=object)
    out[is_str] = col[is_str]
    out[~is_str] = ints
    return out


def as_id_column(col, name, allow_mixed=False):
    """One id column as an int or str ndarray (floats must be integral).

    A column that mixes numbers and strings is refused in fit and
    partial_fit (the ids of a column have one type); at prediction time
    (``allow_mixed=True``) it is returned as an object array of Python ints
    and strs, and :meth:`IdIndex.codes` looks each id up on its own (an id
    of the other type than the fitted ids is unknown).
    """
    col = as_array(col)
    if col.dtype.kind == "i":
        return col  # any signed width (int32 ids stay int32: half the memory)
    if col.dtype.kind == "u":
        return col.astype(np.int64)
    if col.dtype.kind == "b":
        return col.astype(np.int64)
    if col.dtype.kind == "f":
        if not np.all(np.isfinite(col)):
            raise ValueError(f"{name} ids contain NaN or infinity.")
        if np.any(col != np.round(col)):
            raise ValueError(
                f"{name} ids must be integers or strings; got non-integral floats."
            )
        return col.astype(np.int64)
    if col.dtype.kind in "US":
        return col.astype(str)
    if col.dtype.kind == "O":
        return _object_ids(col, name, allow_mixed)
    raise ValueError(f"{name} ids must be integers or strings; got dtype {col.dtype}.")


def _list_to_array(values):
    """``np.array`` of a (nested) list without turning numbers into strings:
    a list mixing ints and strs becomes an object array (``np.array`` would
    make every id a string, and int ids would then never match)."""
    arr = np.array(values)
    if arr.dtype.kind in "US":
        arr = np.array(values, dtype=object)
    return arr


def as_array(values):
    """``np.asarray``, but a list mixing ints and strs stays per element."""
    if isinstance(values, list | tuple):
        try:
            return _list_to_array(values)
        except ValueError:  # ragged
            return np.array(values, dtype=object)
    return np.asarray(values)


def check_pairs(X, allow_mixed=False):
    """``(users, items, feature_names)`` from an ``(n, 2)`` array or DataFrame.

    Each column is typed on its own (int user ids with str item ids is
    fine); see :func:`as_id_column` for columns that mix types.
    """
    names = None
    if hasattr(X, "iloc") and hasattr(X, "columns"):
        if X.shape[1] != 2:
            raise ValueError(
                "X must have exactly 2 columns (user id, item id); got "
                f"{X.shape[1]} columns."
            )
        cols = list(X.columns)
        if all(isinstance(c, str) for c in cols):
            names = np.asarray(cols, dtype=object)
        u, i = X.iloc[:, 0].to_numpy(), X.iloc[:, 1].to_numpy()
    else:
        if sp.issparse(X):
            raise ValueError(
                "A sparse X is read as a users x items rating matrix only by fit "
                "and partial_fit; predict takes (user, item) pairs."
            )
        arr = as_array(X)
        if np.iscomplexobj(arr):
            raise ValueError("Complex data not supported: ids must be ints or strings.")
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError(
                "X must be an array of shape (n_ratings, 2) holding (user id, "
                f"item id) pairs; got shape {arr.shape}."
            )
        u, i = arr[:, 0], arr[:, 1]
    if len(u) == 0:
        raise ValueError("X is empty: no (user, item) pairs (0 samples).")
    return (
        as_id_column(u, "user", allow_mixed),
        as_id_column(i, "item", allow_mixed),
        names,
    )


class IdIndex:
    """Id <-> code table that can grow without renumbering old codes.

    The ids are all integers or all strings.
    """

    def __init__(self, ids):
        self.ids = np.asarray(ids)
        self.order = np.argsort(self.ids, kind="stable")
        self.sorted = self.ids[self.order]

    def codes(self, ids):
        """Codes of ``ids`` (-1 for ids not in the table); int32 when the
        table is small enough (halves the memory of huge inputs).

        Each id is looked up on its own: an id of the other type than the
        table's (a string against integer ids, or an int against string
        ids) is unknown, and does not affect the other ids. ``ids`` may be
        an object array mixing Python ints and strs.
        """
        ids = np.asarray(ids)
        dt = np.int32 if len(self.ids) < 2**31 - 1 else np.int64
        out = np.full(len(ids), -1, dtype=dt)
        if len(self.sorted) == 0 or len(ids) == 0:
            return out
        table_str = self.sorted.dtype.kind == "U"
        if ids.dtype.kind == "O":  # mixed ints and strs: look up each kind
            same = np.fromiter((isinstance(v, str) for v in ids), bool, len(ids))
            if not table_str:
                same = ~same
            if np.any(same):
                sub = ids[same].astype(str if table_str else np.int64)
                out[same] = self.codes(sub)
            return out
        if table_str != (ids.dtype.kind == "U"):
            return out  # strings never match ints
        pos = np.searchsorted(self.sorted, ids)
        pos = np.minimum(pos, len(self.sorted) - 1)
        hit = self.sorted[pos] == ids
        out[hit] = self.order[pos[hit]]
        return out

    def check_kind(self, ids, name):
        """Refuse new ids of the other type than the table's (partial_fit
        must never re-type the stored ids)."""
        ids = np.asarray(ids)
        if len(ids) == 0 or len(self.ids) == 0:
            return
        table_str = self.ids.dtype.kind == "U"
        if table_str != (ids.dtype.kind == "U"):
            kinds = ("string", "integer") if table_str else ("integer", "string")
            raise ValueError(
                f"The model was fitted with {kinds[0]} {name} ids but these "
                f"{name} ids are {kinds[1]}s (e.g. {ids[:1].tolist()[0]!r}); "
                "the type of the ids cannot change after fit. Convert them, or "
                "call fit to start over."
            )

    def extend(self, new_ids):
        new_ids = np.asarray(new_ids)
        if len(new_ids) == 0:
            return self
        return IdIndex(np.concatenate([self.ids, new_ids]))

    def new_ids(self, ids):
        """The ids (sorted, unique) that are not in the table."""
        codes = self.codes(ids)
        return np.unique(ids[codes < 0])


def check_feature_names(est, names, stacklevel=4):
    """scikit-learn's feature-name check of pairs given after fit: the
    columns are read by position, so a DataFrame whose names differ
    from (or are a reordering of) the fitted ones is an error."""
    fitted = getattr(est, "feature_names_in_", None)
    cls = type(est).__name__
    if fitted is None:
        if names is not None:
            warnings.warn(
                f"X has feature names, but {cls} was fitted without feature names",
                UserWarning,
                stacklevel=stacklevel,
            )
        return
    if names is None:
        warnings.warn(
            f"X does not have valid feature names, but {cls} was fitted "
            "with feature names",
            UserWarning,
            stacklevel=stacklevel,
        )
        return
    if list(names) != list(fitted):
        how = (
            "Feature names must be in the same order as they were in fit"
            if sorted(names) == sorted(fitted)
            else "Feature names differ from those seen in fit"
        )
        raise ValueError(
            "The feature names should match those that were passed during "
            f"fit. {how}: got {list(names)}, fitted with {list(fitted)} "
            "(the columns are read by position: user id, then item id)."
        )
