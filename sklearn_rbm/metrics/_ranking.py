"""Top-k ranking metrics: the input format and the treatment of users with
no relevant item are described in the docstring of :mod:`sklearn_rbm.metrics`."""

import numbers
from collections.abc import Iterable

import numpy as np

__all__ = [
    "average_precision_at_k",
    "catalogue_coverage",
    "map_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
]


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}.")
    return int(k)


def _lists(values, name):
    """``values`` as a list of per-user 1-d arrays."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(
            f"{name} must be a sequence with one list of item ids per user, got "
            f"{type(values).__name__}."
        )
    if isinstance(values, np.ndarray) and values.ndim == 2:
        return list(values)
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise ValueError(
            f"{name} must be 2-d (n_users, n_items) or a sequence of lists, got "
            f"an array of shape {values.shape}."
        )
    out = []
    for u, v in enumerate(values):
        if isinstance(v, (set, frozenset)):
            v = list(v)
        if isinstance(v, (str, bytes)) or np.ndim(v) != 1:
            raise ValueError(f"{name}[{u}] must be a 1-d list of item ids, got {v!r}.")
        out.append(_id_array(v))
    return out


def _id_array(v):
    """A list of item ids as a 1-d array that keeps each id as it is: ids of
    several Python types (1 and "1", or an int beyond 2**53 beside a float)
    stay Python objects, where ``np.asarray`` would turn them all into
    strings or floats and make different ids equal."""
    if isinstance(v, np.ndarray):
        return v
    kinds = set(map(type, v))  # C speed; numpy scalars are the ids they hold
    if len(kinds) > 1 and (
        len({type(x.item() if isinstance(x, np.generic) else x) for x in v}) > 1
    ):
        out = np.empty(len(v), dtype=object)
        out[:] = [x.item() if isinstance(x, np.generic) else x for x in v]
        return out
    return np.asarray(v)


def _hits(recommended, relevant, k):
    """``(hits, n_relevant)``: hits[u, j] says whether the j-th recommended
    item of user u is relevant (False past the end of a short list)."""
    k = _check_k(k)
    rec = _lists(recommended, "recommended")
    rel = _lists(relevant, "relevant")
    if len(rec) != len(rel):
        raise ValueError(
            f"recommended and relevant must have one entry per user: got "
            f"{len(rec)} recommended lists and {len(rel)} relevant sets."
        )
    if not rec:
        raise ValueError("No users: recommended and relevant are empty.")
    hits = np.zeros((len(rec), k), dtype=bool)
    n_rel = np.zeros(len(rec), dtype=np.int64)
    for u, (r, s) in enumerate(zip(rec, rel)):
        top = r[:k].tolist()
        if len(set(top)) != len(top):
            raise ValueError(
                f"recommended[{u}] repeats an item within its first {k} entries: {top}."
            )
        s = set(s.tolist())
        n_rel[u] = len(s)
        hits[u, : len(top)] = [item in s for item in top]
    return hits, n_rel


def _mean(values, n_rel, average):
    values = np.where(n_rel > 0, values, np.nan)
    if not average:
        return values
    if not np.any(n_rel > 0):
        raise ValueError(
            "No user has a relevant item: the metric is undefined (users with "
            "no relevant item are left out of the mean)."
        )
    return float(np.mean(values[n_rel > 0]))


_ARGS = """recommended : array-like of shape (n_users, n_recommended) or sequence
        Ranked item ids per user, best first (ragged lists allowed); only the
        first ``k`` count.
    relevant : sequence of length n_users
        Relevant item ids per user (sets, lists or arrays; may be empty).
    k : int, default=10
        Cut-off."""

_PARAMETERS = f"""Parameters
    ----------
    {_ARGS}
    average : bool, default=True
        Return the mean over the users with at least one relevant item;
        False: one value per user, NaN for users with no relevant item.

    Returns
    -------
    score : float or ndarray of shape (n_users,)
        The mean over the users with at least one relevant item
        (``average=True``), or the per-user values.
"""


def _shared_doc(func):
    """Fill in the parameters and returns that the per-user metrics share
    (``{parameters}``), or the three arguments alone (``{args}``)."""
    doc = func.__doc__.replace("{parameters}", _PARAMETERS)
    func.__doc__ = doc.replace("{args}", _ARGS)
    return func


@_shared_doc
def precision_at_k(recommended, relevant, k=10, *, average=True):
    """Precision at ``k``: the fraction of the first ``k`` recommendations
    that are relevant.

    The denominator is ``k`` even when a list is shorter than ``k`` (a
    missing recommendation counts as a miss).

    {parameters}
    Examples
    --------
    >>> from sklearn_rbm.metrics import precision_at_k
    >>> recommended = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    >>> relevant = [{2, 9}, {4}, set()]  # the third user is left out
    >>> precision_at_k(recommended, relevant, k=3)  # doctest: +ELLIPSIS
    0.3333...
    """
    hits, n_rel = _hits(recommended, relevant, k)
    return _mean(hits.sum(axis=1) / hits.shape[1], n_rel, average)


@_shared_doc
def recall_at_k(recommended, relevant, k=10, *, average=True):
    """Recall at ``k``: the fraction of a user's relevant items found in the
    first ``k`` recommendations (``hits / n_relevant``).

    {parameters}
    Examples
    --------
    >>> from sklearn_rbm.metrics import recall_at_k
    >>> recommended = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    >>> relevant = [{2, 9}, {4}, set()]  # the third user is left out
    >>> recall_at_k(recommended, relevant, k=3)  # doctest: +ELLIPSIS
    0.75
    """
    hits, n_rel = _hits(recommended, relevant, k)
    return _mean(hits.sum(axis=1) / np.maximum(n_rel, 1), n_rel, average)


@_shared_doc
def ndcg_at_k(recommended, relevant, k=10, *, average=True):
    """Normalised discounted cumulative gain at ``k`` (binary relevance).

    ``DCG = sum over hits at (0-based) rank i of 1 / log2(i + 2)``; it is
    divided by the ideal DCG, that of a list with its first
    ``min(k, n_relevant)`` items relevant, so that a perfect list scores 1.

    {parameters}
    Examples
    --------
    >>> from sklearn_rbm.metrics import ndcg_at_k
    >>> recommended = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    >>> relevant = [{2, 9}, {4}, set()]  # the third user is left out
    >>> ndcg_at_k(recommended, relevant, k=3)  # doctest: +ELLIPSIS
    0.6934...
    """
    hits, n_rel = _hits(recommended, relevant, k)
    discount = 1.0 / np.log2(np.arange(2, hits.shape[1] + 2))
    dcg = hits @ discount
    ideal = np.cumsum(discount)[np.clip(np.minimum(n_rel, hits.shape[1]) - 1, 0, None)]
    return _mean(dcg / ideal, n_rel, average)


@_shared_doc
def average_precision_at_k(recommended, relevant, k=10, *, average=True):
    """Average precision at ``k`` (mean over users: MAP@k).

    ``AP@k = sum over hits at rank r <= k of precision@r``, divided by
    ``min(k, n_relevant)`` (so that a perfect list scores 1).

    {parameters}
    Examples
    --------
    >>> from sklearn_rbm.metrics import average_precision_at_k
    >>> recommended = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    >>> relevant = [{2, 9}, {4}, set()]  # the third user is left out
    >>> average_precision_at_k(recommended, relevant, k=3)  # doctest: +ELLIPSIS
    0.625
    """
    hits, n_rel = _hits(recommended, relevant, k)
    ranks = np.arange(1, hits.shape[1] + 1)
    prec = np.cumsum(hits, axis=1) / ranks
    ap = (prec * hits).sum(axis=1) / np.maximum(np.minimum(n_rel, hits.shape[1]), 1)
    return _mean(ap, n_rel, average)


@_shared_doc
def map_at_k(recommended, relevant, k=10):
    """Mean average precision at ``k``: :func:`average_precision_at_k`
    averaged over the users with at least one relevant item.

    Parameters
    ----------
    {args}

    Returns
    -------
    score : float
        MAP@k over the users with at least one relevant item.

    Examples
    --------
    >>> from sklearn_rbm.metrics import map_at_k
    >>> map_at_k([[1, 2, 3], [4, 5, 6]], [{2, 9}, {4}], k=3)
    0.625
    """
    return average_precision_at_k(recommended, relevant, k, average=True)


def catalogue_coverage(recommended, catalogue, k=10):
    """Fraction of the catalogue that appears in at least one top-``k`` list.

    Parameters
    ----------
    recommended : array-like of shape (n_users, n_recommended) or sequence
        Ranked item ids per user, best first; only the first ``k`` count.
    catalogue : int or iterable of item ids
        The catalogue: its item ids (an array, list, set or any iterable),
        or its size (then every recommended item is taken to be in it).
    k : int, default=10
        Cut-off.

    Returns
    -------
    coverage : float
        ``|items in any top-k list, within the catalogue| / |catalogue|``.

    Examples
    --------
    >>> from sklearn_rbm.metrics import catalogue_coverage
    >>> catalogue_coverage([[1, 2, 3], [2, 3, 4]], catalogue=range(1, 9), k=2)
    0.375
    >>> catalogue_coverage([[1, 2, 3], [2, 3, 4]], catalogue=8, k=3)
    0.5
    """
    k = _check_k(k)
    rec = _lists(recommended, "recommended")
    shown = {item for r in rec for item in r[:k].tolist()}
    if isinstance(catalogue, numbers.Integral) and not isinstance(catalogue, bool):
        if catalogue < 1:
            raise ValueError(f"catalogue must be at least 1 item, got {catalogue}.")
        if len(shown) > catalogue:
            raise ValueError(
                f"{len(shown)} distinct items were recommended, more than the "
                f"catalogue size {catalogue}."
            )
        return len(shown) / int(catalogue)
    if isinstance(catalogue, np.ndarray):
        items = set(catalogue.ravel().tolist())
    elif isinstance(catalogue, (str, bytes)) or not isinstance(catalogue, Iterable):
        raise TypeError(
            "catalogue must be the number of items (an int) or an iterable of "
            f"item ids, got {type(catalogue).__name__} {catalogue!r}."
        )
    else:
        items = {x.item() if isinstance(x, np.generic) else x for x in catalogue}
    if not items:
        raise ValueError("catalogue is empty.")
    return len(shown & items) / len(items)
