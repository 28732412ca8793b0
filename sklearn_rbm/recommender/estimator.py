"""CategoricalRBMRecommender: the RBM for collaborative filtering.

Salakhutdinov, Mnih & Hinton (2007), "Restricted Boltzmann Machines for
Collaborative Filtering", as a scikit-learn regressor on ``(user, item)``
pairs, with the item-based variant (I-RBM) of Sedhain et al. (2015), the
conditional RBM and the factored RBM. The class holds the parameters and the
structure of the fitted model; the work is done by the parts of this
subpackage: ``ids.py`` (id tables), ``store.py`` (ratings, orientation),
``trainer.py`` (fit, partial_fit), ``serving.py`` (predict, transform),
``recommend.py`` (top-N), ``fold_in.py`` (new users), ``fallback.py``
(unknown ids), on the engine's sparse categorical kernels.
"""

from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import TransformerTags
from sklearn.utils.validation import check_is_fitted

from ..engine.sparse_categorical import weights3
from ..estimators._common import VersionedStateMixin
from .both import BothMixin
from .checks import check_recommender
from .feedback import FeedbackMixin
from .fitting import TrainingMixin
from .fold_in import FoldInMixin
from .ids import check_feature_names
from .params import PARAMETER_CONSTRAINTS, SAVED_BEFORE
from .recommend import RecommendMixin
from .serving import ServingMixin
from .similar import SimilarItemsMixin
from .store import Orientation
from .trainer import STRUCTURAL, structural


class CategoricalRBMRecommender(
    BothMixin,
    VersionedStateMixin,
    TrainingMixin,
    FeedbackMixin,
    ServingMixin,
    RecommendMixin,
    SimilarItemsMixin,
    FoldInMixin,
    RegressorMixin,
    BaseEstimator,
):
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
    n_components : int or "auto", default="auto"
        Number of binary hidden units. ``"auto"``: 100 at 80,000 training
        ratings, 150 at 900,000, a power law of the number of ratings in
        between and beyond (at least 10; see "Defaults" in the Notes).
    orientation : {"item", "user", "both"}, default="item"
        ``"user"``: one case per user, visible units are items (the original
        U-RBM). ``"item"``: one case per item, visible units are users (the
        I-RBM of Sedhain et al. 2015, much stronger on MovieLens).
        ``"both"``: an item-based and a user-based model (``estimators_``),
        fitted in parallel with ``n_jobs``, each with its own ``"auto"``
        values; predictions are their average weighted by ``item_weight``,
        ``predict_proba`` the same mixture. ``transform``, ``free_energy``
        and the weight attributes belong to one model and raise a ValueError.
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
    learning_rate : float, default=0.2
        Step size of the momentum gradient ascent (gradients are averaged
        over the cases of a minibatch).
    batch_size : int or "auto", default="auto"
        Cases per minibatch. ``"auto"``: 100 at 80,000 training ratings, 200
        at 900,000 (a power law of the number of ratings), and at most
        ``ceil(n_cases / 16)`` so that an epoch has about 16 updates or more.
    max_iter : int, default=10
        Maximum number of epochs of CD.
    cd_steps : int or sequence of (first_epoch, T) pairs, default=1
        Gibbs steps T of CD-T; a schedule such as ``((0, 1), (10, 3), (15,
        5), (18, 9))`` raises T from the given epochs on (Salakhutdinov et
        al. 2007 raise T from 1 to 3, 5 and 9 as learning progresses); the
        first epochs must increase, and T is 1 before the first of them. An
        epoch of CD-T costs about ``(1 + T) / 2`` epochs of CD-1.
    momentum : float, default=0.9
        Momentum (0.5 for the first 5 epochs with ``momentum_schedule="warmup"``).
    momentum_schedule : {"warmup", "constant"}, default="warmup"
        Momentum schedule.
    weight_decay : float or "auto", default="auto"
        L2 penalty on ``W`` (``A``, ``B``) and ``D``. ``"auto"``: 0.003 at
        80,000 training ratings, 0.001 at 900,000 (a power law, two
        significant digits).
    visible_bias_decay : float, default=0.03
        L2 penalty on the visible biases ``b`` (shrinks each variable's
        rating distribution towards uniform). It regularises the biases of
        variables with few ratings; 0.03 lowered the validation RMSE of both
        orientations on MovieLens (``benchmarks/README.md``).
    fine_tune_iter : int or "auto", default="auto"
        Epochs of discriminative fine-tuning after the ``max_iter`` epochs
        of CD (the pretraining): the mean-field predictor of :meth:`predict`
        is trained with Adam to minimise the squared error of the expected
        rating on the training ratings, every rating an input and a target,
        as in an autoencoder. With early stopping the best epoch of either
        phase is kept. 0 is the paper's generatively trained RBM.
        ``"auto"``: 10 with ``prediction="mean_field"`` (which it requires),
        0 with ``"exact"``. User guide, "Discriminative fine-tuning".
    fine_tune_learning_rate : float or "auto", default="auto"
        Adam step size of fine-tuning. ``"auto"``: 3e-3 at 80,000 training
        ratings, 1.5e-3 at 900,000 (a power law, two significant digits).
    fine_tune_alpha : float, default=25.0
        L2 penalty ``alpha / 2 ||W||^2`` of fine-tuning (on ``W``, ``A``,
        ``B`` and ``D``) against the *sum* of squared errors, in rating
        steps, over the training ratings (as AutoRec's lambda), so that one
        value suits data sets of different sizes and scales (about 25 was
        the validation optimum on MovieLens 100K and 1M).
    learning_rate_schedule : {"constant", "linear"}, default="linear"
        ``"linear"`` decays the learning rate to zero over ``max_iter`` epochs.
    negative_visible : {"sample", "mean_field"}, default="mean_field"
        Last visible state of the CD chain: a softmax sample (standard CD),
        or the softmax probabilities themselves (lower-variance gradients;
        an epoch costs more, as every rating value's probability enters the
        negative statistics instead of one sampled value).
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
        Patience of early stopping, in epochs. Epochs are counted from the
        first progress of each phase (an epoch whose validation RMSE beats
        the phase's first epoch by ``tol``): a model still on its initial
        plateau is not stopped.
    tol : float, default=1e-4
        Minimum RMSE improvement counted as progress.
    dtype : {"float32", "float64", np.float32, np.float64}, default="float32"
        Compute and storage dtype of the parameters (``np.float32`` and
        ``np.dtype("float32")`` mean ``"float32"``). float32 is about twice as
        fast; its rounding changes the sampled training path, so fits in the
        two dtypes with one seed are different models of similar accuracy.
    feedback : {"auto", "explicit", "implicit"}, default="auto"
        What ``fit`` receives: ``"explicit"`` ratings, or ``"implicit"``
        ``(user, item)`` pairs without ratings (plays, clicks; ``y=None``;
        a sparse matrix's values are ignored), for which only the ranking
        model is trained and the rating methods (:meth:`predict` and the
        like) raise a ValueError: rank with :meth:`recommend`. ``"auto"``:
        implicit for pairs with ``y=None``. The fitted mode is ``feedback_``.
    ranking : {"choice", "rating"}, default="choice"
        How :meth:`recommend` ranks. ``"choice"``: a second RBM, over which
        items each user rated, trained with a multinomial likelihood over
        the items the user liked (rated above the middle of the fitted
        scale, ``(classes_[0] + classes_[-1]) / 2``), so that the top of the
        list is what the user will choose and like (user guide, "How
        recommend ranks"). ``"rating"``: by predicted rating (no second
        model; much weaker top-N lists). :meth:`predict` is the rating
        model's either way.
    ranking_components : int, default=200
        Hidden units of the ranking model.
    ranking_iter : int, default=30
        Epochs of the ranking model.
    ranking_like_weight : float, default=2.0
        Explicit feedback with ``ranking="choice"``: :meth:`recommend`
        re-ranks the ranking model's 50 best items (or ``n_items``, if more)
        by their ranking score ``+ ranking_like_weight * log P(rating above
        the middle of the scale)`` from :meth:`predict_proba`. 0 ranks by the
        ranking model alone, as implicit feedback does. 2.0 was chosen on
        validation splits of the MovieLens 1M training data.
    ranking_lateral_l2 : float, "auto" or None, default="auto"
        With ``ranking="choice"``, the L2 penalty of a lateral item-item
        term ``w * (v A)_i`` added to the ranking score, ``A`` fitted in
        closed form over the 5,000 most chosen items: the EASE solution
        (Steck 2019) with ``w = 5`` for explicit feedback (``"auto"``: 1000),
        the denoising EDLAE solution (Steck 2020) with ``w = 20`` for
        implicit feedback (``"auto"``: 500), chosen on validation splits of
        MovieLens. None leaves the term out. It costs ``O(m^3)`` time and
        ``O(m^2)`` memory for ``m`` items (MovieLens 1M: about 3 s and 52
        MiB, which saved models carry). User guide, "How recommend ranks"
        (also for what :meth:`partial_fit` does with the weights).
    item_weight : float, default=0.65
        With ``orientation="both"``, the weight of the item-based model in
        the average (the user-based model gets ``1 - item_weight``); 0.6 to
        0.7 were within 0.0005 RMSE of each other on the validation splits
        of MovieLens 100K and 1M (``benchmarks/tune_blend.py``).
    n_jobs : int or None, default=None
        With ``orientation="both"``, the number of processes fitting the
        two models (joblib; ``None`` is 1, ``2`` fits both at once).
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
        Training-rating means used by the fallback for unknown ids (with
        implicit feedback every pair counts as a rating of 1, so all are 1:
        the model predicts no rating).
    n_iter_ : int
        Epochs run: those of CD plus those of fine-tuning
        (``fine_tune_iter``), so it can exceed ``max_iter``
        (``orientation="both"``: those of the item-based model).
    estimators_ : list of two CategoricalRBMRecommender
        Only with ``orientation="both"``: the fitted item-based and
        user-based models.
    validation_scores_ : list of float or None
        Negative validation RMSE per epoch (with early stopping; None with
        ``orientation="both"``, see ``estimators_``).
    best_validation_rmse_ : float or None
        RMSE on the held-out ratings of the kept epoch (None for "both").
    feedback_ : {"explicit", "implicit"}
        The kind of feedback the model was fitted on (``feedback``).
    n_features_in_ : int
        Always 2 (user id, item id).
    feature_names_in_ : ndarray of shape (2,)
        Column names of a DataFrame ``X`` with string column names, in the
        frame's order.

    Notes
    -----
    Defaults. The ``"auto"`` values depend on the number of training
    ratings (all of those given to ``fit``) through power laws that pass
    through the two settings chosen on validation splits of the MovieLens
    100K and 1M training data (``sklearn_rbm/recommender/defaults.py``):
    the defaults are those settings on those data sets (test RMSE 0.9071
    on 100K u1..u5, 0.8448 on 1M 90/10, ``benchmarks/README.md``, "Defaults
    (issue 15)").

    Ids are integers or strings, each column of one type; distinct ids stay
    distinct, or are refused with a ValueError (booleans, bytes, floats
    beyond the integers they hold exactly, strings over ``MAX_ID_LENGTH``
    characters...). The id columns of a DataFrame are read by name when
    named as user and item ids (``userId``, ``movieId``...), two columns
    with other names by position (one id name without the other is
    refused), and after fit they are checked as in scikit-learn. User
    guide, "Input formats".

    Unknown ids never raise at prediction time (a missing id, NaN, None or
    pandas' ``NA``, is not an id and is refused): a pair whose user or item
    was not seen in fit (including an id of the other type than the fitted
    ids, such as ``"7"`` against integer ids) is predicted by the fallback,
    each pair on its own: the item's mean
    training rating if the item is known, else the user's mean if the user
    is known, else the global mean (:meth:`predict_proba`: the matching
    empirical rating distribution plus one pseudo-rating drawn from the
    global distribution, so that no rating value gets probability 0; its
    mean is therefore shrunk slightly towards the global mean and is not
    exactly :meth:`predict`'s). A new user with a history can be scored
    without refitting with :meth:`predict_new_user`.

    The fitted model keeps the training ratings (grouped by case, about 5
    bytes per rating): a case's hidden representation is computed from them
    at prediction time.

    Cost. An epoch costs ``O(n_ratings x K x n_components)`` plus the
    weight updates (minibatches touch only the rows of ``W`` of their
    rated variables; momentum and weight decay of the other rows are applied
    lazily, in closed form); no array of size users x items is ever built.
    BLAS is limited to one thread during fit and prediction (the products
    are thin).

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
    """

    _SAVED_BEFORE = SAVED_BEFORE
    _parameter_constraints: dict = PARAMETER_CONSTRAINTS

    def __init__(
        self,
        n_components="auto",
        *,
        orientation="item",
        conditional=False,
        transductive=False,
        rank=None,
        learning_rate=0.2,
        batch_size="auto",
        max_iter=10,
        cd_steps=1,
        momentum=0.9,
        momentum_schedule="warmup",
        weight_decay="auto",
        visible_bias_decay=0.03,
        fine_tune_iter="auto",
        fine_tune_learning_rate="auto",
        fine_tune_alpha=25.0,
        learning_rate_schedule="linear",
        negative_visible="mean_field",
        prediction="mean_field",
        early_stopping=True,
        validation_fraction=0.05,
        n_iter_no_change=5,
        tol=1e-4,
        dtype="float32",
        feedback="auto",
        ranking="choice",
        ranking_components=200,
        ranking_iter=30,
        ranking_like_weight=2.0,
        ranking_lateral_l2="auto",
        item_weight=0.65,
        n_jobs=None,
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
        self.feedback = feedback
        self.ranking = ranking
        self.ranking_components = ranking_components
        self.ranking_iter = ranking_iter
        self.ranking_like_weight = ranking_like_weight
        self.ranking_lateral_l2 = ranking_lateral_l2
        self.item_weight = item_weight
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def _fit_structure(self):
        """The structural parameters the model was fitted with.

        ``set_params`` after fit changes the constructor parameters, not the
        fitted model: prediction code reads these instead.
        """
        fitted = self.__dict__.get("_structure")
        if fitted is None:  # a model pickled before they were recorded
            fitted = {name: structural(self, name) for name in STRUCTURAL}
        return fitted

    @property
    def _orientation(self):
        return self._fit_structure()["orientation"]

    @property
    def _view(self):
        return Orientation(self._orientation, self._users, self._items)

    def _orient(self, ucode, icode):
        """(case codes, variable codes) for the model's orientation."""
        return self._view.orient(ucode, icode)

    @property
    def _n_cases(self):
        return self._view.n_cases

    @property
    def _n_vars(self):
        return self._view.n_vars

    def _check_names(self, names):
        self.__dict__.pop("_names_checked", False) or check_feature_names(self, names)

    @property
    def components_(self):
        check_is_fitted(self)
        return weights3(self._params())

    @property
    def intercept_visible_(self):
        check_is_fitted(self)
        return self._params()["b"]

    @property
    def intercept_hidden_(self):
        check_is_fitted(self)
        return self._params()["c"]

    def _upgrade_state(self, old):
        """The state of a model saved by 0.1.0.dev0 (see ``_compat``)."""
        from .._compat import rating_state

        return rating_state(old)

    def _check_loaded_state(self):
        """Validate a loaded model before use (``recommender/checks.py``)."""
        check_recommender(self)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_state") or hasattr(self, "estimators_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.sparse = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.target_tags.required = False
        # transform() gives hidden representations of cases (ids in, features
        # out); it is not a feature transformer of X, but scikit-learn's
        # checks refuse an estimator with a transform and no transformer tags
        tags.transformer_tags = TransformerTags(preserves_dtype=[])
        return tags
