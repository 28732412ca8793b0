"""A cross-validator that holds out part of each user's ratings."""

import numbers

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state

from ..datasets.split import distinct_pairs, group_by_user, user_column

__all__ = ["UserHoldoutSplit"]


class UserHoldoutSplit(BaseCrossValidator):
    """Random splits that hold out a fraction of every user's ratings.

    Each split shuffles each user's ratings and puts about ``test_size`` of
    them in the test set, keeping at least ``min_train`` of them in
    training, so that every test user has a training history to rank from
    (the protocol of top-N evaluation). Splits are drawn independently, like
    :class:`~sklearn.model_selection.ShuffleSplit`: a rating can be in the
    test set of several splits. Rows that repeat a ``(user, item)`` pair
    (implicit feedback: two plays, which ``fit`` counts once) are one rating:
    all their copies go to the same side (the items: an array's second
    column, a two-column frame's other id column, or a wider frame's column
    named as items, such as ``item`` or ``movieId``).

    Parameters
    ----------
    n_splits : int, default=5
        Number of splits.
    test_size : float or int, default=0.2
        A float in (0, 1): the fraction of each user's ratings held out. A
        user with ``n`` ratings gets ``floor(test_size * n)`` or one more
        test ratings, the extra one drawn with probability equal to the
        fractional part, so that ``test_size`` of the ratings are held out
        on average. An int: that many ratings of each user (1: leave one
        out). Either way at most ``n - min_train``.
    min_train : int, default=1
        Ratings of each user that always stay in training; a user with at
        most ``min_train`` ratings is never in a test set.
    random_state : int, RandomState instance or None, default=None
        Seed; with an int, every call of :meth:`split` gives the same splits.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rbm.model_selection import UserHoldoutSplit
    >>> X = np.array([[0, 10], [0, 11], [0, 12], [0, 13], [1, 10], [2, 11], [2, 12]])
    >>> cv = UserHoldoutSplit(n_splits=2, test_size=0.5, random_state=0)
    >>> for train, test in cv.split(X):
    ...     print(sorted(X[test, 0].tolist()), len(train))
    [0, 0, 2] 4
    [0, 0, 2] 4

    User 1 has one rating only: it stays in training.
    """

    def __init__(self, n_splits=5, *, test_size=0.2, min_train=1, random_state=None):
        self.n_splits = n_splits
        self.test_size = test_size
        self.min_train = min_train
        self.random_state = random_state

    def _check_params(self):
        for name in ("n_splits", "min_train"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Integral)
                or value < 1
            ):
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        t = self.test_size
        if isinstance(t, bool) or not isinstance(t, numbers.Real):
            raise ValueError(f"test_size must be a float or an int, got {t!r}.")
        if isinstance(t, numbers.Integral):
            if t < 1:
                raise ValueError(f"An int test_size must be at least 1, got {t}.")
        elif not 0 < t < 1:
            raise ValueError(f"A float test_size must be in (0, 1), got {t}.")

    def split(self, X, y=None, groups=None):
        """Generate indices to split the ratings into training and test sets.

        Parameters
        ----------
        X : array-like of shape (n_ratings, 2) or DataFrame
            ``(user, item)`` pairs; the users are the first column (of a
            DataFrame: the column named as user ids, such as ``user``,
            ``userId`` or ``uid`` in any case, as the estimators read it;
            else the first).
        y : array-like of shape (n_ratings,), default=None
            Ignored (the ratings do not change the split).
        groups : None
            Ignored.

        Yields
        ------
        train : ndarray
            Positions of the training ratings, sorted.
        test : ndarray
            Positions of the test ratings, sorted.
        """
        self._check_params()
        users, _ = user_column(X)
        if y is not None and len(y) != len(users):
            raise ValueError(f"y has {len(y)} entries but X has {len(users)} rows.")
        n = len(users)
        if n == 0:
            raise ValueError("X is empty: no ratings to split.")
        rng = check_random_state(self.random_state)
        # a repeated (user, item) row (implicit feedback: two plays) is one
        # rating: the distinct pairs are split, and every copy follows its
        # pair (a copy in each set would make a test item the user already
        # has in training, which recommend() never lists)
        users, inverse = distinct_pairs(X, users)
        n = users.shape[0]
        for _ in range(self.n_splits):
            starts, group, rank, order = group_by_user(users, rng)
            counts = np.diff(np.r_[starts, n])
            if isinstance(self.test_size, numbers.Integral):
                n_test = np.full(counts.shape, int(self.test_size))
            else:
                raw = self.test_size * counts
                n_test = np.floor(raw + rng.random_sample(counts.size)).astype(int)
            n_test = np.clip(n_test, 0, np.maximum(counts - self.min_train, 0))
            # each user's last n_test rows (in shuffled order) are held out
            is_test = np.zeros(n, dtype=bool)
            is_test[order[rank >= (counts - n_test)[group]]] = True
            is_test = is_test[inverse]  # back to the rows of X
            yield np.flatnonzero(~is_test), np.flatnonzero(is_test)

    def get_n_splits(self, X=None, y=None, groups=None):
        """The number of splits, ``n_splits``.

        Parameters
        ----------
        X, y, groups : object
            Ignored.

        Returns
        -------
        n_splits : int
            The number of train/test splits :meth:`split` yields.
        """
        return self.n_splits
