"""Explicit and implicit feedback, and the ranking model's part of ``fit``
and ``partial_fit``.

``feedback="auto"`` reads ``fit(X, y)`` as explicit ratings when there are
ratings (``y``, or the values of a sparse matrix) and as implicit feedback
when ``X`` is ``(user, item)`` pairs with ``y=None``; ``"explicit"`` and
``"implicit"`` say it outright (a sparse matrix under ``"implicit"``: its
non-zero entries are the pairs, their values are ignored). An implicit model
has no rating model: only the ranking model (``recommender/ranking.py``)
is trained; :meth:`predict` and the other rating methods raise a ValueError
naming :meth:`recommend`.
"""

import numpy as np
import scipy.sparse as sp

from ..estimators._common import seed_from
from . import ranking


def unique_pairs(u, i):
    """Implicit feedback: each ``(user, item)`` pair of the id arrays once (a
    pair played or clicked twice is one choice), in the order of first
    occurrence."""
    if len(u) == 0:
        return u, i
    _, uc = np.unique(u, return_inverse=True)
    _, ic = np.unique(i, return_inverse=True)
    key = uc.astype(np.int64) * (int(ic.max()) + 1) + ic
    _, first = np.unique(key, return_index=True)
    first.sort()
    return u[first], i[first]


class FeedbackMixin:
    """The ranking model's share of the fitting methods."""

    def _implicit_input(self, X, y):
        """Whether ``fit(X, y)`` is implicit feedback (see the module)."""
        mode = self.feedback
        if mode == "implicit":
            if y is not None:
                raise ValueError(
                    "feedback='implicit' fits (user, item) pairs without ratings; "
                    "y must be None (pass ratings with feedback='explicit')."
                )
            self._check_implicit_ranking()
            return True
        if mode == "explicit":
            if y is None and not sp.issparse(X):
                raise ValueError(
                    "feedback='explicit' needs ratings: pass y (or a sparse "
                    "matrix of ratings), or fit implicit feedback with "
                    "feedback='implicit'."
                )
            return False
        implicit = y is None and not sp.issparse(X)
        if implicit:
            self._check_implicit_ranking()
        return implicit

    def _implicit_update(self, y):
        """Whether ``partial_fit`` continues an implicit model (then ``y``
        must be None)."""
        implicit = self.__dict__.get("feedback_") == "implicit"
        if implicit and y is not None:
            raise ValueError(
                "This recommender was fitted on implicit feedback: partial_fit "
                "takes (user, item) pairs with y=None."
            )
        return implicit

    def _training_params(self, implicit):
        """The rating model's training parameters; with no ratings
        (implicit feedback) only the ranking model is trained."""
        params = self.get_params()
        if implicit:
            params.update(max_iter=0, fine_tune_iter=0, early_stopping=False)
        return params

    def _check_implicit_ranking(self):
        if self.ranking == "rating":
            raise ValueError(
                "Implicit feedback has no ratings to rank by: ranking='rating' "
                "needs explicit ratings; use ranking='choice'."
            )

    def _check_rating_model(self, method):
        """An implicit model has no rating model: the rating methods raise."""
        if self.__dict__.get("feedback_") == "implicit":
            raise ValueError(
                f"This recommender was fitted on implicit feedback (no "
                f"ratings): {method} has no ratings to predict. Rank items with "
                "recommend() or recommend_new_user(), and measure them with a "
                "ranking scorer (sklearn_rbm.metrics.make_ranking_scorer)."
            )

    def _ranking_inputs(self, model, orientation):
        """Users x items inputs (every rated item) and targets (liked items,
        or every chosen item for implicit feedback) of the fitted ``model``
        (a dict of fitted attributes)."""
        store = model["_store"]
        n_users, n_items = len(model["_users"].ids), len(model["_items"].ids)
        u, i, k = store.user_item_codes(orientation)
        dt = np.dtype(model["_state"].params["b"].dtype)
        V = ranking.user_item(u, i, n_users, n_items, dtype=dt)
        good = ranking.liked(model["classes_"], k)
        T = V if good.all() else ranking.user_item(u, i, n_users, n_items, good, dt)
        return V, T

    def _fit_ranking(self, model, implicit):
        """The ranking model's fitted attributes for the fitted attributes
        ``model`` of the rating model (none with ``ranking="rating"``)."""
        out = {"feedback_": "implicit" if implicit else "explicit"}
        if self.ranking != "choice":
            return out
        V, T = self._ranking_inputs(model, self.orientation)
        out["_ranking"] = ranking.fit_choice(
            V,
            T,
            self.ranking_components,
            self.ranking_iter,
            model["_state"].params["b"].dtype,
            seed_from(self.random_state),
            verbose=self.verbose,
            name=f"{type(self).__name__} ranking",
        )
        if self.ranking_lateral_l2 is not None:
            dt = model["_state"].params["b"].dtype
            l2, dropout, weight = ranking.lateral_settings(
                self.ranking_lateral_l2, implicit
            )
            out["_ranking_lateral"] = ranking.fit_lateral(V, l2, dt, dropout, weight)
        return out

    def _partial_fit_ranking(self, model, ucode):
        """One pass of the ranking model over the users of a partial_fit
        batch (codes ``ucode`` in the updated model)."""
        if "_ranking" not in self.__dict__:
            return {}
        V, T = self._ranking_inputs(model, self._orientation)
        users = np.unique(np.asarray(ucode, dtype=np.int64))
        out = {"_ranking": ranking.continue_choice(self._ranking, V, T, users)}
        lateral = self.__dict__.get("_ranking_lateral")
        if lateral is not None:
            dt = model["_state"].params["b"].dtype
            l2 = self.ranking_lateral_l2
            if l2 is not None:
                implicit = self.__dict__.get("feedback_") == "implicit"
                l2 = ranking.lateral_settings(l2, implicit)[0]
            out["_ranking_lateral"] = ranking.refresh_lateral(lateral, V, l2, dt)
        return out
