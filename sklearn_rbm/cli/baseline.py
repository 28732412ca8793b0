"""The baselines that ``evaluate`` (and the demo) report: item means for
RMSE, popularity for ranking metrics."""

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin


class ItemMeanRegressor(RegressorMixin, BaseEstimator):
    """Predicts each item's mean training rating, and the global mean for
    items not seen in ``fit``. ``X`` holds ``(user, item)`` rows."""

    def fit(self, X, y):
        items = np.asarray(X)[:, 1]
        y = np.asarray(y, dtype=np.float64)
        self.items_, inverse = np.unique(items, return_inverse=True)
        self.item_means_ = np.bincount(inverse, weights=y) / np.bincount(inverse)
        self.global_mean_ = float(y.mean())
        return self

    def predict(self, X):
        items = np.asarray(X)[:, 1]
        pos = np.searchsorted(self.items_, items).clip(0, len(self.items_) - 1)
        known = self.items_[pos] == items
        return np.where(known, self.item_means_[pos], self.global_mean_)


class PopularityRecommender(BaseEstimator):
    """Recommends the items with the most training ratings that the user has
    not rated (the popularity baseline of ranking metrics). ``X`` holds
    ``(user, item)`` rows; ``y`` is ignored."""

    def fit(self, X, y=None):
        X = np.asarray(X)
        self.users_, ucode = np.unique(X[:, 0], return_inverse=True)
        self.items_, icode = np.unique(X[:, 1], return_inverse=True)
        counts = np.bincount(icode, minlength=len(self.items_))
        self.order_ = np.argsort(-counts, kind="stable")  # ties: smaller id
        self.seen_ = {}
        for u, i in zip(ucode.tolist(), icode.tolist()):
            self.seen_.setdefault(u, set()).add(i)
        return self

    def recommend(self, users, n_items=10):
        n_items = min(int(n_items), len(self.items_))
        pos = np.searchsorted(self.users_, users).clip(0, len(self.users_) - 1)
        known = self.users_[pos] == np.asarray(users)
        out = np.empty((len(pos), n_items), dtype=self.items_.dtype)
        for row, (p, k) in enumerate(zip(pos.tolist(), known.tolist())):
            seen = self.seen_[p] if k else set()
            top = [i for i in self.order_[: n_items + len(seen)] if i not in seen]
            if len(top) < n_items:  # the user saw nearly every item: pad
                top += [i for i in self.order_ if i in seen][: n_items - len(top)]
            out[row] = self.items_[top[:n_items]]
        return out
