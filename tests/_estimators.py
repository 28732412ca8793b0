"""Registry of the public estimators for the cross-cutting tests.

``tests/test_distributed.py``, ``tests/test_persistence.py`` and
``tests/test_hostile.py`` are parametrised over :data:`SPECS`, one entry per
estimator class exported in ``sklearn_rbm.__all__``. Each entry gives a small,
fast constructor and a data generator; the tests of an entry whose class is
not (yet) in ``sklearn_rbm`` are skipped, and :func:`test_registry_covers_all`
fails when a public estimator has no entry.

"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from sklearn.base import BaseEstimator

import sklearn_rbm
import sklearn_rbm.recommender.trainer
import sklearn_rbm.training.cd
from sklearn_rbm.datasets import make_ratings

#: why scikit-learn's check_sample_weight_equivalence_on_dense_data fails for
#: the dense RBMs at their defaults (expected failure of the estimator checks)
STOCHASTIC_SAMPLE_WEIGHTS = (
    "the check shuffles the weighted rows, and shuffled minibatches of rows in "
    "another order are another random draw: weighted and repeated rows are "
    "equivalent in distribution, and to rounding for rows in the same order "
    "(tests/test_sample_weight.py, which also passes this check with one "
    "minibatch of all rows)"
)


@dataclass
class Spec:
    """How the cross-cutting tests drive one estimator class.

    Attributes
    ----------
    name : str
        Class name in ``sklearn_rbm``.
    make : callable(**overrides) -> estimator, or None
        A small, fast, seeded instance (overrides go to the constructor).
    data : callable(seed) -> (X, y), or None
        A small valid training set; ``y`` is None for unsupervised models.
    output : callable(estimator, X) -> ndarray
        A deterministic output of a fitted model to compare bit for bit.
    param_grid : dict
        A tiny GridSearchCV grid (2 or more candidates).
    chunk_kwargs : dict
        Constructor overrides under which ``partial_fit`` over consecutive
        chunks is a well-defined incremental fit (for ``Incremental``).
    methods : dict
        Public method name -> kind of its first argument, for the hostile
        input suite: ``"X"`` (data like the training X), ``"H"`` (hidden
        states), ``"int"`` (a count), ``"none"`` (no required argument).
    fit_kinds : tuple
        Which of ``"fit"`` / ``"partial_fit"`` the estimator has.
    incremental : bool
        Test ``dask_ml.wrappers.Incremental`` on chunks of ``X`` (rows).
    """

    name: str
    make: Callable | None
    data: Callable | None
    output: Callable | None = None
    param_grid: dict = field(default_factory=dict)
    chunk_kwargs: dict = field(default_factory=dict)
    methods: dict = field(default_factory=dict)
    fit_kinds: tuple = ("fit", "partial_fit")
    incremental: bool = True
    #: (module, function name) called once per minibatch update, monkeypatched
    #: by the interruption test to raise mid-training
    update_fn: tuple = (sklearn_rbm.training.cd.DenseCD, "update")
    #: callable(spec, n_features) -> (X, y) with 256 rows and n_features
    #: columns, for the BLAS-threads determinism test
    big_data: Callable | None = None

    @property
    def cls(self):
        return getattr(sklearn_rbm, self.name, None)

    def skip_if_missing(self):
        if self.cls is None or self.make is None:
            pytest.skip(f"{self.name} not in sklearn_rbm (yet) or no registry entry")


# ------------------------------------------------------------ BernoulliRBM
def _binary_data(seed, n=64, d=10):
    """Binary data with structure: two noisy prototypes."""
    rng = np.random.default_rng(seed)
    protos = rng.random((2, d)) < 0.5
    rows = protos[rng.integers(0, 2, n)]
    flip = rng.random((n, d)) < 0.1
    return (rows ^ flip).astype(np.float64), None


def _make_bernoulli(**kw):
    params = dict(n_components=4, max_iter=3, batch_size=16, random_state=0)
    params.update(kw)
    return sklearn_rbm.BernoulliRBM(**params)


BERNOULLI = Spec(
    name="BernoulliRBM",
    make=_make_bernoulli,
    data=_binary_data,
    output=lambda est, X: est.transform(X),
    param_grid={"n_components": [2, 4], "learning_rate": [0.01, 0.05]},
    big_data=lambda spec, d: _binary_data(0, n=256, d=d),
    chunk_kwargs=dict(
        visible_bias_init="zeros",
        momentum_schedule="constant",
        learning_rate_schedule="constant",
        shuffle=False,
    ),
    methods={
        "fit": "X",
        "partial_fit": "X",
        "fit_transform": "X",
        "transform": "X",
        "inverse_transform": "H",
        "free_energy": "X",
        "score_samples": "X",
        "score_samples_raise": "X",
        "score": "X",
        "pseudo_likelihood": "X",
        "gibbs": "X",
        "sample": "int",
        "log_partition": "none",
        "get_feature_names_out": "none",
    },
)


# ------------------------------------------------------ GaussianBernoulliRBM
# Filled in and run against main's GaussianBernoulliRBM (gauss merge b13b017)
# in a scratch copy of the merged tree: persistence and Dask suites pass, the
# hostile suite passes except two hyperparameter cases to fix in the Gaussian
# code (see the report): batch_size=10**6 -> MemoryError in DenseCD.update's
# max_grad_norm Gram trick ((n + n_chains)^2 matrix), and learning_rate=1e100
# -> log_var ~1e98 (finite, below the divergence limit) whose exp overflows.
# LEAD: check after the merge.
def _real_data(seed, n=64, d=6):
    """Real-valued data: two Gaussian blobs, roughly standardised."""
    rng = np.random.default_rng(seed)
    centres = 2.0 * np.random.default_rng(1234).standard_normal((2, d))
    return centres[rng.integers(0, 2, n)] + rng.standard_normal((n, d)), None


def _make_gaussian(**kw):
    params = dict(n_components=4, max_iter=3, batch_size=16, random_state=0)
    params.update(kw)
    return sklearn_rbm.GaussianBernoulliRBM(**params)


GAUSSIAN = Spec(
    name="GaussianBernoulliRBM",
    make=_make_gaussian,
    data=_real_data,
    output=lambda est, X: est.transform(X),
    param_grid={"n_components": [2, 4], "learning_rate": [0.005, 0.01]},
    big_data=lambda spec, d: _real_data(0, n=256, d=d),
    chunk_kwargs=dict(BERNOULLI.chunk_kwargs),
    methods={k: v for k, v in BERNOULLI.methods.items() if k != "pseudo_likelihood"},
)


# -------------------------------------------------- CategoricalRBMRecommender
def _ratings_data(seed, n_users=40, n_items=20):
    """Ratings 1..5 with planted structure, as (user, item) pairs and y."""
    X, y = make_ratings(n_users, n_items, density=0.3, random_state=seed)
    return X, y


def _make_recommender(**kw):
    # batch_size=4: 5 updates per pass over the 20 item cases, so that the
    # interruption test's fault on the 3rd update fires inside partial_fit;
    # no fine-tuning, so that partial_fit's pass is a CD pass (cd_statistics)
    params = dict(
        n_components=8, max_iter=3, batch_size=4, fine_tune_iter=0, random_state=0
    )
    params.update(kw)
    return sklearn_rbm.CategoricalRBMRecommender(**params)


RECOMMENDER = Spec(
    name="CategoricalRBMRecommender",
    make=_make_recommender,
    data=_ratings_data,
    output=lambda est, X: est.predict(X),
    param_grid={"n_components": [4, 8]},
    # partial_fit takes new ratings of (possibly new) users and items; a
    # chunk of rows is not a chunk of cases, so Incremental does not apply
    incremental=False,
    update_fn=(sklearn_rbm.recommender.trainer, "cd_statistics"),
    methods={
        "fit": "X",
        "partial_fit": "X",
        "predict": "X",
        "predict_proba": "X",
        "score": "X",
        "transform": "X",
        # 1-d ids: users for recommend, cases (items: the default
        # orientation) for free_energy
        "recommend": "user_ids",
        "free_energy": "case_ids",
    },
)

SPECS = [BERNOULLI, GAUSSIAN, RECOMMENDER]
SPEC_IDS = [s.name for s in SPECS]


def public_estimator_names():
    """Names in ``sklearn_rbm.__all__`` that are scikit-learn estimators."""
    out = []
    for name in sklearn_rbm.__all__:
        obj = getattr(sklearn_rbm, name, None)
        if isinstance(obj, type) and issubclass(obj, BaseEstimator):
            out.append(name)
    return out


def fit_spec(spec, seed=0, **kw):
    """A fitted small instance of ``spec`` and its training data."""
    X, y = spec.data(seed)
    est = spec.make(**kw)
    return est.fit(X, y), X, y


def fitted_params(est):
    """The fitted public arrays of an estimator (attributes ending in ``_``)."""
    out = {}
    for k, v in vars(est).items():
        if k.endswith("_") and not k.startswith("_") and isinstance(v, np.ndarray):
            out[k] = v
    return out
