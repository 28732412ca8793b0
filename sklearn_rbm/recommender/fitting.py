"""``fit`` and ``partial_fit`` of :class:`CategoricalRBMRecommender`: the
input checks and the publication of a fitted model; the training itself is
the :class:`~sklearn_rbm.recommender.trainer.Trainer`'s."""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import _fit_context

from ..estimators._common import atomic, seed_from
from ..training.threads import single_blas_thread
from . import ranking
from .defaults import fine_tune_epochs
from .feedback import unique_pairs
from .ids import IdIndex, check_pairs, frame_names
from .ids import caller_level as _caller_level
from .store import (
    Orientation,
    check_duplicates,
    check_ratings,
    sparse_to_triplets,
)
from .trainer import STRUCTURAL, Trainer, structural

#: more distinct rating values than this in fit warns (continuous ratings?),
#: and is refused when there are fewer than ``_MIN_PER_CLASS`` ratings per value
#: start of the warning of a fit whose ratings all have one value (the
#: command line replaces it with a note naming its option)
ONE_RATING_WARNING = "Every rating is "
_MANY_CLASSES = 50
_MIN_PER_CLASS = 10
#: an end of the rating scale held by fewer than this share of the ratings
#: warns (one typo of 10 among 80,000 ratings of 1..5 moves "liked")
_RARE_END = 1e-3


class TrainingMixin:
    """``fit`` and ``partial_fit`` of :class:`CategoricalRBMRecommender`:
    input checks, then a :class:`Trainer`."""

    def _trainer(self, implicit=False):
        return Trainer(self._training_params(implicit), type(self).__name__)

    def _check_fine_tune(self):
        if fine_tune_epochs(self.get_params()) > 0 and self.prediction != "mean_field":
            raise ValueError(
                "fine_tune_iter > 0 trains the mean-field predictor; it "
                f"requires prediction='mean_field', got {self.prediction!r}."
            )

    def _check_structure(self):
        """partial_fit continues the fitted model: its structural parameters
        must not have been changed with ``set_params``."""
        fitted = self._fit_structure()
        for name in STRUCTURAL:
            now = structural(self, name)
            if name == "n_components" and now == "auto":
                continue  # the fitted value
            if now != fitted[name]:
                raise ValueError(
                    f"{name}={now!r} differs from the fitted model's "
                    f"{name}={fitted[name]!r}; partial_fit cannot change the "
                    f"structure of a fitted model. Set {name} back, or call "
                    "fit to start over."
                )
        # the ranking model is part of the structure too (not stored in
        # _structure, which saved models validate against STRUCTURAL)
        fitted = "choice" if "_ranking" in self._ranker().__dict__ else "rating"
        if self.ranking != fitted:
            raise ValueError(
                f"ranking={self.ranking!r} differs from the fitted model's "
                f"ranking={fitted!r}; partial_fit cannot add or drop the "
                "ranking model of a fitted model. Set ranking back, or call "
                "fit to start over."
            )

    def _read_training_input(self, X, y, fitted_names=None, implicit=False):
        """``(user_ids, item_ids, ratings, feature_names)`` from pairs + y or a
        sparse users x items matrix (``fitted_names``: the feature names of
        the fitted model, for partial_fit)."""
        if sp.issparse(X):
            if y is not None:
                raise ValueError(
                    "With a sparse rating matrix X, y must be None (the non-zero "
                    "entries are the ratings)."
                )
            if X.ndim != 2:
                raise ValueError(f"Sparse X must be 2-dimensional; got {X.ndim}.")
            u, i, r = sparse_to_triplets(X)
            return u, i, np.ones(len(r)) if implicit else r, None
        u, i, names = check_pairs(X, fitted_names=fitted_names)
        if implicit:  # a pair chosen twice (two plays) is one choice
            u, i = unique_pairs(u, i)
        r = np.ones(len(u)) if implicit else check_ratings(y, len(u), warn=True)
        return u, i, r, names

    # ----------------------------------------------------------------- fit
    @atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the RBM to ratings.

        Parameters
        ----------
        X : array-like of shape (n_ratings, 2), DataFrame, or sparse matrix
            ``(user id, item id)`` pairs (ints or strings, typed per column:
            a column mixing numbers and strings is refused; a DataFrame's
            columns named as user and item ids are read by name, see Notes
            of the class docstring), or a
            scipy.sparse users x items matrix whose non-zero entries are the
            ratings (ids are then the row and column indices; an entry
            stored twice is refused).
        y : array-like of shape (n_ratings,) or None
            The ratings (any finite set of values: each distinct value is a
            softmax class); None for a sparse ``X``. More than 50 distinct
            values warn; more than 50 with fewer than 10 ratings per value
            on average (continuous ratings) raise a ValueError: round them
            to a scale first.

        Returns
        -------
        self : object
            The fitted recommender.
        """
        self._check_fine_tune()
        implicit = self._implicit_input(X, y)
        uid, iid, r, names = self._read_training_input(X, y, implicit=implicit)
        structure = {name: structural(self, name) for name in STRUCTURAL}
        users = IdIndex(np.unique(uid))
        items = IdIndex(np.unique(iid))
        classes = np.unique(r)
        if len(classes) > _MANY_CLASSES:
            what = (
                f"y has {len(classes)} distinct rating values among {len(r)} "
                f"ratings; each value is a softmax class of its own, so every "
                f"visible unit gets {len(classes)} x n_components weights"
            )
            advice = (
                "Continuous ratings should be rounded to a scale first (e.g. "
                "np.round(2 * y) / 2 for half stars)."
            )
            if len(classes) * _MIN_PER_CLASS > len(r):
                # most values seen once or a few times: continuous ratings,
                # whose classes cannot be learned and whose weights can
                # take gigabytes
                raise ValueError(
                    f"{what}, and fewer than {_MIN_PER_CLASS} ratings per value "
                    f"on average. {advice}"
                )
            warnings.warn(f"{what}. {advice}", UserWarning, stacklevel=_caller_level())
        if len(classes) >= 3 and self.ranking == "choice":  # "liked" is used
            _warn_rare_ends(classes, r)
        if len(classes) == 1 and not implicit:
            warnings.warn(
                f"{ONE_RATING_WARNING}{classes[0]:g}: the rating model can only "
                "predict that value. For clicks, plays or purchases (a 0/1 "
                "matrix, or pairs with ones) pass feedback='implicit', which "
                "trains the ranking model on the choices.",
                UserWarning,
                stacklevel=_caller_level(),
            )
        ucode, icode = users.codes(uid), items.codes(iid)
        check_duplicates(ucode, icode, len(items.ids), uid, iid)
        del uid, iid
        k = np.searchsorted(classes, r).astype(
            np.int8 if len(classes) < 128 else np.int64
        )
        rng = seed_from(self.random_state)
        view = Orientation(self.orientation, users, items)
        with single_blas_thread():
            model = self._trainer(implicit).train_new(
                view, classes, ucode, icode, k, r, rng
            )
            model.update(self._fit_ranking(model, implicit))
        # a ranking="rating" refit has no ranking model
        self.__dict__.pop("_ranking", None)
        self.__dict__.pop("_ranking_lateral", None)
        # "auto": the number of hidden units chosen for the data
        structure["n_components"] = int(model["_state"].params["c"].shape[0])
        self.__dict__.update(model)
        self._structure = structure
        self.n_features_in_ = 2
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    @atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Update the model with a new batch of ratings (one pass).

        The new ratings are merged into the stored training ratings (a pair
        already stored gets the new rating; new users and items are added,
        their weights initialised as in fit), then one epoch of CD updates
        runs over the cases that appear in the batch, each with its complete
        rating history, in minibatches of ``batch_size`` in the given order.
        A fine-tuned model (``fine_tune_iter > 0``) runs a fine-tuning pass
        at ``fine_tune_learning_rate`` instead: a CD pass would pull it back
        towards the generative fit, undoing the fine-tuning.
        The first call on an unfitted model initialises it from the batch
        (one CD epoch, then one fine-tuning epoch if ``fine_tune_iter > 0``).
        Rating values must be among ``classes_``, and ids of the type of
        the fitted ids. The structural parameters (``orientation``,
        ``n_components``, ``rank``, ``conditional``, ``dtype``) must be those
        of the fitted model (set with ``set_params`` otherwise, they raise a
        ValueError: call fit to start over); the training parameters may
        change between calls. No early stopping. A call that fails leaves the
        model unchanged.

        The step size after ``fit`` is that of fit's last epoch: with the
        linear schedule, ``learning_rate / max_iter`` (restarting at the full
        rate undoes the annealing: on MovieLens 100K u1, a pass over 5% new
        ratings worsened the RMSE from 0.9243 to 0.9285 at the full rate).
        A model built by ``partial_fit`` alone uses ``learning_rate``.

        Parameters
        ----------
        X : array-like of shape (n_ratings, 2), DataFrame, or sparse matrix
            New ``(user id, item id)`` pairs, or a sparse users x items matrix.
        y : array-like of shape (n_ratings,) or None
            Their ratings.

        Returns
        -------
        self : object
            The updated recommender.
        """
        if not hasattr(self, "_state"):
            es, mi, ft = self.early_stopping, self.max_iter, self.fine_tune_iter
            ri = self.ranking_iter
            try:
                self.early_stopping, self.max_iter = False, 1
                n_ft = min(fine_tune_epochs(self.get_params()), 1)
                self.fine_tune_iter, self.ranking_iter = n_ft, 1
                self.fit(X, y)
            finally:
                self.early_stopping, self.max_iter = es, mi
                self.fine_tune_iter, self.ranking_iter = ft, ri
            return self
        # scikit-learn skips parameter validation in partial_fit once fitted;
        # set_params(...) between calls must still be checked (cheap)
        self._validate_params()
        self._check_structure()
        self._check_fine_tune()
        if not sp.issparse(X):
            self._check_names(frame_names(X))
        fitted = getattr(self, "feature_names_in_", None)
        implicit = self._implicit_update(y)
        uid, iid, r, _ = self._read_training_input(X, y, fitted, implicit)
        self._users.check_kind(uid, "user")
        self._items.check_kind(iid, "item")
        k = np.searchsorted(self.classes_, r)
        k = np.minimum(k, len(self.classes_) - 1)
        bad = self.classes_[k] != r
        if np.any(bad):
            raise ValueError(
                f"Rating values {np.unique(r[bad])[:5].tolist()} are not among "
                f"classes_={self.classes_.tolist()} seen in fit; the number of "
                "softmax values cannot change after fit."
            )
        users = self._users.extend(self._users.new_ids(uid))
        items = self._items.extend(self._items.new_ids(iid))
        ucode, icode = users.codes(uid), items.codes(iid)
        check_duplicates(ucode, icode, len(items.ids), uid, iid)
        view = Orientation(self._orientation, users, items)
        with single_blas_thread():
            model = self._trainer(implicit).train_more(self, view, ucode, icode, k, r)
            model.update(self._partial_fit_ranking(model, ucode))
        self.__dict__.update(model)
        return self


def _warn_rare_ends(classes, r):
    """Warn when the lowest or highest rating values are very rare and decide
    which of the other values count as liked: the ends of the scale set its
    middle, which divides liked from not liked ratings (the ranking model's
    choices and ``recommend``'s re-ranking), so a typo there would silently
    change what ``recommend`` learns and ranks by."""
    counts = np.bincount(np.searchsorted(classes, r), minlength=len(classes))
    is_rare = counts < _RARE_END * len(r)
    lo, hi = 0, len(classes) - 1  # peel rare values off both ends
    while lo < hi and is_rare[lo]:
        lo += 1
    while hi > lo and is_rare[hi]:
        hi -= 1
    rare = [*range(lo), *range(hi + 1, len(classes))]
    rest = classes[lo : hi + 1]
    if not rare or len(rest) < 2:  # one common value left: no scale to compare
        return
    liked = rest[ranking.liked(classes, np.arange(lo, hi + 1))]
    liked_rest = rest[ranking.liked(rest, np.arange(len(rest)))]
    if np.array_equal(liked, liked_rest):
        return

    def values(v):
        return ", ".join(f"{x:g}" for x in v) or "none"

    which = ", ".join(f"{classes[i]:g} ({counts[i]} of {len(r)} ratings)" for i in rare)
    one = len(rare) == 1
    warnings.warn(
        f"{'A rare rating value' if one else 'Rare rating values'} at the end "
        f"of the scale, {which}, {'decides' if one else 'decide'} what counts "
        "as liked: recommend learns from and ranks by the ratings above the "
        f"middle of the scale {classes[0]:g} to {classes[-1]:g} "
        f"({values(liked)} of the other values); without "
        f"{'it' if one else 'them'}, {values(liked_rest)}. "
        f"{'If it is a typo, fix or drop it' if one else 'Fix or drop typos'} "
        "before fit.",
        UserWarning,
        stacklevel=_caller_level(),
    )
