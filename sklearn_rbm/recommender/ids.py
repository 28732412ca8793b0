"""Ids of users and items: checking id columns and the id <-> code tables."""

import itertools
import warnings
from collections.abc import Iterator, Mapping, MappingView
from collections.abc import Set as AbstractSet
from decimal import Decimal
from numbers import Integral, Rational, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _get_feature_names

from ..estimators._common import caller_level

#: the longest id accepted, in characters: string ids are stored in
#: fixed-width arrays, so one long id would make every stored id that long
MAX_ID_LENGTH = 256
_INT64_MAX = int(np.iinfo(np.int64).max)
_INT64_MIN = int(np.iinfo(np.int64).min)
#: DataFrame column names read as the user and the item column (any case)
USER_COLUMNS = ("user", "users", "user_id", "userid", "uid")
ITEM_COLUMNS = (
    "item",
    "items",
    "item_id",
    "itemid",
    "iid",
    "movie",
    "movie_id",
    "movieid",
)


def _is_missing(v):
    if v is None or type(v).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(v, Real) and v != v  # NaN


def float_id_limit(dtype):
    """The largest magnitude of an integer id held as a float of ``dtype``:
    every integer up to it has its own float (``2**53 - 1`` for float64),
    and it fits in int64. Above it, distinct integers share one float."""
    return min(2 ** (np.finfo(dtype).nmant + 1) - 1, _INT64_MAX)


def _bool_error(name):
    return ValueError(
        f"{name} ids must be integers or strings; got booleans (True and "
        "False would be the ids 1 and 0). Convert them first."
    )


def _float_error(name, v, row, limit):
    return ValueError(
        f"{name} id {v!r} in row {row} is an integer held as a float beyond "
        f"{limit}, where distinct integers share one float; pass such ids as "
        "integers (int64) or strings."
    )


def _check_float_ids(col, name):
    """Float ids as int64: finite, integral and within the exact range."""
    if not np.all(np.isfinite(col)):
        raise ValueError(f"{name} ids contain NaN or infinity.")
    if np.any(col != np.round(col)):
        raise ValueError(
            f"{name} ids must be integers or strings; got non-integral floats."
        )
    limit = float_id_limit(col.dtype)
    big = np.abs(col) > np.asarray(limit, dtype=col.dtype)
    if np.any(big):
        j = int(np.flatnonzero(big)[0])
        raise _float_error(name, col[j].item(), j, limit)
    return col.astype(np.int64)


def _length_error(name, row, length):
    return ValueError(
        f"{name} id in row {row} has {length} characters; ids are limited to "
        f"MAX_ID_LENGTH={MAX_ID_LENGTH} characters."
    )


def _nul_error(name, value, row):
    return ValueError(
        f"{name} id {value!r} in row {row} ends with a NUL character "
        "('\\x00'), which numpy's fixed-width strings drop: it would merge "
        f"with the id {value.rstrip(chr(0))!r}. Remove it first."
    )


def _str_ids(values, lens, name, rows=None):
    """An object array of Python strs as a str array: ids longer than
    :data:`MAX_ID_LENGTH` (checked on their lengths ``lens``, before the
    fixed-width array is made) and ids ending in NUL (which it would drop)
    are refused. ``rows``: the row of each value (default: its position)."""
    if len(values) == 0:
        return np.zeros(0, dtype=str)
    if lens.max() > MAX_ID_LENGTH:
        j = int(np.argmax(lens > MAX_ID_LENGTH))
        raise _length_error(name, j if rows is None else int(rows[j]), int(lens[j]))
    out = values.astype(str)
    stripped = np.char.str_len(out) != lens
    if np.any(stripped):
        j = int(np.flatnonzero(stripped)[0])
        raise _nul_error(name, values[j], j if rows is None else int(rows[j]))
    return out


def _check_str_array(col, name):
    """A numpy str column: ids longer than :data:`MAX_ID_LENGTH` are refused;
    a column wider than its longest id is narrowed (the ids' tables are
    stored at this width)."""
    if col.dtype.itemsize // 4 <= MAX_ID_LENGTH or col.size == 0:
        return col
    lens = np.char.str_len(col)
    if lens.max() > MAX_ID_LENGTH:
        j = int(np.argmax(lens > MAX_ID_LENGTH))
        raise _length_error(name, j, int(lens[j]))
    return col.astype(f"<U{max(int(lens.max()), 1)}")


def _object_int(v, name, row):
    """One id held as a Python object, as a Python int; ValueError if it is
    not an integer (or an integral number that stands for exactly one)."""
    if isinstance(v, bool | np.bool_):
        raise _bool_error(name)
    if isinstance(v, Integral):
        return int(v)
    if _is_missing(v):
        raise ValueError(f"{name} ids contain missing values (None/NaN).")
    if isinstance(v, Decimal):
        if not v.is_finite():
            raise ValueError(f"{name} ids contain NaN or infinity.")
        if v != v.to_integral_value():
            raise ValueError(
                f"{name} ids must be integers or strings; got the non-integral "
                f"number {v!r}."
            )
        if abs(v) > _INT64_MAX + 1:  # compared first: int() of 1e999999 is slow
            return _INT64_MAX + 2  # out of range either way
        return int(v)
    if isinstance(v, Rational):  # fractions.Fraction
        if v.denominator != 1:
            raise ValueError(
                f"{name} ids must be integers or strings; got the non-integral "
                f"number {v!r}."
            )
        return int(v)
    if isinstance(v, Real):
        dtype = v.dtype if isinstance(v, np.floating) else np.float64
        f = np.asarray(v, dtype=dtype)
        if not np.isfinite(f):
            raise ValueError(f"{name} ids contain NaN or infinity.")
        if f != np.round(f):
            raise ValueError(
                f"{name} ids must be integers or strings; got the non-integral "
                f"number {v!r}."
            )
        limit = float_id_limit(dtype)
        if abs(f) > np.asarray(limit, dtype=dtype):
            raise _float_error(name, v, row, limit)
        return int(f)
    raise ValueError(
        f"{name} ids must be integers or strings; got {type(v).__name__} {v!r}."
    )


def _object_ids(col, name, allow_mixed):
    """Ids held as Python objects: int64 (all integers), str (all strings),
    or, with ``allow_mixed``, an object array of Python ints and strs.

    Integers beyond int64 are refused in fit; at prediction time
    (``allow_mixed``) they are kept as Python ints (unknown ids)."""
    n = len(col)
    lens = np.fromiter((len(v) if isinstance(v, str) else -1 for v in col), int, n)
    is_str = lens >= 0
    if is_str.all():
        return _str_ids(col, lens, name)
    num = np.flatnonzero(~is_str)
    ints = [_object_int(col[j], name, j) for j in num]
    in_range = all(_INT64_MIN <= v <= _INT64_MAX for v in ints)
    if not in_range and not allow_mixed:
        raise ValueError(f"{name} ids do not fit in 64-bit integers.")
    if not is_str.any() and in_range:
        return np.array(ints, dtype=np.int64)
    if is_str.any() and not allow_mixed:
        example_s = col[is_str][0]
        raise ValueError(
            f"{name} ids mix numbers and strings (e.g. {ints[0]!r} and "
            f"{example_s!r}); all ids of a column must have one type. Convert "
            "them, e.g. all to str, before fitting."
        )
    out = np.empty(n, dtype=object)
    if is_str.any():
        _str_ids(col[is_str], lens[is_str], name, np.flatnonzero(is_str))
        out[is_str] = col[is_str]
    out[num] = ints
    return out


def as_id_column(col, name, allow_mixed=False):
    """One id column as an int or str ndarray (floats must be integral).

    Distinct ids stay distinct, or are refused: booleans, bytes, floats
    beyond the range where every integer has its own float
    (:func:`float_id_limit`), integers beyond int64 (in fit), strings longer
    than :data:`MAX_ID_LENGTH` or ending in NUL. Integral
    ``fractions.Fraction`` and ``decimal.Decimal`` values are integer ids.

    A column that mixes numbers and strings is refused in fit and
    partial_fit (the ids of a column have one type); at prediction time
    (``allow_mixed=True``) it is returned as an object array of Python ints
    and strs, and :meth:`IdIndex.codes` looks each id up on its own (an id
    of the other type than the fitted ids is unknown). So are integers
    beyond int64 at prediction time.
    """
    col = as_array(col, f"{name} ids")
    kind = col.dtype.kind
    if kind == "i":
        return col  # any signed width (int32 ids stay int32: half the memory)
    if kind == "u":
        if col.size and int(col.max()) > _INT64_MAX:
            if not allow_mixed:
                raise ValueError(
                    f"{name} ids do not fit in 64-bit signed integers (e.g. "
                    f"{int(col.max())}); pass them as strings."
                )
            return col.astype(object)  # Python ints: unknown ids
        return col.astype(np.int64)
    if kind == "b":
        raise _bool_error(name)
    if kind == "f":
        return _check_float_ids(col, name)
    if kind == "U":
        return _check_str_array(col, name)
    if kind == "S":
        raise ValueError(
            f"{name} ids must be integers or strings; got bytes (dtype "
            f"{col.dtype}). Decode them first, e.g. with .astype(str)."
        )
    if kind == "O":
        return _object_ids(col, name, allow_mixed)
    raise ValueError(f"{name} ids must be integers or strings; got dtype {col.dtype}.")


def _has_bool(values, ndim):
    """Whether a (nested) list holds bools (``np.array`` makes them ints)."""
    flat = iter(values)
    for _ in range(ndim - 1):
        flat = itertools.chain.from_iterable(flat)
    return not {bool, np.bool_}.isdisjoint(map(type, flat))


def _list_to_array(values):
    """``np.array`` of a (nested) list without turning ids into other ids: a
    list mixing ints and strs becomes an object array (``np.array`` would
    make every id a string, and int ids would then never match), and so
    does one holding bools (which would become 1 and 0) or ints that
    ``np.array`` would make floats beyond their exact range."""
    arr = np.array(values)
    if arr.dtype.kind in "US":
        return np.array(values, dtype=object)
    if arr.dtype.kind in "iuf" and arr.size:
        inexact = arr.dtype.kind == "f" and bool(
            np.any(np.abs(arr) > float_id_limit(arr.dtype))
        )
        if inexact or _has_bool(values, arr.ndim):
            return np.array(values, dtype=object)
    return arr


def refuse_unordered(values, name):
    """A TypeError naming ``name`` for an unordered collection (a set, a
    dict or dict view) or an iterator: numpy would wrap it as one object."""
    if isinstance(values, AbstractSet | Mapping | MappingView | Iterator):
        raise TypeError(
            f"{name} must be a list, a tuple or an array; got a "
            f"{type(values).__name__} (convert it with list(...))."
        )


def as_array(values, name="ids"):
    """``np.asarray``, but a list mixing ints and strs stays per element;
    unordered collections are refused (:func:`refuse_unordered`)."""
    refuse_unordered(values, name)
    if isinstance(values, list | tuple):
        try:
            return _list_to_array(values)
        except ValueError:  # ragged
            return np.array(values, dtype=object)
    return np.asarray(values)


def frame_names(X):
    """The column names of a DataFrame ``X`` when they are all strings (its
    feature names, read by scikit-learn's own rule; ``numpy.str_`` labels,
    which that rule takes for no names, are read as ``str``), else None;
    names mixing strings and other types raise scikit-learn's TypeError."""
    if not (hasattr(X, "iloc") and hasattr(X, "columns")):
        return None
    labels = [str(c) if isinstance(c, str) else c for c in X.columns]
    return _get_feature_names(X.iloc[:0].set_axis(labels, axis=1))


def _role(name):
    name = name.lower()
    if name in USER_COLUMNS:
        return "user"
    return "item" if name in ITEM_COLUMNS else None


def id_columns(names, fitted=None):
    """Positions ``(user, item)`` of the id columns of a 2-column DataFrame
    with column names ``names`` (None: no string names).

    Columns named as user and item ids (:data:`USER_COLUMNS`,
    :data:`ITEM_COLUMNS`, any case) are read by name, in either order; so
    are the names of the frame given at fit (``fitted``), in either order.
    Two other names are read by position (user ids first). A frame with
    one such name but not the other is refused: it would be read the wrong
    way round. Names that differ from the fitted ones are refused by
    :func:`check_feature_names`.
    """
    if names is None or len(set(names)) < 2:
        return 0, 1
    names = list(names)
    if fitted is not None:
        fitted = list(fitted)
        if sorted(names) != sorted(fitted):
            return 0, 1  # check_feature_names refuses them
        u, i = id_columns(fitted)
        return names.index(fitted[u]), names.index(fitted[i])
    roles = [_role(n) for n in names]
    if roles == ["user", "item"] or roles == [None, None]:
        return 0, 1
    if roles == ["item", "user"]:
        return 1, 0
    raise ValueError(
        f"Cannot tell the user and the item column of a DataFrame with the "
        f"columns {names}: name the user id column one of {list(USER_COLUMNS)} "
        f"and the item id column one of {list(ITEM_COLUMNS)} (any case), in "
        "either order; DataFrame columns with two other names are read by "
        "position (user ids first)."
    )


def check_pairs(X, allow_mixed=False, fitted_names=None):
    """``(users, items, feature_names)`` from an ``(n, 2)`` array or DataFrame.

    Each column is typed on its own (int user ids with str item ids is
    fine); see :func:`as_id_column` for columns that mix types. The id
    columns of a DataFrame are found by :func:`id_columns` (``fitted_names``:
    the feature names seen in fit, if any).
    """
    names = None
    if hasattr(X, "iloc") and hasattr(X, "columns"):
        if X.shape[1] != 2:
            raise ValueError(
                "X must have exactly 2 columns (user id, item id); got "
                f"{X.shape[1]} columns."
            )
        names = frame_names(X)
        cu, ci = id_columns(names, fitted_names)
        u, i = X.iloc[:, cu].to_numpy(), X.iloc[:, ci].to_numpy()
    else:
        if sp.issparse(X):
            raise ValueError(
                "A sparse X is read as a users x items rating matrix only by fit "
                "and partial_fit; predict takes (user, item) pairs."
            )
        arr = as_array(X, "X")
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


#: the start of the warning of :func:`_warn_other_kind` (a filter's regex;
#: the command line, which notes unknown ids itself, ignores it)
OTHER_KIND_WARNING = r"All \d+ \w+ ids given are"


def _warn_other_kind(ids, table_str, name):
    """Warn that every id of a query is of the other type than the
    model's: none can match (a plain fallback for all, easy to miss)."""
    kinds = ("strings", "integers") if table_str else ("integers", "strings")
    warnings.warn(
        f"All {len(ids)} {name} ids given are {kinds[1]} (e.g. "
        f"{ids[:1].tolist()[0]!r}) but the model's {name} ids are {kinds[0]}: "
        f"none can match, so each gets the fallback for unknown {name}s. "
        f"Convert them to {kinds[0]} first.",
        UserWarning,
        stacklevel=caller_level(),
    )


class IdIndex:
    """Id <-> code table that can grow without renumbering old codes.

    The ids are all integers or all strings.
    """

    def __init__(self, ids):
        self.ids = np.asarray(ids)
        self.order = np.argsort(self.ids, kind="stable")
        self.sorted = self.ids[self.order]

    def codes(self, ids, name=None):
        """Codes of ``ids`` (-1 for ids not in the table); int32 when the
        table is small enough (halves the memory of huge inputs).

        Each id is looked up on its own: an id of the other type than the
        table's (a string against integer ids, or an int against string
        ids) is unknown, and does not affect the other ids; so is an
        integer beyond int64. ``ids`` may be an object array mixing Python
        ints and strs. With a ``name`` (``"user"``, ``"item"``: a query of
        the fitted model), ids that are all of the other type warn.
        """
        ids = np.asarray(ids)
        dt = np.int32 if len(self.ids) < 2**31 - 1 else np.int64
        out = np.full(len(ids), -1, dtype=dt)
        if len(self.sorted) == 0 or len(ids) == 0:
            return out
        table_str = self.sorted.dtype.kind == "U"
        if ids.dtype.kind == "O":  # mixed ints and strs: look up each kind
            if table_str:
                same = np.fromiter((isinstance(v, str) for v in ids), bool, len(ids))
            else:
                same = np.fromiter(
                    (
                        not isinstance(v, str) and _INT64_MIN <= v <= _INT64_MAX
                        for v in ids
                    ),
                    bool,
                    len(ids),
                )
            if np.any(same):
                sub = ids[same].astype(str if table_str else np.int64)
                out[same] = self.codes(sub)
            elif name is not None and all(isinstance(v, str) != table_str for v in ids):
                _warn_other_kind(ids, table_str, name)  # (not: ints beyond int64)
            return out
        if table_str != (ids.dtype.kind == "U"):  # strings never match ints
            if name is not None:
                _warn_other_kind(ids, table_str, name)
            return out
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


def check_feature_names(est, names):
    """scikit-learn's feature-name check of pairs given after fit, except
    that the columns are read by name (:func:`id_columns`): a DataFrame
    with the fitted names in the other order is read by name, one whose
    names differ from the fitted ones is an error. Its warnings point at
    the user's call (:func:`caller_level`), whatever the path inside."""
    fitted = getattr(est, "feature_names_in_", None)
    cls = type(est).__name__
    if fitted is None:
        if names is not None:
            warnings.warn(
                f"X has feature names, but {cls} was fitted without feature names",
                UserWarning,
                stacklevel=caller_level(),
            )
        return
    if names is None:
        warnings.warn(
            f"X does not have valid feature names, but {cls} was fitted "
            "with feature names",
            UserWarning,
            stacklevel=caller_level(),
        )
        return
    if sorted(names) != sorted(fitted):
        raise ValueError(
            "The feature names should match those that were passed during "
            f"fit. Feature names differ from those seen in fit: got "
            f"{list(names)}, fitted with {list(fitted)} (the columns of a "
            "DataFrame are read by name)."
        )
