"""fit(X, sample_weight=...) of the dense RBMs: weights act as repeated rows."""

import numpy as np
import pytest
from sklearn.utils import estimator_checks

from sklearn_rbm import BernoulliRBM, GaussianBernoulliRBM

# one minibatch holding every row, persistent chains of a fixed number, no
# shuffling: the random draws do not depend on the number of rows, so a
# weighted fit and a fit on repeated rows run the same arithmetic
EXACT = dict(
    n_components=6,
    batch_size=1000,
    n_chains=10,
    shuffle=False,
    max_iter=5,
    learning_rate=0.05,
    random_state=0,
)


def _data(rng, n=40, d=9):
    return (rng.random((n, d)) < rng.random(d)).astype(np.float64)


@pytest.mark.parametrize("Est", [BernoulliRBM, GaussianBernoulliRBM])
def test_integer_weights_equal_repeated_rows(Est):
    rng = np.random.default_rng(0)
    X = _data(rng)
    w = rng.integers(0, 4, X.shape[0])
    kw = dict(EXACT)
    if Est is BernoulliRBM:
        # the smoothed base rates (s + 0.5) / (n + 1) depend on n itself
        kw["visible_bias_init"] = "zeros"
    weighted = Est(**kw).fit(X, sample_weight=w)
    repeated = Est(**kw).fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(weighted.components_, repeated.components_, atol=1e-10)
    np.testing.assert_allclose(
        weighted.intercept_visible_, repeated.intercept_visible_, atol=1e-10
    )
    # weights matter: the unweighted fit is different
    plain = Est(**kw).fit(X)
    assert not np.allclose(plain.components_, weighted.components_)


def test_zero_weights_equal_dropped_rows_and_scale_does_not_matter():
    rng = np.random.default_rng(1)
    X = _data(rng)
    w = np.where(np.arange(X.shape[0]) % 3 == 0, 0.0, 1.0)
    kw = dict(EXACT, visible_bias_init="zeros")
    a = BernoulliRBM(**kw).fit(X, sample_weight=w)
    b = BernoulliRBM(**kw).fit(X[w > 0])
    c = BernoulliRBM(**kw).fit(X, sample_weight=7.5 * w)
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-10)
    np.testing.assert_allclose(a.components_, c.components_, atol=1e-10)
    # default initialisation: the base rates are the weighted ones too
    d = BernoulliRBM(**dict(EXACT)).fit(X, sample_weight=w)
    e = BernoulliRBM(**dict(EXACT)).fit(X[w > 0])
    np.testing.assert_allclose(
        d._state.moments[1] / d._state.moments[0],
        e._state.moments[1] / e._state.moments[0],
    )


@pytest.mark.parametrize("Est", [BernoulliRBM, GaussianBernoulliRBM])
def test_zero_weight_rows_are_dropped_under_the_defaults(Est):
    # shuffled minibatches of the "auto" size, base-rate start: rows of
    # weight 0 make no minibatch and no base rate, so the fit is the fit on
    # the other rows (before, they were batched and smoothed the base rates)
    rng = np.random.default_rng(5)
    X = _data(rng, n=300)
    w = np.where(rng.random(300) < 0.5, 0.0, 1.0)
    kw = dict(n_components=4, max_iter=3, random_state=0)
    a = Est(**kw).fit(X, sample_weight=w)
    b = Est(**kw).fit(X[w > 0])
    np.testing.assert_allclose(a.components_, b.components_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.intercept_visible_, b.intercept_visible_, atol=1e-12)
    c = Est(**kw).partial_fit(X, sample_weight=w)
    d = Est(**kw).partial_fit(X[w > 0])
    np.testing.assert_allclose(c.components_, d.components_, rtol=1e-9, atol=1e-12)


def test_partial_fit_weights_and_ones_change_nothing():
    rng = np.random.default_rng(2)
    X = _data(rng)
    kw = dict(EXACT, visible_bias_init="zeros")
    w = rng.integers(1, 3, X.shape[0])
    a = BernoulliRBM(**kw).partial_fit(X, sample_weight=w)
    b = BernoulliRBM(**kw).partial_fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-10)
    ones = BernoulliRBM(**dict(EXACT)).fit(X, sample_weight=np.ones(X.shape[0]))
    none = BernoulliRBM(**dict(EXACT)).fit(X)
    np.testing.assert_allclose(ones.components_, none.components_, atol=1e-12)


def test_bad_sample_weight_is_refused_and_leaves_model_alone():
    rng = np.random.default_rng(3)
    X = _data(rng)
    rbm = BernoulliRBM(**EXACT).fit(X)
    W = rbm.components_.copy()
    for bad, match in (
        (-np.ones(X.shape[0]), "(?i)negative"),
        (np.zeros(X.shape[0]), "non-zero|positive"),
        (np.ones(3), "shape|length|samples"),
    ):
        with pytest.raises(ValueError, match=match):
            rbm.fit(X, sample_weight=bad)
        with pytest.raises(ValueError, match=match):
            rbm.partial_fit(X, sample_weight=bad)
    np.testing.assert_array_equal(rbm.components_, W)


def test_early_stopping_score_is_weighted():
    rng = np.random.default_rng(4)
    X = _data(rng, n=60)
    kw = dict(EXACT, early_stopping=True, validation_fraction=0.3)
    a = BernoulliRBM(**kw).fit(X, sample_weight=np.r_[np.ones(30), 5 * np.ones(30)])
    b = BernoulliRBM(**kw).fit(X)
    assert a.validation_scores_ is not None
    assert not np.allclose(a.validation_scores_, b.validation_scores_)


SKLEARN_CHECKS = [
    "check_sample_weights_pandas_series",
    "check_sample_weights_not_an_array",
    "check_sample_weights_list",
    "check_sample_weights_shape",
    "check_sample_weights_not_overwritten",
    "check_all_zero_sample_weights_error",
    "check_sample_weight_equivalence_on_dense_data",
]


@pytest.mark.parametrize("check", SKLEARN_CHECKS)
@pytest.mark.parametrize(
    "est",
    [
        GaussianBernoulliRBM(**dict(EXACT, n_components=8)),
        BernoulliRBM(**dict(EXACT, n_components=8, visible_bias_init="zeros")),
    ],
    ids=["GaussianBernoulliRBM", "BernoulliRBM"],
)
def test_sklearn_sample_weight_checks(est, check):
    """scikit-learn's sample-weight checks, in the deterministic setting
    (tests/test_common.py runs the default BernoulliRBM, whose generic check
    data is out of range and whose training shuffles)."""
    if est.__class__ is BernoulliRBM and check != (
        "check_sample_weight_equivalence_on_dense_data"
    ):
        pytest.skip("generic check data out of [0, 1] for BernoulliRBM")
    getattr(estimator_checks, check)(type(est).__name__, est)


def test_rows_of_zero_weight_are_not_checked_as_training_data():
    # a row that the training-data checks would refuse (a variance too
    # large for the Gaussian's base model) is dropped, not refused
    X = np.random.default_rng(0).normal(size=(50, 4))
    X[0] = 1e6
    w = np.ones(50)
    w[0] = 0
    kw = dict(n_components=3, max_iter=2, random_state=0)
    with pytest.raises(ValueError, match="variance"):
        GaussianBernoulliRBM(**kw).fit(X)
    a = GaussianBernoulliRBM(**kw).fit(X, sample_weight=w)
    b = GaussianBernoulliRBM(**kw).fit(X[1:])
    np.testing.assert_allclose(a.components_, b.components_, rtol=1e-9, atol=1e-12)
    c = GaussianBernoulliRBM(**kw).partial_fit(X, sample_weight=w)
    d = GaussianBernoulliRBM(**kw).partial_fit(X[1:])
    np.testing.assert_allclose(c.components_, d.components_, rtol=1e-9, atol=1e-12)


def test_early_stopping_counts_the_rows_of_positive_weight():
    # rows of weight 0 are dropped first: the validation split is made of
    # weighted rows, and one weighted row is too few to split
    rng = np.random.default_rng(0)
    X = _data(rng, n=20)
    w = np.zeros(20)
    w[3] = 1.0
    rbm = BernoulliRBM(3, max_iter=2, early_stopping=True, random_state=0)
    with pytest.raises(
        ValueError, match="at least 2 samples of positive weight; got 1"
    ):
        rbm.fit(X, sample_weight=w)
    w[[5, 9]] = 2.0
    for seed in range(4):  # any split has weight on both sides
        rbm.set_params(random_state=seed, validation_fraction=0.5).fit(
            X, sample_weight=w
        )
        assert np.isfinite(rbm.validation_scores_).all()
