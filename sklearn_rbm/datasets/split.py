"""A train/test split of ratings that keeps every user in training."""

import math
import numbers

import numpy as np
from sklearn.utils import check_random_state

from ..recommender.ids import USER_COLUMNS, _role, frame_names, id_columns

__all__ = ["train_test_split_ratings"]


def train_test_split_ratings(
    X, y=None, *, test_size=0.1, random_state=None, stratify_users=True
):
    """Split ratings into train and test sets, keeping users in training.

    Every user keeps at least one training rating, so every user in the test
    set has training ratings, unless ``test_size`` is too large for that to be
    possible (then the remaining test ratings are drawn from users' last
    ratings). Rows that repeat a ``(user, item)`` pair (implicit feedback:
    two plays) count as one rating and go to the same side, as in
    :class:`~sklearn_rbm.model_selection.UserHoldoutSplit`: a copy in the
    test set would be an item the user already has in training, which
    ``recommend`` never lists. The item column is an array's second, a
    2-column DataFrame's other one, or a wider DataFrame's column named as
    items (``item``, ``itemId``, ``movie``, ...); where it is not known for
    sure (a wider frame with no such name, ids of several types) every row
    counts as its own rating.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_ratings, 2)
        User and item ids. A DataFrame's user column is read by its name
        (``user``, ``userId``, ``user_id``, ``uid``, ..., any case), as the
        estimators read it, else it is the first column.

    y : array-like of shape (n_ratings,) or None, default=None
        Ratings; None for implicit feedback (pairs alone).

    test_size : float or int, default=0.1
        Fraction of the ratings (float in (0, 1), rounded up) or number of
        ratings (int) in the test set, counting a repeated pair once.

    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    stratify_users : bool, default=True
        If True, each user's ratings (distinct pairs, as everywhere here)
        are split in about the proportion
        ``test_size``: a user with ``n`` ratings gets ``floor(n * f)`` or
        ``ceil(n * f)`` test ratings, for one fraction ``f`` near
        ``test_size`` that makes the total exact, so a user can get one
        more or one fewer than ``n * test_size`` rounded (use
        :class:`~sklearn_rbm.model_selection.UserHoldoutSplit` for per-user
        counts of ``floor`` or ``ceil`` of ``n * test_size``). If False, the test
        ratings are drawn uniformly among all ratings except one reserved
        training rating per user.

    Returns
    -------
    X_train, X_test : ndarray or DataFrame
        Rows of ``X``, in their original order (same type as ``X``); with
        repeated pairs, ``X_test`` has every copy of its pairs, so more rows
        than ``test_size`` counts.

    y_train, y_test : ndarray
        The matching ratings; returned only when ``y`` is given (as
        :func:`sklearn.model_selection.train_test_split` returns two arrays
        per array passed).

    Examples
    --------
    >>> from sklearn_rbm.datasets import make_ratings, train_test_split_ratings
    >>> X, y = make_ratings(n_users=50, n_items=20, random_state=0)
    >>> X_train, X_test, y_train, y_test = train_test_split_ratings(
    ...     X, y, test_size=0.2, random_state=0)
    >>> len(y_train) + len(y_test) == len(y)
    True
    >>> set(X_test[:, 0]) <= set(X_train[:, 0])
    True
    >>> plays_train, plays_test = train_test_split_ratings(X, random_state=0)
    """
    users, take = user_column(X)
    if y is not None:
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != users.shape[0]:
            raise ValueError(
                f"y must be 1-d with one rating per row of X ({users.shape[0]}), "
                f"got shape {y.shape}."
            )
    # the distinct (user, item) pairs are split, every copy follows its pair
    users, inverse = distinct_pairs(X, users)
    n = users.shape[0]
    if n < 2:
        raise ValueError(f"Need at least 2 distinct ratings to split, got {n}.")
    if isinstance(test_size, numbers.Integral) and not isinstance(test_size, bool):
        if not 1 <= test_size < n:
            raise ValueError(
                f"An int test_size must be in [1, {n - 1}], got {test_size}."
            )
        n_test = int(test_size)
    elif isinstance(test_size, numbers.Real) and not isinstance(test_size, bool):
        if not 0 < test_size < 1:
            raise ValueError(f"A float test_size must be in (0, 1), got {test_size}.")
        n_test = min(max(math.ceil(test_size * n), 1), n - 1)
    else:
        raise ValueError(f"test_size must be a float or an int, got {test_size!r}.")
    rng = check_random_state(random_state)

    starts, group, rank, order = group_by_user(users, rng)
    if stratify_users:
        counts = np.diff(np.r_[starts, n])[group]
        key = (rank + rng.random_sample(n)) / counts
    else:
        key = rng.random_sample(n)
    key[rank == 0] -= 2.0  # each user's first rating stays in training
    top = np.argpartition(-key, n_test - 1)[:n_test]
    is_test = np.zeros(n, dtype=bool)
    is_test[order[top]] = True
    is_test = is_test[inverse]  # back to the rows of X
    train_idx = np.flatnonzero(~is_test)
    test_idx = np.flatnonzero(is_test)
    if y is None:
        return take(train_idx), take(test_idx)
    return take(train_idx), take(test_idx), y[train_idx], y[test_idx]


def user_column(X):
    """``(users, take)``: the user ids of the rating pairs ``X`` and a function
    that selects rows of ``X`` by position (``X.iloc`` for a DataFrame).

    A DataFrame's user column is found as the estimators find it
    (:func:`~sklearn_rbm.recommender.ids.id_columns`): by its name (``user``,
    ``userId``, ``user_id``, ``uid``, ..., any case) in either position, else
    the first column; a 2-column frame that names only one of its id columns
    is refused, as in ``fit``, and so is a wider frame (a rating column
    beside the ids) whose first column is named as items while no column is
    named as users. For an array, the first column.
    """
    if hasattr(X, "iloc") and hasattr(X, "columns"):
        if X.ndim != 2 or X.shape[1] < 2:
            raise ValueError(f"X must have 2 columns (user, item), got {X.shape}.")
        if X.shape[1] == 2:
            pos = id_columns(frame_names(X))[0]
        else:  # extra columns: the user column by name, else the first
            cols = list(X.columns)
            roles = [_role(c) if isinstance(c, str) else None for c in cols]
            if "user" in roles:
                pos = roles.index("user")
            elif roles[0] == "item":
                raise ValueError(
                    f"Cannot tell the user column of a DataFrame with the "
                    f"columns {cols}: its first column is named as items. Name "
                    "the user id column one of "
                    f"{list(USER_COLUMNS)} (any case)."
                )
            else:
                pos = 0
        return np.asarray(X.iloc[:, pos]), X.iloc.__getitem__
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] < 2:
        raise ValueError(
            f"X must be 2-d with columns (user, item), got shape {X.shape}."
        )
    return X[:, 0], X.__getitem__


def pair_codes(X, users):
    """Integer codes of the ``(user, item)`` pairs of ``X`` (equal rows, equal
    codes), with ``users`` its user column from :func:`user_column`; None
    where the item column is not known for sure or its ids cannot be sorted
    (then every row counts as its own pair). The item column: an array's
    second, a 2-column DataFrame's other one, a wider frame's column named
    as items (no guess by position: a rating or timestamp column would
    merge different items)."""
    if hasattr(X, "iloc") and hasattr(X, "columns"):
        cols = list(X.columns)
        if len(cols) == 2:
            items = np.asarray(X.iloc[:, 1 - id_columns(frame_names(X))[0]])
        else:
            roles = [_role(c) if isinstance(c, str) else None for c in cols]
            if roles.count("item") != 1:
                return None
            items = np.asarray(X.iloc[:, roles.index("item")])
    else:
        items = np.asarray(X)[:, 1]
    try:
        _, ucode = np.unique(users, return_inverse=True)
        _, icode = np.unique(items, return_inverse=True)
    except TypeError:  # ids of several types (fit refuses them anyway)
        return None
    return ucode.ravel().astype(np.int64) * (int(icode.max()) + 1) + icode.ravel()


def distinct_pairs(X, users):
    """``(users, inverse)``: the user of each distinct ``(user, item)`` pair
    of ``X`` (by :func:`pair_codes`; every row its own pair where those are
    None), the pairs in order of first appearance, and for each row of
    ``X`` its pair's position. Without repeats these are the rows
    themselves, in their order (``inverse`` is ``arange``), so splits of the
    pairs are the splits of the rows."""
    codes = pair_codes(X, users)
    if codes is None:  # the item column is not known for sure: rows
        codes = np.arange(users.shape[0])
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    by_first = np.argsort(first, kind="stable")
    rank_of = np.empty_like(by_first)
    rank_of[by_first] = np.arange(by_first.size)
    return users[first[by_first]], rank_of[inverse.ravel()]


def group_by_user(users, rng):
    """The ratings grouped by user, in random order within each user.

    Returns ``(starts, group, rank, order)``: ``order`` lists the rows by
    user (users in sorted order, each user's rows shuffled with ``rng``);
    ``starts`` is where each user's block begins in ``order``, ``group[j]``
    the user number and ``rank[j]`` the position within its user's block of
    ``order[j]``.
    """
    n = users.shape[0]
    perm = rng.permutation(n)
    order = perm[np.argsort(users[perm], kind="stable")]
    grouped = users[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    group = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, n]))
    rank = np.arange(n) - starts[group]
    return starts, group, rank, order
