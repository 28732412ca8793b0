"""The divergence check of ``fit`` (``estimators._base.warn_if_diverged``) and the
bound it rests on (``engine.ais_check.training_bound``)."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sklearn_rbm import BernoulliRBM, GaussianBernoulliRBM
from sklearn_rbm.engine.ais_check import training_bound


@pytest.fixture(scope="module")
def wine():
    return StandardScaler().fit_transform(load_wine().data)


def test_diverged_gaussian_fit_warns_at_the_caller(wine):
    # learning rate 100 times the default: exact training log-likelihood
    # -118,094 nats per sample (benchmarks/check_divergence.py)
    rbm = GaussianBernoulliRBM(16, learning_rate=0.5, random_state=0)
    with pytest.warns(ConvergenceWarning, match="training diverged") as record:
        assert rbm.fit(wine) is rbm
    (w,) = [r for r in record if r.category is ConvergenceWarning]
    message = str(w.message)
    assert "learning_rate (now 0.5)" in message
    assert "StandardScaler" in message
    assert w.filename == __file__  # points at the call of fit
    # the warning is right: the exact log-likelihood is far below the
    # independent Gaussians' (-0.5 * sum(log(2 pi e var)) on standardised data)
    independent = -0.5 * wine.shape[1] * np.log(2 * np.pi * np.e)
    assert rbm.score(wine) < independent - 1000


def test_default_fits_do_not_warn(wine, binary_digits):
    X, _ = binary_digits
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        GaussianBernoulliRBM(16, random_state=0).fit(wine)
        BernoulliRBM(16, max_iter=5, random_state=0).fit(X)


def test_diverged_bernoulli_fit_warns(binary_digits):
    X, _ = binary_digits
    with pytest.warns(ConvergenceWarning, match="independent Bernoulli units"):
        BernoulliRBM(16, learning_rate=10.0, random_state=0).fit(X)


def test_training_bound_against_exact_values(wine):
    X = wine[:100]
    rbm = GaussianBernoulliRBM(8, max_iter=30, random_state=0).fit(X)
    params = {k: np.asarray(v) for k, v in rbm._params().items()}
    rng = np.random.default_rng(0)
    bound, independent, start = training_bound(
        rbm._family(), params, X, rng=rng, adjust=rbm._init_params
    )
    # an upper bound on the exact mean log-likelihood (8 hidden: exact log Z)
    exact = rbm.score(X)
    assert exact <= bound + 1e-9
    # independent Gaussians with the rows' moments, by hand
    var = X.var(axis=0)
    by_hand = -0.5 * np.sum(np.log(2 * np.pi * var) + 1.0)
    np.testing.assert_allclose(independent, by_hand, rtol=1e-12)
    # the start: variances a quarter of the data's (variance_init="auto"),
    # -0.5 log(2 pi var / 4) - 2 per feature, 1.5 - 0.5 log 4 below the above
    per_feature = 1.5 - 0.5 * np.log(4.0)
    np.testing.assert_allclose(start, by_hand - X.shape[1] * per_feature, rtol=1e-12)


def test_training_bound_independent_bernoulli_by_hand(binary_digits):
    X, _ = binary_digits
    X = X[:300]
    w = np.random.default_rng(1).integers(1, 4, X.shape[0]).astype(float)
    rbm = BernoulliRBM(4, max_iter=2, random_state=0).fit(X)
    params = {k: np.asarray(v) for k, v in rbm._params().items()}
    bound, independent, start = training_bound(
        rbm._family(), params, X, w, rng=np.random.default_rng(0)
    )
    # smoothed base rates (s + 0.5) / (n + 1) of the rows repeated as the
    # weights (frequencies) say; the weighted cross-entropy of the rows
    rate = (w @ X + 0.5) / (w.sum() + 1.0)
    ll = X @ np.log(rate) + (1 - X) @ np.log1p(-rate)
    np.testing.assert_allclose(independent, np.average(ll, weights=w), rtol=1e-12)
    assert start == independent  # no adjust: the start is the base-rate model
    # a bound on the exact weighted mean (4 hidden units: exact log Z)
    assert rbm.score_samples(X) @ w / w.sum() <= bound + 1e-9


def test_rows_sorted_by_class_do_not_raise_a_false_alarm():
    """A review: with the first 1,000 rows as the check's sample and its
    references fitted to them, data grouped by class warned on a good fit
    (exact log-likelihood -41.49 against -56.27 for independent units)."""
    rng = np.random.default_rng(0)
    protos = rng.random((5, 100)) < 0.3
    y = np.sort(rng.integers(0, 5, 6000))
    X = (protos[y] ^ (rng.random((6000, 100)) < 0.1)).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        rbm = BernoulliRBM(16, random_state=0).fit(X)
    independent = BernoulliRBM(16, max_iter=0, random_state=0).fit(X)
    assert rbm.score(X) > independent.score(X) + 10


def test_warning_points_at_the_caller_through_pipelines(wine):
    from sklearn.pipeline import make_pipeline

    rbm = GaussianBernoulliRBM(16, learning_rate=0.5, random_state=0)
    for call in (
        lambda: rbm.fit_transform(wine),
        lambda: make_pipeline(StandardScaler(), rbm).fit(wine),
    ):
        with pytest.warns(ConvergenceWarning, match="diverged") as record:
            call()
        (w,) = [r for r in record if r.category is ConvergenceWarning]
        assert w.filename == __file__
