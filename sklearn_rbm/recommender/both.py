"""``orientation="both"``: the average of an item-based and a user-based RBM.

The I-RBM and the U-RBM make different errors; the weighted average of their
predicted ratings beats each of them (MovieLens 100K and 1M,
``benchmarks/README.md``). With ``orientation="both"`` one estimator fits
the two models (clones of itself with ``orientation="item"`` and ``"user"``,
each with its own ``"auto"`` values; in parallel with ``n_jobs``) and
serves the mixture: ``predict`` is ``item_weight * item + (1 - item_weight)
* user``, ``predict_proba`` the same mixture of the two distributions (whose
expected value is ``predict``), ``recommend`` and ``recommend_new_user`` use
the ranking model, fitted once with the item-based model, and re-rank by
the ``log P(liked)`` of the averaged rating distributions (of the training
users, or of the two fold-ins of a new user's rated history; with
``ranking="rating"``: the averaged predicted ratings), ``predict_new_user``
averages the two fold-ins and
``partial_fit`` updates both models. ``transform``, ``free_energy`` and the
weight attributes belong to one model: they raise a ValueError naming
``estimators_``, the two fitted models.
"""

import copy
import itertools
import os
import pickle
import warnings

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import ClassNamePrefixFeaturesOutMixin, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._set_output import _SetOutputMixin

from ..estimators._common import atomic, caller_level, named_arguments
from ..exceptions import OneModelOnlyError
from .ids import frame_names
from .serving import SERVING_PARAMS

BOTH = "both"
#: the fitted attributes the estimator shares with its item-based model
SHARED = (
    "classes_",
    "users_",
    "items_",
    "_users",
    "_items",
    "n_features_in_",
    "feature_names_in_",
    "global_mean_",
    "user_means_",
    "item_means_",
    "_user_sum",
    "_user_cnt",
    "_item_sum",
    "_item_cnt",
    "feedback_",
)
#: the fitted attributes of a single model (absent with orientation="both";
#: the ranking model lives in estimators_[0])
SINGLE = ("_state", "_store", "_ranking", "_ranking_lateral")


#: warnings Python's default filters hide outside ``__main__``: raised again
#: at the caller's line they would show (a library's deprecation, say)
HIDDEN = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


def _fit_one(est, X, y, parent):
    if os.getpid() == parent:  # in the caller's process: warnings reach it
        return est.fit(X, y), []
    # a warning raised in a worker process never reaches the caller's
    # filters: recorded here (a worker runs one task at a time), raised
    # again by the caller's process (_warn_once)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    return est, [_portable(w) for w in caught if not issubclass(w.category, HIDDEN)]


def _portable(record):
    """The warning itself if it survives pickling (back to the caller's
    process), else a UserWarning with its category and text."""
    try:
        pickle.loads(pickle.dumps(record.message))
        return record.message
    except Exception:  # a category whose constructor needs more arguments
        return UserWarning(f"{record.category.__name__}: {record.message}")


def _warn_once(records):
    """Raise the warnings of the worker processes again, in the caller's
    process at the caller's line, each (category, text) once: the two
    halves warn about the same data."""
    seen = {}
    for message in itertools.chain.from_iterable(records):
        seen.setdefault((type(message), str(message)), message)
    for message in seen.values():
        warnings.warn(message, stacklevel=caller_level())


class BothMixin(ClassNamePrefixFeaturesOutMixin, _SetOutputMixin):
    """The ``orientation="both"`` paths of :class:`CategoricalRBMRecommender`
    (placed first among its bases); a single model goes on to the others."""

    def _is_both(self):
        structure = self.__dict__.get("_structure")
        if structure is not None:  # fitted: what it was fitted as
            return structure["orientation"] == BOTH
        return self.orientation == BOTH

    def _single_only(self, what):
        if self._is_both():
            raise OneModelOnlyError(
                f"{what}: a model with orientation='both' holds two RBMs; use "
                "those of estimators_[0] (item-based) or estimators_[1] "
                "(user-based)."
            )

    def _parts(self):
        """The two models, with the serving parameters of this estimator."""
        for part in self.estimators_:
            for name in SERVING_PARAMS:
                setattr(part, name, getattr(self, name))
        return self.estimators_

    def _blend(self, item, user):
        w = float(self.item_weight)
        return w * item + (1.0 - w) * user

    def _mixture(self, method, *args, **kwargs):
        """The ``item_weight`` mixture of the two models' ``method(*args,
        **kwargs)``."""
        item, user = self._parts()
        return self._blend(
            getattr(item, method)(*args, **kwargs),
            getattr(user, method)(*args, **kwargs),
        )

    # ------------------------------------------------------------- fitting
    def _refuse_fit_params(self, method, params):
        """A clear TypeError for keyword arguments (``sample_weight`` from a
        search's ``fit_params``, say), naming this class, not a mixin."""
        if params:
            raise TypeError(
                f"{type(self).__name__}.{method}() takes X and y only; got "
                f"{', '.join(map(repr, sorted(params)))}. Rating weights are "
                "not supported."
            )

    @named_arguments
    def fit(self, X, y=None, **params):
        self._refuse_fit_params("fit", params)
        if self.orientation != BOTH:
            super().fit(X, y)
            for name in ("estimators_",):
                self.__dict__.pop(name, None)
            return self
        return self._fit_both(X, y)

    @atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def _fit_both(self, X, y):
        self._check_fine_tune()
        if self._implicit_input(X, y):
            raise ValueError(
                "orientation='both' averages two rating models; implicit "
                "feedback (no ratings) trains only the ranking model: use "
                "orientation='item' or 'user'."
            )
        seed = self.random_state
        if not isinstance(seed, int | np.integer):  # one draw for both models
            seed = int(check_random_state(seed).randint(np.iinfo(np.int32).max))
        # one ranking model (with the item-based half), not two
        parts = [
            clone(self).set_params(
                orientation=o, ranking=r, n_jobs=None, random_state=seed
            )
            for o, r in (("item", self.ranking), ("user", "rating"))
        ]
        parts, records = zip(
            *Parallel(n_jobs=self.n_jobs)(
                delayed(_fit_one)(est, X, y, os.getpid()) for est in parts
            ),
            strict=True,
        )
        parts = list(parts)
        _warn_once(records)  # before publishing: an error filter fails fit
        self._publish(parts)
        structure = dict(parts[0]._fit_structure(), orientation=BOTH)
        self._structure = structure
        return self

    def _publish(self, parts):
        for name in SINGLE:
            self.__dict__.pop(name, None)
        for name in SHARED:
            if name in vars(parts[0]):
                setattr(self, name, getattr(parts[0], name))
            else:
                self.__dict__.pop(name, None)
        self.estimators_ = list(parts)
        # the item-based model's epochs, after fit and partial_fit alike
        self.n_iter_ = parts[0].n_iter_
        # each model has its own (estimators_[i].validation_scores_)
        self.validation_scores_ = self.best_validation_rmse_ = None

    @named_arguments
    def partial_fit(self, X, y=None, **params):
        self._refuse_fit_params("partial_fit", params)
        if not self._is_both():
            return super().partial_fit(X, y)
        if not hasattr(self, "estimators_"):
            return super().partial_fit(X, y)  # fit's first-call path
        return self._partial_fit_both(X, y)

    @atomic
    def _partial_fit_both(self, X, y):
        self._validate_params()
        self._check_structure()
        # each model continues on a copy: a failure leaves both unchanged
        parts = [copy.copy(part) for part in self.estimators_]
        if not sp.issparse(X):  # once, not once per model
            self._check_names(frame_names(X))
        for part in parts:
            params = self.get_params()
            params.update(
                orientation=part._orientation, ranking=part.ranking, n_jobs=None
            )
            # the copy skips its own check (a one-shot flag of _check_names)
            part._names_checked = True
            part.set_params(**params).partial_fit(X, y)
            part.__dict__.pop("_names_checked", None)
        self._publish(parts)
        return self

    # ------------------------------------------------------------- serving
    # predict and predict_proba are ServingMixin's for "both" too: they read
    # the pairs once (one feature-name check, on the shared id tables of the
    # two models) and take _proba_pairs, the mixture below; the expected
    # rating is linear in the probabilities, so it is the mixture of the two
    # models' predictions
    def _proba_pairs(self, ucode, icode):
        if not self._is_both():
            return super()._proba_pairs(ucode, icode)
        return self._mixture("_proba_pairs", ucode, icode)

    @named_arguments
    def predict_new_user(
        self, history_items, history_ratings, query_items, *, alpha="auto"
    ):
        args = (history_items, history_ratings, query_items)
        if not self._is_both():
            return super().predict_new_user(*args, alpha=alpha)
        self._check_serving()
        return self._mixture("predict_new_user", *args, alpha=alpha)

    def _score_matrix(self, ucode):
        if not self._is_both():
            return super()._score_matrix(ucode)
        return self._mixture("_score_matrix", ucode)

    def _rank_matrix(self, ucode):
        if not self._is_both():
            return super()._rank_matrix(ucode)
        ranker = self._ranker()
        if "_ranking" in ranker.__dict__:
            return ranker._rank_matrix(ucode)
        return self._score_matrix(ucode)

    def _new_user_proba(self, history_items, history_ratings, q, alpha="auto"):
        if not self._is_both():
            return super()._new_user_proba(history_items, history_ratings, q, alpha)
        item, user = self._parts()
        args = (history_items, history_ratings, q, alpha)
        (p_item, known), (p_user, _) = (
            item._new_user_proba(*args),
            user._new_user_proba(*args),
        )
        return (None if p_item is None else self._blend(p_item, p_user)), known

    def _user_item_matrix(self):
        if not self._is_both():
            return super()._user_item_matrix()
        return self.estimators_[0]._user_item_matrix()

    def transform(self, X):
        self._single_only("transform gives the hidden units of one RBM")
        return super().transform(X)

    @named_arguments
    def get_feature_names_out(self, input_features=None):
        """Names of the columns of :meth:`transform`: the hidden units,
        ``categoricalrbmrecommender0`` to ``...{n_components - 1}``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Not used to make the names (the input is ids, not features);
            checked as scikit-learn checks it: when given, it must equal
            ``feature_names_in_`` (or have ``n_features_in_`` entries when
            the model was fitted without names).

        Returns
        -------
        names : ndarray of str objects, shape (n_components,)
            ``"<classname><i>"`` for each hidden unit.
        """
        self._single_only("transform gives the hidden units of one RBM")
        return super().get_feature_names_out(input_features)

    @property
    def _n_features_out(self):
        # read by scikit-learn's ClassNamePrefixFeaturesOutMixin
        return self.intercept_hidden_.shape[0]

    @named_arguments
    def free_energy(self, X=None):
        self._single_only("free_energy is that of one RBM")
        return super().free_energy(X)

    def _params(self):
        self._single_only("the weights and biases are those of one RBM")
        return super()._params()


def _share_docstrings():
    """The public methods keep the documentation of the single-model ones
    they extend (the class docstring describes ``orientation="both"``)."""
    from .fitting import TrainingMixin
    from .fold_in import FoldInMixin
    from .serving import ServingMixin

    for base, names in (
        (TrainingMixin, ("fit", "partial_fit")),
        (ServingMixin, ("transform", "free_energy")),
        (FoldInMixin, ("predict_new_user",)),
    ):
        for name in names:
            getattr(BothMixin, name).__doc__ = getattr(base, name).__doc__


_share_docstrings()
