"""CategoricalRBMRecommender: the RBM for collaborative filtering.

Salakhutdinov, Mnih & Hinton (2007), "Restricted Boltzmann Machines for
Collaborative Filtering", as a scikit-learn regressor on ``(user, item)``
pairs, with the item-based variant (I-RBM) of Sedhain et al. (2015), the
conditional RBM and the factored RBM. Sparse kernels live in ``_sparse.py``,
the epoch loop, early stopping and (lazy) momentum updates in ``_training.py``.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import expit, log_softmax
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils import TransformerTags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _sparse
from ._base import _seed_from
from ._persistence_mixin import VersionedStateMixin
from ._training import (
    EarlyStopping,
    Settings,
    TrainState,
    adam_row_update,
    check_finite,
    continued_learning_rate,
    flush_rows,
    init_lazy,
    lazy_row_update,
    lazy_rows_current,
    run_epochs,
    training_errstate,
)
from ._utils import atomic, single_blas_thread

_ROW_PARAMS = ("W3", "A", "b", "D")
#: more distinct rating values than this in fit warns (continuous ratings?)
_MANY_CLASSES = 50
#: largest block of cached hidden fields (n_cases x n_components values,
#: 128 MB in float32); above it predictions recompute them per call
_FIELD_CACHE_MAX = 2**25
#: parameters that fix the shapes of the fitted model: predictions use the
#: fitted values, and partial_fit refuses to continue with other values
_STRUCTURAL = ("orientation", "n_components", "rank", "conditional", "dtype")


def _cd_schedule_ok(value):
    if isinstance(value, Integral):
        return value >= 1
    try:
        pairs = [(int(s), int(k)) for s, k in value]
    except (TypeError, ValueError):
        return False
    return bool(pairs) and all(s >= 0 and k >= 1 for s, k in pairs)


# ----------------------------------------------------------------- input checks
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


def _as_id_column(col, name, allow_mixed=False):
    """One id column as an int or str ndarray (floats must be integral).

    A column that mixes numbers and strings is refused in fit and
    partial_fit (the ids of a column have one type); at prediction time
    (``allow_mixed=True``) it is returned as an object array of Python ints
    and strs, and :meth:`_IdIndex.codes` looks each id up on its own (an id
    of the other type than the fitted ids is unknown).
    """
    col = _as_array(col)
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


def _as_array(values):
    """``np.asarray``, but a list mixing ints and strs stays per element."""
    if isinstance(values, list | tuple):
        try:
            return _list_to_array(values)
        except ValueError:  # ragged
            return np.array(values, dtype=object)
    return np.asarray(values)


def _check_pairs(X, allow_mixed=False):
    """``(users, items, feature_names)`` from an ``(n, 2)`` array or DataFrame.

    Each column is typed on its own (int user ids with str item ids is
    fine); see :func:`_as_id_column` for columns that mix types.
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
        arr = _as_array(X)
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
        _as_id_column(u, "user", allow_mixed),
        _as_id_column(i, "item", allow_mixed),
        names,
    )


def _check_ratings(y, n):
    if y is None:
        raise ValueError("y (the ratings) is required when X holds (user, item) pairs.")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y must be 1-dimensional; got shape {y.shape}.")
    if y.shape[0] != n:
        raise ValueError(f"X has {n} pairs but y has {y.shape[0]} ratings.")
    try:
        y = y.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError("Ratings y must be numeric.") from exc
    if not np.all(np.isfinite(y)):
        raise ValueError("Ratings y contain NaN or infinity.")
    return y


def _sparse_to_triplets(R):
    """``(rows, cols, ratings)`` of the stored non-zero entries, row-major.

    Entries stored more than once (a COO matrix, or a non-canonical CSR) are
    refused, as duplicate pairs are: summing them would invent a rating
    value. The caller's matrix is never modified.
    """
    R = sp.coo_matrix(R)
    row = np.asarray(R.row, dtype=np.int64)
    col = np.asarray(R.col, dtype=np.int64)
    data = np.asarray(R.data)
    keep = data != 0
    if not np.any(keep):
        raise ValueError("The rating matrix has no non-zero entries (no ratings).")
    row, col, data = row[keep], col[keep], data[keep].astype(np.float64)
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


class _IdIndex:
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
        return _IdIndex(np.concatenate([self.ids, new_ids]))


class _Ratings:
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
        return _sparse.Batch.from_cases(
            self.ptr, self.var, self.k, np.asarray(cases, dtype=np.int64), n_vars, K
        )


class CategoricalRBMRecommender(VersionedStateMixin, RegressorMixin, BaseEstimator):
    """Restricted Boltzmann Machine for ratings (collaborative filtering).

    The model of Salakhutdinov, Mnih & Hinton (2007): each *case* (a user,
    or an item with ``orientation="item"``) is one RBM whose visible units
    are K-way softmax units, one per rated variable (item, or user) and
    value, and whose binary hidden units are shared; missing ratings are
    simply absent from a case. All cases share the weights ``W`` of shape
    ``(n_variables, K, n_components)``, visible biases ``(n_variables, K)``
    and hidden biases. Training is CD-T with T raised over training
    (``cd_steps``), momentum, weight decay, minibatches of cases and early
    stopping on held-out training ratings (RMSE). Work per epoch scales with
    ``n_ratings x K x n_components``; nothing of size users x items is built.

    A rating is predicted as the expected value of ``p(v_q = k | p(h | V))``
    (``prediction="mean_field"``, the paper's fast rule) or of the exact
    conditional with the hidden units summed out (``prediction="exact"``).
    Predictions lie in ``[min(classes_), max(classes_)]``.

    Parameters
    ----------
    n_components : int, default=100
        Number of binary hidden units.
    orientation : {"item", "user"}, default="item"
        ``"user"``: one case per user, visible units are items (the original
        U-RBM). ``"item"``: one case per item, visible units are users (the
        I-RBM of Sedhain et al. 2015, much stronger on MovieLens).
    conditional : bool, default=False
        Conditional RBM: a binary "which variables did this case rate"
        vector ``r`` feeds the hidden units through a matrix ``D`` of shape
        ``(n_variables, n_components)``. ``r`` is built from the training
        ratings (and the queries with ``transductive=True``).
    transductive : bool, default=False
        With ``conditional=True``, also count the pairs being predicted in a
        :meth:`predict` / :meth:`predict_proba` call as "rated" in ``r``
        (as with the Netflix qualifying set in the paper). Predictions then
        depend on which other pairs are asked in the same call: this is
        transductive use of the query set.
    rank : int or None, default=None
        Factored RBM: ``W = A @ B`` with ``A`` of shape
        ``(n_variables, K, rank)`` and ``B`` of shape ``(rank,
        n_components)``. ``None`` learns a full ``W``.
    learning_rate : float, default=0.1
        Step size of the momentum gradient ascent (gradients are averaged
        over the cases of a minibatch).
    batch_size : int, default=50
        Cases per minibatch.
    max_iter : int, default=20
        Maximum number of epochs.
    cd_steps : int or sequence of (first_epoch, T) pairs, \
default=((0, 1), (10, 3), (15, 5), (18, 9))
        Gibbs steps T of CD-T; a schedule raises T from the given epochs on
        (Salakhutdinov et al. 2007 raise T from 1 to 3, 5 and 9 as learning
        progresses). An epoch of CD-T costs about ``(1 + T) / 2`` epochs of
        CD-1.
    momentum : float, default=0.9
        Momentum (0.5 for the first 5 epochs with ``momentum_schedule="warmup"``).
    momentum_schedule : {"warmup", "constant"}, default="warmup"
        Momentum schedule.
    weight_decay : float, default=0.003
        L2 penalty on ``W`` (``A``, ``B``) and ``D``.
    visible_bias_decay : float, default=0.0
        L2 penalty on the visible biases ``b`` (shrinks each variable's
        rating distribution towards uniform). It regularises the biases of
        variables with few ratings; 0.03 lowered the validation RMSE of both
        orientations on MovieLens (``benchmarks/README.md``).
    fine_tune_iter : int, default=0
        Epochs of discriminative fine-tuning after the ``max_iter`` epochs
        of CD: the deterministic predictor of :meth:`predict` (``p(h | V)``
        then the softmax over ratings, ``prediction="mean_field"``) is
        trained by backpropagation to minimise the squared error of the
        expected rating on the training ratings, every rating being an input
        and a target (as in an autoencoder), with Adam on the touched rows.
        CD is the pretraining. Requires ``prediction="mean_field"``. With
        early stopping, the held-out ratings are monitored through both
        phases and the best epoch of either is kept. :meth:`partial_fit` on
        a fine-tuned model runs fine-tuning passes. 0 (the default) is the
        paper's generatively trained RBM.
    fine_tune_learning_rate : float, default=1e-3
        Adam step size of fine-tuning.
    fine_tune_alpha : float, default=25.0
        L2 penalty ``alpha / 2 ||W||^2`` on ``W`` (``A``, ``B``) and ``D``
        during fine-tuning, against the *sum* of squared errors over the
        training ratings (as AutoRec's lambda), so one value suits data sets
        of different sizes: the validation optimum was about 25 on both
        MovieLens 100K and 1M. Errors are measured in rating steps (the mean
        spacing of ``classes_``), so it does not depend on the units of the
        ratings. As the weight decay of sparse Adam, it is applied to the
        rows a minibatch touches, so a variable with few ratings is
        penalised less often.
    learning_rate_schedule : {"constant", "linear"}, default="linear"
        ``"linear"`` decays the learning rate to zero over ``max_iter`` epochs.
    negative_visible : {"sample", "mean_field"}, default="mean_field"
        Last visible state of the CD chain: a softmax sample (standard CD),
        or the softmax probabilities themselves (lower-variance gradients at
        about 1.5x the cost per epoch).
    prediction : {"mean_field", "exact"}, default="mean_field"
        How :meth:`predict` and :meth:`predict_proba` turn a case's ratings
        into ``p(v_q = k)``: through the hidden probabilities (fast), or
        summing out the hidden units exactly.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the training ratings, monitor their
        RMSE after every epoch and keep the best epoch's model. The held-out
        ratings are used as inputs again at prediction time.
    validation_fraction : float, default=0.05
        Fraction of the training ratings held out for early stopping.
    n_iter_no_change : int, default=5
        Patience of early stopping, in epochs.
    tol : float, default=1e-4
        Minimum RMSE improvement counted as progress.
    dtype : {"float32", "float64"}, default="float32"
        Compute and storage dtype of the parameters. float32 is about twice
        as fast and is accurate enough for RMSE to 4 decimals.
    random_state : int, RandomState instance or None, default=None
        Seed of initialisation, the validation split, minibatch order and the
        Gibbs sampler; an int gives bit-identical models.
    verbose : int, default=0
        Print the epoch, validation RMSE and time per epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The rating values seen in fit, sorted (the K softmax values).
    users_ : ndarray of shape (n_users,)
        User ids seen in fit (and partial_fit), in internal order.
    items_ : ndarray of shape (n_items,)
        Item ids seen in fit (and partial_fit), in internal order.
    components_ : ndarray of shape (n_variables, n_classes, n_components)
        The weights ``W`` (``A @ B`` when factored); variables are items for
        ``orientation="user"`` and users for ``orientation="item"``.
    intercept_visible_ : ndarray of shape (n_variables, n_classes)
        Visible biases, initialised from smoothed base rates.
    intercept_hidden_ : ndarray of shape (n_components,)
        Hidden biases.
    global_mean_, user_means_, item_means_ : float, ndarray, ndarray
        Training-rating means used by the fallback for unknown ids.
    n_iter_ : int
        Epochs run.
    validation_scores_ : list of float or None
        Negative validation RMSE per epoch (with early stopping).
    best_validation_rmse_ : float or None
        RMSE on the held-out ratings of the kept epoch.
    n_features_in_ : int
        Always 2 (user id, item id).
    feature_names_in_ : ndarray of shape (2,)
        Column names of a DataFrame ``X`` with string column names.

    Notes
    -----
    Unknown ids never raise at prediction time: a pair whose user or item
    was not seen in fit (including an id of the other type than the fitted
    ids, such as ``"7"`` against integer ids) is predicted by the fallback,
    each pair on its own: the item's mean
    training rating if the item is known, else the user's mean if the user
    is known, else the global mean (:meth:`predict_proba`: the matching
    empirical rating distribution). A new user with a history can be scored
    without refitting with :meth:`predict_new_user`.

    The fitted model keeps the training ratings (grouped by case, about 5
    bytes per rating): a case's hidden representation is computed from them
    at prediction time.

    Cost. A minibatch builds the CSR one-hot of its cases' ``(variable,
    value)`` entries; the hidden input is that matrix times ``W``, the
    visible logits of the negative phase are computed at the rated entries
    only (``W`` rows gathered per entry), and gradients are accumulated on the
    rows of ``W`` the minibatch touched. Momentum and weight decay of rows a
    minibatch did not touch are applied lazily, in closed form, when the row
    is next touched (exactly the dense update, up to rounding). An epoch
    costs ``O(n_ratings x K x n_components)`` plus the weight updates, and
    no array of size users x items is ever built. Computation is in float32
    by default (``dtype``); BLAS is limited to one thread during fit and
    prediction (the products are thin).

    Fitted models are picklable; after unpickling, :meth:`partial_fit`
    continues bit-identically (momentum, the random stream and the lazy
    update bookkeeping are part of the model).

    References
    ----------
    Salakhutdinov, R., Mnih, A. & Hinton, G. (2007). Restricted Boltzmann
    machines for collaborative filtering. ICML.

    Sedhain, S., Menon, A. K., Sanner, S. & Xie, L. (2015). AutoRec:
    Autoencoders meet collaborative filtering. WWW (I-RBM baseline).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rbm import CategoricalRBMRecommender
    >>> rng = np.random.default_rng(0)
    >>> users, items = rng.integers(0, 30, 400), rng.integers(0, 20, 400)
    >>> X = np.unique(np.c_[users, items], axis=0)
    >>> y = 1 + (X[:, 0] % 3 + X[:, 1] % 3) % 5
    >>> rec = CategoricalRBMRecommender(n_components=8, max_iter=5, random_state=0)
    >>> rec = rec.fit(X, y)
    >>> rec.classes_
    array([1., 2., 3., 4., 5.])
    >>> rec.predict([[0, 1], [3, 2]]).shape
    (2,)
    >>> items, scores = rec.recommend([0], n_items=3)
    >>> items.shape
    (1, 3)

    Half of the epochs as discriminative fine-tuning of the predictor:

    >>> tuned = CategoricalRBMRecommender(
    ...     n_components=8, max_iter=5, fine_tune_iter=5, fine_tune_learning_rate=3e-3,
    ...     random_state=0,
    ... ).fit(X, y)
    >>> tuned.n_iter_
    10
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "orientation": [StrOptions({"user", "item"})],
        "conditional": ["boolean"],
        "transductive": ["boolean"],
        "rank": [Interval(Integral, 1, None, closed="left"), None],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "cd_steps": [Interval(Integral, 1, None, closed="left"), tuple, list],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "momentum_schedule": [StrOptions({"constant", "warmup"})],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "visible_bias_decay": [Interval(Real, 0, None, closed="left")],
        "fine_tune_iter": [Interval(Integral, 0, None, closed="left")],
        "fine_tune_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "fine_tune_alpha": [Interval(Real, 0, None, closed="left")],
        "learning_rate_schedule": [StrOptions({"constant", "linear"})],
        "negative_visible": [StrOptions({"sample", "mean_field"})],
        "prediction": [StrOptions({"mean_field", "exact"})],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "dtype": [StrOptions({"float32", "float64"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=100,
        *,
        orientation="item",
        conditional=False,
        transductive=False,
        rank=None,
        learning_rate=0.1,
        batch_size=50,
        max_iter=20,
        cd_steps=((0, 1), (10, 3), (15, 5), (18, 9)),
        momentum=0.9,
        momentum_schedule="warmup",
        weight_decay=0.003,
        visible_bias_decay=0.0,
        fine_tune_iter=0,
        fine_tune_learning_rate=1e-3,
        fine_tune_alpha=25.0,
        learning_rate_schedule="linear",
        negative_visible="mean_field",
        prediction="mean_field",
        early_stopping=True,
        validation_fraction=0.05,
        n_iter_no_change=5,
        tol=1e-4,
        dtype="float32",
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.orientation = orientation
        self.conditional = conditional
        self.transductive = transductive
        self.rank = rank
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.cd_steps = cd_steps
        self.momentum = momentum
        self.momentum_schedule = momentum_schedule
        self.weight_decay = weight_decay
        self.visible_bias_decay = visible_bias_decay
        self.fine_tune_iter = fine_tune_iter
        self.fine_tune_learning_rate = fine_tune_learning_rate
        self.fine_tune_alpha = fine_tune_alpha
        self.learning_rate_schedule = learning_rate_schedule
        self.negative_visible = negative_visible
        self.prediction = prediction
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    # ============================================================ input handling
    def _read_training_input(self, X, y):
        """``(user_ids, item_ids, ratings, feature_names)`` from pairs + y or a
        sparse users x items matrix."""
        if sp.issparse(X):
            if y is not None:
                raise ValueError(
                    "With a sparse rating matrix X, y must be None (the non-zero "
                    "entries are the ratings)."
                )
            if X.ndim != 2:
                raise ValueError(f"Sparse X must be 2-dimensional; got {X.ndim}.")
            u, i, r = _sparse_to_triplets(X)
            return u, i, r, None
        u, i, names = _check_pairs(X)
        r = _check_ratings(y, len(u))
        return u, i, r, names

    def _fit_structure(self):
        """The structural parameters the model was fitted with.

        ``set_params`` after fit changes the constructor parameters, not the
        fitted model: prediction code reads these instead.
        """
        fitted = self.__dict__.get("_structure")
        if fitted is None:  # a model pickled before they were recorded
            fitted = {name: getattr(self, name) for name in _STRUCTURAL}
        return fitted

    @property
    def _orientation(self):
        return self._fit_structure()["orientation"]

    def _orient(self, ucode, icode):
        """(case codes, variable codes) for the model's orientation."""
        if self._orientation == "user":
            return ucode, icode
        return icode, ucode

    @property
    def _n_cases(self):
        user = self._orientation == "user"
        return len(self._users.ids if user else self._items.ids)

    @property
    def _n_vars(self):
        user = self._orientation == "user"
        return len(self._items.ids if user else self._users.ids)

    def _check_structure(self):
        """partial_fit continues the fitted model: its structural parameters
        must not have been changed with ``set_params``."""
        fitted = self._fit_structure()
        for name in _STRUCTURAL:
            now = getattr(self, name)
            if now != fitted[name]:
                raise ValueError(
                    f"{name}={now!r} differs from the fitted model's "
                    f"{name}={fitted[name]!r}; partial_fit cannot change the "
                    f"structure of a fitted model. Set {name} back, or call "
                    "fit to start over."
                )

    def _check_names(self, names, stacklevel=4):
        """scikit-learn's feature-name check of pairs given after fit: the
        columns are read by position, so a DataFrame whose names differ
        from (or are a reordering of) the fitted ones is an error."""
        fitted = getattr(self, "feature_names_in_", None)
        cls = type(self).__name__
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

    # ================================================================== fitting
    def _settings(self):
        cd = self.cd_steps
        if not _cd_schedule_ok(cd):
            raise ValueError(
                "cd_steps must be an int >= 1 or a non-empty sequence of "
                f"(first_epoch >= 0, T >= 1) pairs; got {cd!r}."
            )
        if not isinstance(cd, Integral):
            cd = tuple((int(s), int(k)) for s, k in cd)
        return Settings(
            learning_rate=float(self.learning_rate),
            momentum=float(self.momentum),
            weight_decay=float(self.weight_decay),
            cd_steps=cd,
            persistent=False,
            n_chains=1,
            centering=False,
            momentum_schedule=self.momentum_schedule,
            learning_rate_schedule=self.learning_rate_schedule,
            max_iter=int(self.max_iter),
        )

    def _decay(self):
        wd = float(self.weight_decay)
        return {
            "W3": wd,
            "A": wd,
            "B": wd,
            "D": wd,
            "b": float(self.visible_bias_decay),
        }

    def _init_params(self, n_vars, K, counts, rng):
        dt = np.dtype(self.dtype)
        H = self.n_components
        b = log_softmax(np.log(counts + 0.5), axis=1)
        p = {"b": b.astype(dt), "c": np.zeros(H, dt)}
        if self.rank is None:
            p["W3"] = rng.normal(0.0, 0.01, size=(n_vars, K, H)).astype(dt)
        else:
            # W = A @ B has the same 0.01 scale as a full W; B starts at unit
            # scale so that A (the large factor) learns at a useful rate
            s = 0.01 / np.sqrt(self.rank) * np.sqrt(self.rank)
            p["A"] = rng.normal(0.0, s, size=(n_vars, K, self.rank)).astype(dt)
            p["B"] = rng.normal(0.0, 1.0 / np.sqrt(self.rank), size=(self.rank, H))
            p["B"] = p["B"].astype(dt)
        if self.conditional:
            p["D"] = np.zeros((n_vars, H), dt)
        return p

    def _make_step(self, state, store, n_vars, K):
        decay = self._decay()
        mean_field = self.negative_visible == "mean_field"

        names = tuple(n for n in _ROW_PARAMS if n in state.params)

        def step(idx, lr, momentum, T):
            batch = store.batch(idx, n_vars, K)
            if len(batch.var) == 0:
                return
            lazy_rows_current(state, names, batch.local()[0], lr, momentum, decay)
            ph_pos, k_neg, ph_neg = _sparse.cd_statistics(
                batch, state.params, T, state.rng, mean_field
            )
            uv, row_g, dense_g = _sparse.gradients(
                batch, state.params, ph_pos, k_neg, ph_neg
            )
            lazy_row_update(state, uv, row_g, dense_g, lr, momentum, decay)

        return step

    def _flush(self, state):
        names = tuple(n for n in _ROW_PARAMS if n in state.params)
        flush_rows(state, names, self._decay())

    def _check_fine_tune(self):
        if self.fine_tune_iter > 0 and self.prediction != "mean_field":
            raise ValueError(
                "fine_tune_iter > 0 trains the mean-field predictor; it "
                f"requires prediction='mean_field', got {self.prediction!r}."
            )

    def _make_fine_tune_step(self, state, store, n_vars, K, classes):
        """Minibatch step of discriminative fine-tuning (Adam descent on the
        squared error of the mean-field prediction, on the touched rows)."""
        # errors are measured in rating steps (the mean spacing of classes_:
        # 1 for 1..5 stars, 0.5 for half stars), so that alpha and Adam's
        # moments do not depend on the units of the ratings (1e11-sized
        # ratings overflowed Adam's second moment in float32)
        values = np.asarray(classes, dtype=np.float64)
        if len(values) > 1:
            values = values / (np.ptp(values) / (len(values) - 1))
        # the objective is sum of squared errors + alpha / 2 ||W||^2; a step
        # follows the mean over its minibatch's ratings, so the penalty is
        # divided by the number of training ratings
        alpha = float(self.fine_tune_alpha) / max(len(store.var), 1)
        decay = {"W3": alpha, "A": alpha, "B": alpha, "D": alpha}

        def step(idx, lr, momentum, T):
            batch = store.batch(idx, n_vars, K)
            if len(batch.var) == 0:
                return
            _, uv, row_g, dense_g = _sparse.predictor_gradients(
                batch, state.params, values
            )
            adam_row_update(state, uv, row_g, dense_g, lr, decay)

        return step

    def _fine_tune_settings(self, n_epochs):
        return Settings(
            learning_rate=float(self.fine_tune_learning_rate),
            momentum=0.0,
            weight_decay=0.0,
            cd_steps=1,
            persistent=False,
            n_chains=1,
            centering=False,
            momentum_schedule="constant",
            learning_rate_schedule="constant",
            max_iter=int(n_epochs),
            learning_rate_name="fine_tune_learning_rate",
        )

    def _start_fine_tune(self, state):
        """CD's pending lazy steps are applied and its momentum dropped (a
        later CD pass in partial_fit starts from rest)."""
        self._flush(state)
        for v in state.velocity.values():
            v[...] = 0

    @atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the RBM to ratings.

        Parameters
        ----------
        X : array-like of shape (n_ratings, 2), DataFrame, or sparse matrix
            ``(user id, item id)`` pairs (ints or strings, typed per column:
            a column mixing numbers and strings is refused), or a
            scipy.sparse users x items matrix whose non-zero entries are the
            ratings (ids are then the row and column indices; an entry
            stored twice is refused).
        y : array-like of shape (n_ratings,) or None
            The ratings (any finite set of values); None for a sparse ``X``.

        Returns
        -------
        self : object
            The fitted recommender.
        """
        self._check_fine_tune()
        uid, iid, r, names = self._read_training_input(X, y)
        structure = {name: getattr(self, name) for name in _STRUCTURAL}
        users = _IdIndex(np.unique(uid))
        items = _IdIndex(np.unique(iid))
        classes = np.unique(r)
        if len(classes) > _MANY_CLASSES:
            warnings.warn(
                f"y has {len(classes)} distinct rating values; each one is a "
                f"softmax class, so every visible unit gets {len(classes)} x "
                f"n_components weights. Continuous ratings should be rounded "
                "to a scale first (e.g. np.round(2 * y) / 2 for half stars).",
                UserWarning,
                stacklevel=2,
            )
        ucode, icode = users.codes(uid), items.codes(iid)
        _check_duplicates(ucode, icode, len(items.ids), uid, iid)
        del uid, iid
        k = np.searchsorted(classes, r).astype(
            np.int8 if len(classes) < 128 else np.int64
        )
        rng = _seed_from(self.random_state)
        with single_blas_thread():
            model = self._train_new(users, items, classes, ucode, icode, k, r, rng)
        self.__dict__.update(model)
        self._structure = structure
        self.n_features_in_ = 2
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def _train_new(self, users, items, classes, ucode, icode, k, r, rng):
        """Train from scratch; returns the fitted attributes (nothing is set on
        ``self`` until training succeeded)."""
        self_view = _View(self.orientation, users, items)
        case, var = self_view._orient(ucode, icode)
        n_cases, n_vars, K = self_view._n_cases, self_view._n_vars, len(classes)
        n = len(r)
        val = np.zeros(n, dtype=bool)
        if self.early_stopping and (self.max_iter > 0 or self.fine_tune_iter > 0):
            n_val = int(round(self.validation_fraction * n))
            if n_val < 1 or n - n_val < 1:
                raise ValueError(
                    f"early_stopping holds out validation_fraction="
                    f"{self.validation_fraction} of the {n} ratings, which leaves "
                    "no validation or no training ratings; add ratings or set "
                    "early_stopping=False."
                )
            val[rng.permutation(n)[:n_val]] = True
        tr = ~val
        if val.any():
            store = _Ratings(case[tr], var[tr], k[tr], n_cases)
        else:  # no copies of the (possibly huge) arrays
            store = _Ratings(case, var, k, n_cases)
        counts = np.bincount(
            store.var.astype(np.int64) * K + store.k, minlength=n_vars * K
        ).reshape(n_vars, K)
        params = self._init_params(n_vars, K, counts, rng)
        state = TrainState(
            params=params,
            velocity={name: np.zeros_like(v) for name, v in params.items()},
            rng=rng,
        )
        init_lazy(state, n_vars)
        settings = self._settings()
        monitor = stopper = None
        if val.any():
            vc, vv, vy = case[val], var[val], r[val]

            def monitor():
                pred = _expected(
                    _predict_proba_codes(state.params, store, vc, vv, n_vars, K),
                    classes,
                )
                return -_rmse(pred, vy)

            stopper = EarlyStopping(self.tol, self.n_iter_no_change)
        state, history = run_epochs(
            state,
            self._make_step(state, store, n_vars, K),
            n_cases,
            settings,
            batch_size=self.batch_size,
            n_epochs=self.max_iter,
            monitor=monitor,
            early_stopping=stopper,
            verbose=self.verbose,
            name=type(self).__name__,
            score_name="-RMSE",
            epoch_end=lambda: self._flush(state),
        )
        if self.fine_tune_iter > 0:
            if stopper is not None:
                # the kept CD epoch (momentum included) stays intact while
                # fine-tuning trains a copy; the phase gets its own patience
                state = state.copy()
                stopper.reset_patience()
            self._start_fine_tune(state)
            lr_factor = state.lr_factor  # where partial_fit's CD continues
            state, more = run_epochs(
                state,
                self._make_fine_tune_step(state, store, n_vars, K, classes),
                n_cases,
                self._fine_tune_settings(self.fine_tune_iter),
                batch_size=self.batch_size,
                n_epochs=self.fine_tune_iter,
                monitor=monitor,
                early_stopping=stopper,
                verbose=self.verbose,
                name=f"{type(self).__name__} fine-tuning",
                score_name="-RMSE",
            )
            state.lr_factor = lr_factor
            history = history + more
        full = _Ratings(case, var, k, n_cases) if val.any() else store
        out = self._fitted_attrs(state, full, users, items, classes, ucode, icode, r)
        out["validation_scores_"] = history if monitor is not None else None
        out["best_validation_rmse_"] = (
            -stopper.best_score if stopper is not None and history else None
        )
        return out

    def _fitted_attrs(self, state, store, users, items, classes, ucode, icode, r):
        nu, ni = len(users.ids), len(items.ids)
        out = {
            "_state": state,
            "_store": store,
            "_users": users,
            "_items": items,
            "classes_": classes,
            "users_": users.ids,
            "items_": items.ids,
            "n_iter_": state.n_epochs,
            "global_mean_": float(np.mean(r)),
        }
        out["_user_sum"] = np.bincount(ucode, weights=r, minlength=nu)
        out["_user_cnt"] = np.bincount(ucode, minlength=nu).astype(np.float64)
        out["_item_sum"] = np.bincount(icode, weights=r, minlength=ni)
        out["_item_cnt"] = np.bincount(icode, minlength=ni).astype(np.float64)
        out["_n_ratings"] = float(len(r))
        out["_rating_sum"] = float(np.sum(r))
        _finish_means(out)
        return out

    # ---------------------------------------------------------------- partial_fit
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
        towards the generative fit (on MovieLens 100K u1, a CD pass over 5%
        of the ratings took a fine-tuned model from 0.9155 to 0.9352 RMSE; a
        fine-tuning pass to 0.9167, and 0.9136 at rate 1e-3).
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
            try:
                self.early_stopping, self.max_iter = False, 1
                self.fine_tune_iter = min(ft, 1)
                self.fit(X, y)
            finally:
                self.early_stopping, self.max_iter = es, mi
                self.fine_tune_iter = ft
            return self
        # scikit-learn skips parameter validation in partial_fit once fitted;
        # set_params(...) between calls must still be checked (cheap)
        self._validate_params()
        self._check_structure()
        self._check_fine_tune()
        uid, iid, r, names = self._read_training_input(X, y)
        if not sp.issparse(X):
            self._check_names(names, stacklevel=5)
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
        users = self._users.extend(_new_ids(self._users, uid))
        items = self._items.extend(_new_ids(self._items, iid))
        ucode, icode = users.codes(uid), items.codes(iid)
        _check_duplicates(ucode, icode, len(items.ids), uid, iid)
        with single_blas_thread():
            model = self._train_more(users, items, ucode, icode, k, r)
        self.__dict__.update(model)
        return self

    def _train_more(self, users, items, ucode, icode, k, r):
        view = _View(self._orientation, users, items)
        K = len(self.classes_)
        state = self._state.copy()
        state.params = {n: v.copy() for n, v in state.params.items()}
        self._flush(state)
        n_cases, n_vars = view._n_cases, view._n_vars
        old_vars = state.params["b"].shape[0]
        # --- grow the per-variable parameters for new variables
        if n_vars > old_vars:
            n_new = n_vars - old_vars
            _, var_new = view._orient(ucode, icode)
            counts = np.zeros((n_vars, K))
            np.add.at(counts, (var_new, k), 1)
            fresh = self._init_params(n_new, K, counts[old_vars:], state.rng)
            for name, val in fresh.items():
                if name in _ROW_PARAMS:
                    state.params[name] = np.concatenate([state.params[name], val])
                    state.velocity[name] = np.concatenate(
                        [state.velocity[name], np.zeros_like(val)]
                    )
                    for moments in (state.adam.get("m", {}), state.adam.get("v", {})):
                        if name in moments:
                            moments[name] = np.concatenate(
                                [moments[name], np.zeros_like(val)]
                            )
            state.lazy["last"] = np.concatenate(
                [state.lazy["last"], np.full(n_new, state.lazy["t"], np.int64)]
            )
        # --- merge ratings (new values override stored pairs)
        old = self._store
        old_case = old.case_of_entries()
        o_case, o_var, o_k = old_case, old.var.astype(np.int64), old.k.astype(np.int64)
        n_case, n_var = view._orient(ucode, icode)
        key_old = o_case * n_vars + o_var
        key_new = n_case.astype(np.int64) * n_vars + n_var
        keep = ~np.isin(key_old, key_new)
        store = _Ratings(
            np.concatenate([o_case[keep], n_case]),
            np.concatenate([o_var[keep], n_var]),
            np.concatenate([o_k[keep], k]),
            n_cases,
        )
        # --- one pass over the touched cases
        cases = np.unique(n_case)
        with training_errstate():
            if self.fine_tune_iter > 0:
                # a fine-tuned model continues its last phase: a CD pass
                # would pull it back towards the generative fit (MovieLens
                # 100K u1, a pass over 5% of the ratings: 0.9155 -> 0.9352
                # with CD, 0.9167 fine-tuning alone)
                self._start_fine_tune(state)
                settings = self._fine_tune_settings(1)
                step = self._make_fine_tune_step(state, store, n_vars, K, self.classes_)
                lr = settings.learning_rate
            else:
                settings = self._settings()
                step = self._make_step(state, store, n_vars, K)
                lr = continued_learning_rate(state, settings)
            T = settings.cd_steps_at(state.n_epochs)
            for s in range(0, len(cases), self.batch_size):
                step(cases[s : s + self.batch_size], lr, settings.momentum, T)
            self._flush(state)
        check_finite(
            state, lr, where="partial_fit pass", name=settings.learning_rate_name
        )
        state.n_epochs += 1
        # --- statistics for the fallback
        values = self.classes_[store.k.astype(np.int64)]
        c_all = store.case_of_entries()
        v_all = store.var.astype(np.int64)
        uc, ic = (c_all, v_all) if self._orientation == "user" else (v_all, c_all)
        out = self._fitted_attrs(
            state, store, users, items, self.classes_, uc, ic, values
        )
        return out

    # ================================================================ inference
    def _params(self):
        return self._state.params

    def _pair_codes(self, X):
        uid, iid, names = _check_pairs(X, allow_mixed=True)
        self._check_names(names)
        return self._users.codes(uid), self._items.codes(iid)

    def _proba_pairs(self, ucode, icode):
        K = len(self.classes_)
        out = np.empty((len(ucode), K))
        known = (ucode >= 0) & (icode >= 0)
        if np.any(known):
            case, var = self._orient(ucode[known], icode[known])
            out[known] = self._proba_codes(case, var)
        unk = ~known
        if np.any(unk):
            out[unk] = self._fallback_proba(ucode[unk], icode[unk])
        return out

    def _fallback_proba(self, ucode, icode):
        """Smoothed empirical rating distribution of the item, else of the
        user, else of all ratings."""
        dist = self._class_dists()
        out = np.empty((len(ucode), len(self.classes_)))
        out[:] = dist["global"]
        has_u = ucode >= 0
        out[has_u] = dist["user"][ucode[has_u]]
        has_i = icode >= 0
        out[has_i] = dist["item"][icode[has_i]]
        return out

    def _class_dists(self):
        cache = self._state.cache
        if "dists" not in cache:
            K = len(self.classes_)
            st = self._store
            case = st.case_of_entries()
            var = st.var.astype(np.int64)
            ucode, icode = (case, var) if self._orientation == "user" else (var, case)
            kk = st.k.astype(np.int64)
            glob = np.bincount(kk, minlength=K) + 1.0
            glob /= glob.sum()

            def per(code, n):
                c = np.zeros((n, K))
                np.add.at(c, (code, kk), 1)
                c += glob  # one pseudo-rating of the global distribution
                return c / c.sum(axis=1, keepdims=True)

            cache["dists"] = {
                "global": glob,
                "user": per(ucode, len(self._users.ids)),
                "item": per(icode, len(self._items.ids)),
            }
        return cache["dists"]

    def _fallback_mean(self, ucode, icode):
        out = np.full(len(ucode), self.global_mean_)
        has_u = ucode >= 0
        out[has_u] = self.user_means_[ucode[has_u]]
        has_i = icode >= 0
        out[has_i] = self.item_means_[icode[has_i]]
        return out

    def predict(self, X):
        """Predicted ratings of ``(user, item)`` pairs.

        Parameters
        ----------
        X : array-like of shape (n_pairs, 2) or DataFrame
            ``(user id, item id)`` pairs. Unknown ids get the fallback (see
            Notes of the class docstring); they never raise.

        Returns
        -------
        y_pred : ndarray of shape (n_pairs,)
            Expected rating, within ``[min(classes_), max(classes_)]``.
        """
        check_is_fitted(self)
        ucode, icode = self._pair_codes(X)
        known = (ucode >= 0) & (icode >= 0)
        out = self._fallback_mean(ucode, icode)
        if np.any(known):
            with single_blas_thread():
                proba = self._proba_pairs(ucode[known], icode[known])
            out[known] = _expected(proba, self.classes_)
        return np.clip(out, self.classes_[0], self.classes_[-1])

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R^2 of the predicted ratings.

        As :meth:`sklearn.base.RegressorMixin.score`, but at least two
        ratings are required (R^2 is undefined for one, and would be NaN).
        For RMSE use ``scoring="neg_root_mean_squared_error"`` in model
        selection.

        Parameters
        ----------
        X : array-like of shape (n_ratings, 2)
            (user, item) pairs.
        y : array-like of shape (n_ratings,)
            True ratings.
        sample_weight : array-like of shape (n_ratings,), default=None
            Sample weights.

        Returns
        -------
        score : float
            R^2 of ``self.predict(X)`` with respect to ``y``.
        """
        n = len(y) if hasattr(y, "__len__") else 0
        if n < 2:
            raise ValueError(
                f"score needs at least 2 ratings (R^2 is undefined for {n}); "
                "got y of length {n}.".format(n=n)
            )
        y = _check_ratings(y, n)
        pred = self.predict(X)
        # R^2 is scale-free: on y / max|y| its sums of squares cannot
        # overflow (they would for ratings above ~1e154)
        scale = max(float(np.max(np.abs(y))), np.finfo(float).tiny)
        return r2_score(y / scale, pred / scale, sample_weight=sample_weight)

    def predict_proba(self, X):
        """Distribution of the rating of each pair over ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_pairs, 2) or DataFrame
            ``(user id, item id)`` pairs.

        Returns
        -------
        proba : ndarray of shape (n_pairs, n_classes)
            ``p(rating = classes_[k])``; rows sum to one.
        """
        check_is_fitted(self)
        ucode, icode = self._pair_codes(X)
        with single_blas_thread():
            return self._proba_pairs(ucode, icode)

    def transform(self, X):
        """Hidden representation ``p(h = 1 | ratings)`` of cases.

        Parameters
        ----------
        X : array-like of shape (n,) or (n, 2)
            Case ids: user ids for ``orientation="user"``, item ids for
            ``orientation="item"``; with two columns, ``(user, item)`` pairs
            whose case column is used. Unknown cases get the representation
            of an empty history, ``sigmoid(c)``.

        Returns
        -------
        H : ndarray of shape (n, n_components)
            Hidden activation probabilities, from each case's training ratings.
        """
        check_is_fitted(self)
        arr = X if hasattr(X, "iloc") else _as_array(X)
        if getattr(arr, "ndim", 1) == 2 and arr.shape[1] == 2:
            ucode, icode = self._pair_codes(arr)
            case, _ = self._orient(ucode, icode)
        else:
            arr = np.asarray(arr)
            if arr.ndim != 1:
                raise ValueError(
                    f"X must be 1-d case ids or (n, 2) pairs; got shape {arr.shape}."
                )
            if len(arr) == 0:
                raise ValueError("X is empty (0 samples).")
            idx = self._users if self._orientation == "user" else self._items
            case = idx.codes(_as_id_column(arr, "case", allow_mixed=True))
        return self._case_hidden(case)

    def _case_hidden(self, case):
        p = self._params()
        out = np.empty((len(case), p["c"].shape[0]), dtype=p["c"].dtype)
        known = case >= 0
        out[known] = expit(self._case_field(case[known]))
        out[~known] = expit(p["c"])
        return out

    def _field_cacheable(self):
        return self._n_cases * self._params()["c"].shape[0] <= _FIELD_CACHE_MAX

    def _case_field(self, case):
        """Hidden fields ``c + sum of W (+ D)`` of known cases from their
        stored ratings.

        Cached per case while the model is unchanged (``partial_fit`` starts
        from an empty cache, and caches are not saved), unless the block of
        all cases' fields would exceed :data:`_FIELD_CACHE_MAX` values.
        Computed for at most 4096 new cases at a time.
        """
        p = self._params()
        K = len(self.classes_)
        cached = self._field_cacheable()
        if cached:
            cache = self._state.cache
            if "case_field" not in cache:
                n, H = self._n_cases, p["c"].shape[0]
                cache["case_field"] = (
                    np.empty((n, H), p["c"].dtype),
                    np.zeros(n, bool),
                )
            F, done = cache["case_field"]
            todo = np.unique(case[~done[case]])
        else:
            todo, inv = np.unique(case, return_inverse=True)
            F = np.empty((len(todo), p["c"].shape[0]), p["c"].dtype)
        for s in range(0, len(todo), 4096):
            cs = todo[s : s + 4096]
            rows = cs if cached else np.arange(s, s + len(cs))
            F[rows] = _sparse.hidden_field(self._store.batch(cs, self._n_vars, K), p)
        if cached:
            done[todo] = True
            return F[case]
        return F[inv]

    def _proba_codes(self, case, var):
        """``p(v_var = k | case's stored ratings)`` for known code pairs, by
        the model's ``prediction`` (and ``transductive``) setting."""
        p = self._params()
        K = len(self.classes_)
        exact = self.prediction == "exact"
        if self.transductive and "D" in p:  # fields depend on the queries
            return _predict_proba_codes(
                p,
                self._store,
                case,
                var,
                self._n_vars,
                K,
                exact=exact,
                transductive=True,
            )
        uc, inv = np.unique(case, return_inverse=True)
        return _proba_from_fields(var, inv, self._case_field(uc), p, exact)

    # ------------------------------------------------------------ recommend
    def recommend(self, users, n_items=10, *, exclude_seen=True, chunk_size=256):
        """Top-``n_items`` items for each user by predicted rating.

        Parameters
        ----------
        users : array-like of shape (n_users,)
            User ids. Unknown users get the items with the highest mean
            training rating (shrunk towards the global mean).
        n_items : int, default=10
            Number of items per user (at most the number of known items).
        exclude_seen : bool, default=True
            Leave out the items the user rated in training.
        chunk_size : int, default=256
            Users scored at a time (memory is ``chunk_size x n_items x K``).

        Returns
        -------
        item_ids : ndarray of shape (n_users, n_items)
            Recommended item ids, best first (when a user has rated almost
            every item and ``exclude_seen`` is set, the list is padded with
            seen items scored ``-inf``).
        scores : ndarray of shape (n_users, n_items)
            Their predicted ratings.
        """
        check_is_fitted(self)
        users = _as_array(users)
        if users.ndim != 1:
            raise ValueError(f"users must be 1-dimensional; got shape {users.shape}.")
        if not isinstance(n_items, Integral) or n_items < 1:
            raise ValueError(f"n_items must be a positive integer; got {n_items!r}.")
        if (
            not isinstance(chunk_size, Integral)
            or isinstance(chunk_size, bool)
            or chunk_size < 1
        ):
            raise ValueError(
                f"chunk_size must be a positive integer; got {chunk_size!r}."
            )
        chunk_size = int(chunk_size)
        n_items = min(int(n_items), len(self._items.ids))
        if len(users):
            ucode = self._users.codes(_as_id_column(users, "user", allow_mixed=True))
        else:
            ucode = np.zeros(0, np.int64)
        top_all = np.zeros((len(ucode), n_items), dtype=np.int64)
        score_all = np.zeros((len(ucode), n_items))
        seen = self._user_item_matrix() if exclude_seen else None
        with single_blas_thread():
            for s in range(0, len(ucode), chunk_size):
                uc = ucode[s : s + chunk_size]
                S = self._score_matrix(uc)
                if seen is not None:
                    known = np.flatnonzero(uc >= 0)
                    sub = seen[uc[known]]
                    r = np.repeat(known, np.diff(sub.indptr))
                    S[r, sub.indices] = -np.inf
                top = np.argpartition(S, -n_items, axis=1)[:, -n_items:]
                vals = np.take_along_axis(S, top, axis=1)
                order = np.argsort(-vals, axis=1, kind="stable")
                top_all[s : s + chunk_size] = np.take_along_axis(top, order, axis=1)
                score_all[s : s + chunk_size] = np.take_along_axis(vals, order, axis=1)
        return self._items.ids[top_all], score_all

    def _user_item_matrix(self):
        """CSR users x items indicator of the training ratings (cached)."""
        cache = self._state.cache
        if "user_item" not in cache:
            st = self._store
            m = sp.csr_matrix(
                (np.ones(len(st.var), np.int8), st.var, st.ptr),
                shape=(st.n_cases, self._n_vars),
            )
            cache["user_item"] = m if self._orientation == "user" else m.T.tocsr()
        return cache["user_item"]

    def _score_matrix(self, ucode):
        """Predicted ratings ``(n_users, n_items)`` for the known items.

        The values :meth:`predict` gives for these pairs (the conditional
        RBM's transductive queries aside). With the mean-field prediction the
        logits of a chunk of users are one GEMM (:meth:`_mean_field_logits`);
        ``prediction="exact"`` sums out the hidden units for every pair,
        which costs ``n_items x K x n_components`` softplus terms per user.
        """
        ni = len(self._items.ids)
        S = np.empty((len(ucode), ni))
        known = ucode >= 0
        S[~known] = (self._item_sum + 5 * self.global_mean_) / (self._item_cnt + 5)
        if not np.any(known):
            return S
        uk = ucode[known]
        vals = self.classes_.astype(np.float64)
        K = len(vals)
        if self.prediction == "exact":
            case, var = self._orient(np.repeat(uk, ni), np.tile(np.arange(ni), len(uk)))
            prob = self._proba_codes(case, var)
            S[known] = (prob @ vals).reshape(len(uk), ni)
            return S
        L = self._mean_field_logits(uk)  # (n_users, K, n_items)
        L -= L.max(axis=1, keepdims=True)
        np.exp(L, out=L)
        # sums over K by batched products, in L's dtype (no float64 copies),
        # of the values relative to the lowest one: float32 then keeps the
        # resolution of the scale's span, not of its offset (ratings 1e6 + k)
        rel = vals - vals[0]
        dt = L.dtype if rel[-1] < 1e30 else np.float64
        num = np.matmul(rel.astype(dt), L)
        num /= np.matmul(np.ones(K, dt), L)
        S[known] = num
        S[known] += vals[0]
        return S

    def _mean_field_logits(self, uk):
        """``log p(v_ui = k | p(h | V))`` up to a constant, as ``(n, K, n_items)``.

        One GEMM for the chunk of users ``uk``. User orientation: items are
        the visible variables, so the logits are ``p(h | user) . W[i, k] +
        b[i, k]`` against a cached ``(K * n_items, H)`` copy of the weights.
        Item orientation: each item's hidden probabilities (cached) meet the
        users' own weights, ``W[u, k] . p(h | item) + b[u, k]``.
        """
        p = self._params()
        K = len(self.classes_)
        cache = self._state.cache
        # the biases ride in the GEMM: a column of ones meets a column of b
        if self._orientation == "user":
            if "item_weights" not in cache:
                W3 = _sparse.weights3(p)  # (n_vars, K, H)
                Wb = np.concatenate([W3, p["b"][:, :, None]], axis=2)
                cache["item_weights"] = np.ascontiguousarray(
                    Wb.transpose(1, 0, 2)
                ).reshape(-1, Wb.shape[2])  # (K * n_items, H + 1)
            Wt = cache["item_weights"]
            ph = _with_ones(self._case_hidden(uk))  # (n, H + 1)
            return (ph @ Wt.T).reshape(len(uk), K, -1)
        if "item_hidden" not in cache:
            ph = self._case_hidden(np.arange(len(self._items.ids)))
            cache["item_hidden"] = _with_ones(ph)  # (n_items, H + 1)
        ph_items = cache["item_hidden"]
        Wu = p["A"][uk] @ p["B"] if "A" in p else p["W3"][uk]  # (n, K, H)
        Wu = np.concatenate([Wu, p["b"][uk][:, :, None]], axis=2)
        L = Wu.reshape(len(uk) * K, -1) @ ph_items.T
        return L.reshape(len(uk), K, -1)

    # ------------------------------------------------------------------ fold-in
    def predict_new_user(
        self, history_items, history_ratings, query_items, *, alpha="auto"
    ):
        """Predict ratings of a user unseen in fit from a rating history,
        without refitting (fold-in).

        With ``orientation="user"`` the user is a new case: the hidden
        probabilities are computed from the history and the queries are
        predicted exactly as :meth:`predict` does for a training user (a
        training user's own history reproduces ``predict``). With
        ``orientation="item"`` the user is a new visible variable: its
        softmax weights and biases are fitted to the history by L2-penalised
        maximum conditional likelihood ``p(v_u,i | p(h | item i))`` with the
        model's item representations held fixed (a multinomial logistic
        regression), then the queries are predicted from them. This keeps the
        items' hidden representations as they were, so it is less accurate
        than refitting with the history, which the user orientation's
        fold-in matches (``benchmarks/README.md``, "Serving").

        Parameters
        ----------
        history_items : array-like of shape (n_history,)
            Item ids the user rated (unknown items are ignored).
        history_ratings : array-like of shape (n_history,)
            Their ratings, values among ``classes_``.
        query_items : array-like of shape (n_queries,)
            Items to predict. Unknown items get the global mean.
        alpha : float or "auto", default="auto"
            ``orientation="item"`` only: L2 penalty pulling the new user's
            weights towards the average user's, in units of one rating's
            log-loss (``alpha / 10`` on their biases). ``"auto"`` is
            ``n_components / 10``, which keeps the prior variance of the
            new user's logits independent of the number of hidden units.
            Chosen on validation users of the MovieLens 100K and 1M training
            data (``benchmarks/README.md``, "Serving").

        Returns
        -------
        y_pred : ndarray of shape (n_queries,)
            Predicted ratings.
        """
        check_is_fitted(self)
        if isinstance(alpha, str) and alpha == "auto":
            alpha = self._params()["c"].shape[0] / 10
        elif not isinstance(alpha, Real) or not 0 < alpha < np.inf:
            raise ValueError(
                f'alpha must be "auto" or a positive finite number; got {alpha!r}.'
            )
        hist = _as_array(history_items)
        q = _as_array(query_items)
        if hist.ndim != 1 or q.ndim != 1:
            raise ValueError("history_items and query_items must be 1-dimensional.")
        ratings = _check_ratings(history_ratings, len(hist))
        K = len(self.classes_)
        k = np.minimum(np.searchsorted(self.classes_, ratings), K - 1)
        if len(hist) and np.any(self.classes_[k] != ratings):
            raise ValueError(
                f"history_ratings must take values among classes_="
                f"{self.classes_.tolist()}."
            )
        hcode = (
            self._items.codes(_as_id_column(hist, "item", allow_mixed=True))
            if len(hist)
            else (np.zeros(0, np.int64))
        )
        if len(hcode) and len(np.unique(hcode[hcode >= 0])) != int(np.sum(hcode >= 0)):
            raise ValueError("history_items contains duplicate items.")
        qcode = (
            self._items.codes(_as_id_column(q, "item", allow_mixed=True))
            if len(q)
            else (np.zeros(0, np.int64))
        )
        ok = hcode >= 0
        hcode, k = hcode[ok], k[ok]
        out = np.full(len(q), self.global_mean_)
        qk = qcode >= 0
        if not np.any(qk):
            return out
        p = self._params()
        with single_blas_thread():
            if self._orientation == "user":
                batch = _sparse.Batch(
                    np.zeros(len(hcode), np.int64), hcode, k, 1, self._n_vars, K
                )
                if self.prediction == "exact":
                    u = _sparse.hidden_field(batch, p)
                    logits = _sparse.exact_log_scores(
                        qcode[qk], np.zeros(int(qk.sum()), np.int64), u, p
                    )
                else:
                    ph = _sparse.hidden_proba(batch, p)
                    logits = _sparse.visible_logits(
                        qcode[qk], np.zeros(int(qk.sum()), np.int64), ph, p
                    )
                prob = _sparse.softmax_rows(logits.astype(np.float64))
            else:
                prob = self._fold_in_variable(hcode, k, qcode[qk], float(alpha))
        out[qk] = _expected(prob, self.classes_)
        return np.clip(out, self.classes_[0], self.classes_[-1])

    def _fold_in_variable(self, items, k, query, alpha):
        """Multinomial logistic regression of a new visible variable on the
        (fixed) hidden representations of the cases it observed."""
        p = self._params()
        K = len(self.classes_)
        H = p["c"].shape[0]
        b0 = np.asarray(p["b"], dtype=np.float64).mean(axis=0)
        # the prior is the average trained user: with no history, or a
        # strong penalty, the new user predicts as the average user does
        W0 = _sparse.weights3(p).mean(axis=0, dtype=np.float64)
        Hq = self._case_hidden(query).astype(np.float64)
        if len(items) == 0:
            return _sparse.softmax_rows(Hq @ W0.T + b0)
        Hh = self._case_hidden(items).astype(np.float64)
        Y = np.zeros((len(items), K))
        Y[np.arange(len(items)), k] = 1.0
        lam = alpha  # L2 on the new weights, in units of one rating's log-loss
        lam_b = 0.1 * alpha

        def loss(theta):
            Wn = theta[: K * H].reshape(K, H)
            bn = theta[K * H :]
            logits = Hh @ Wn.T + bn
            lp = log_softmax(logits, axis=1)
            f = -np.sum(Y * lp) + 0.5 * lam * np.sum((Wn - W0) ** 2)
            f += 0.5 * lam_b * np.sum((bn - b0) ** 2)
            G = np.exp(lp) - Y
            gW = G.T @ Hh + lam * (Wn - W0)
            gb = G.sum(axis=0) + lam_b * (bn - b0)
            return f, np.concatenate([gW.ravel(), gb])

        theta0 = np.concatenate([W0.ravel(), b0])
        res = minimize(
            loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 200}
        )
        Wn = res.x[: K * H].reshape(K, H)
        bn = res.x[K * H :]
        return _sparse.softmax_rows(Hq @ Wn.T + bn)

    # ------------------------------------------------------------------ misc
    def free_energy(self, X=None):
        """Free energy of each training case's observed ratings.

        Parameters
        ----------
        X : array-like of shape (n,), default=None
            Case ids (users or items, by orientation); None for all cases.

        Returns
        -------
        F : ndarray of shape (n,)
            ``F(V) = -sum b[j, v_j] - sum_h softplus(c_h + sum_j W[j, v_j, h])``
            over the observed entries of each case.
        """
        check_is_fitted(self)
        if X is None:
            case = np.arange(self._n_cases)
        else:
            idx = self._users if self._orientation == "user" else self._items
            ids = _as_id_column(_as_array(X).ravel(), "case", allow_mixed=True)
            case = idx.codes(ids)
            if np.any(case < 0):
                raise ValueError("free_energy needs case ids seen in fit.")
        batch = self._store.batch(case, self._n_vars, len(self.classes_))
        p = dict(self._params())
        if "A" in p:
            p = {n: v for n, v in p.items() if n not in ("A", "B")}
            p["W3"] = _sparse.weights3(self._params())
        return _sparse.free_energy(batch, p)

    @property
    def components_(self):
        check_is_fitted(self, "_state")
        return _sparse.weights3(self._params())

    @property
    def intercept_visible_(self):
        check_is_fitted(self, "_state")
        return self._params()["b"]

    @property
    def intercept_hidden_(self):
        check_is_fitted(self, "_state")
        return self._params()["c"]

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_state")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.sparse = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.target_tags.required = False
        # transform() gives hidden representations of cases (ids in, features
        # out); it is not a feature transformer of X
        tags.transformer_tags = TransformerTags(preserves_dtype=[])
        return tags


# ===================================================================== helpers
class _View:
    """Orientation helpers before the model's id tables are set."""

    def __init__(self, orientation, users, items):
        self._orientation = orientation
        self._users, self._items = users, items

    _orient = CategoricalRBMRecommender._orient
    _n_cases = CategoricalRBMRecommender._n_cases
    _n_vars = CategoricalRBMRecommender._n_vars


def _new_ids(index, ids):
    codes = index.codes(ids)
    return np.unique(ids[codes < 0])


def _check_duplicates(ucode, icode, n_items, uid, iid):
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


def _finish_means(out):
    g = out["global_mean_"]
    with np.errstate(invalid="ignore", divide="ignore"):
        um = np.where(out["_user_cnt"] > 0, out["_user_sum"] / out["_user_cnt"], g)
        im = np.where(out["_item_cnt"] > 0, out["_item_sum"] / out["_item_cnt"], g)
    out["user_means_"] = um
    out["item_means_"] = im


def _expected(proba, classes):
    return proba @ classes


def _rmse(pred, y):
    """Root mean squared error that cannot overflow (huge rating values)."""
    with np.errstate(over="ignore", invalid="ignore"):
        err = np.asarray(pred, dtype=np.float64) - y
    top = float(np.max(np.abs(err))) if len(err) else 0.0
    if top == 0.0 or not np.isfinite(top):
        return top
    return top * float(np.sqrt(np.mean((err / top) ** 2)))


def _with_ones(a):
    """``[a, 1]``: a column of ones appended (a bias term for a GEMM)."""
    out = np.empty((a.shape[0], a.shape[1] + 1), dtype=a.dtype)
    out[:, :-1] = a
    out[:, -1] = 1.0
    return out


def _predict_proba_codes(
    p, store, case, var, n_vars, K, *, exact=False, transductive=False, chunk=4096
):
    """``p(v_var = k | case's stored ratings)`` for many (case, var) pairs.

    Cases are processed in groups of up to ``chunk`` distinct cases.
    """
    out = np.empty((len(case), K))
    uc, inv = np.unique(case, return_inverse=True)
    for s in range(0, len(uc), chunk):
        cs = uc[s : s + chunk]
        sel = np.flatnonzero((inv >= s) & (inv < s + chunk))
        rows = inv[sel] - s
        batch = store.batch(cs, n_vars, K)
        extra = None
        if transductive and "D" in p:
            extra = sp.csr_matrix(
                (np.ones(len(sel), dtype=p["c"].dtype), (rows, var[sel])),
                shape=(len(cs), n_vars),
            )
        u = _sparse.hidden_field(batch, p, extra)
        out[sel] = _proba_from_fields(var[sel], rows, u, p, exact)
    return out


def _proba_from_fields(var, rows, u, p, exact):
    """``p(v_var = k | hidden fields u[rows])``: hidden units summed out
    (``exact``) or through their mean-field probabilities."""
    if exact:
        logits = _sparse.exact_log_scores(var, rows, u, p)
    else:
        logits = _sparse.visible_logits(var, rows, expit(u), p)
    return _sparse.softmax_rows(logits.astype(np.float64))
