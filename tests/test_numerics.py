"""Numerical edge cases found by the audit: extreme but legal values.

Each test failed (a RuntimeWarning, which the suite turns into an error, or
a wrong value) before its fix.
"""

import numpy as np
import pytest

from sklearn_rbm import BernoulliRBM, CategoricalRBMRecommender, GaussianBernoulliRBM
from sklearn_rbm.datasets import make_ratings
from sklearn_rbm.engine.numerics import data_moments
from sklearn_rbm.exceptions import DivergenceError


def test_huge_ratings_fit_and_score_without_overflow():
    # the early-stopping RMSE and R^2 square the errors: 1e300 ratings
    # overflowed in both (RMSE now scaled by the largest error)
    X, y = make_ratings(n_users=40, n_items=20, density=0.3, random_state=0)
    y = y.astype(float)
    y[0] = 1e300
    rec = CategoricalRBMRecommender(
        n_components=8, max_iter=3, batch_size=4, random_state=0
    ).fit(X, y)
    assert np.all(np.isfinite(rec.validation_scores_))
    y_big = np.full(len(y), 1e200)
    y_big[::2] = 3e200
    big = CategoricalRBMRecommender(n_components=4, max_iter=2, random_state=0)
    big.fit(X, y_big)
    r2 = big.score(X, y_big)
    pred = big.predict(X)
    ref = 1 - np.sum(((pred - y_big) / 1e200) ** 2) / np.sum(
        ((y_big - y_big.mean()) / 1e200) ** 2
    )
    assert r2 == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("orientation", ["user", "item"])
def test_recommend_keeps_predict_precision_for_offset_ratings(orientation):
    # recommend sums the rating values over K in float32: relative to the
    # lowest value, or ratings 1e6 + k lost everything past 0.1
    X, y = make_ratings(n_users=40, n_items=20, density=0.4, random_state=0)
    y = y + 1e6
    rec = CategoricalRBMRecommender(
        n_components=8,
        orientation=orientation,
        max_iter=3,
        random_state=0,
        ranking="rating",
    ).fit(X, y)
    items, scores = rec.recommend(X[:3, 0], n_items=20, exclude_seen=False)
    for u, row, sc in zip(X[:3, 0], items, scores, strict=True):
        pred = rec.predict(np.c_[np.full(len(row), u), row])
        np.testing.assert_allclose(sc, pred, rtol=0, atol=1e-4)


def test_gaussian_reconstruction_monitor_does_not_overflow_in_float32():
    # n_components > 16 monitors the reconstruction error; a diverging
    # float32 model overflowed in its squares before check_finite could stop
    rng = np.random.default_rng(0)
    centres = 2.0 * np.random.default_rng(1234).standard_normal((2, 6))
    X = centres[rng.integers(0, 2, 64)] + rng.standard_normal((64, 6))
    rbm = GaussianBernoulliRBM(
        n_components=20,
        max_iter=3,
        batch_size=16,
        learning_rate=1e6,
        early_stopping=True,
        random_state=0,
    )
    with pytest.raises(DivergenceError):
        rbm.fit(X.astype(np.float32))


def test_data_moments_of_offset_float32_data():
    # float32 column sums of squares lost the variance under an offset
    rng = np.random.default_rng(0)
    X = (1000 + rng.standard_normal((20000, 3))).astype(np.float32)
    n, s1, s2 = data_moments(X)
    var = s2 / n - (s1 / n) ** 2
    np.testing.assert_allclose(var, X.astype(np.float64).var(axis=0), rtol=1e-4)
    rbm = GaussianBernoulliRBM(n_components=2, max_iter=0, random_state=0).fit(X)
    np.testing.assert_allclose(
        rbm.variances_, 0.25 * X.astype(np.float64).var(axis=0), rtol=1e-3
    )


def test_pseudo_likelihood_float32_agrees_with_float64():
    # a difference of two large float32 sums over 2,000 hidden units lost
    # ~1e-2 nats; summing the per-unit differences keeps ~4e-4
    rng = np.random.default_rng(0)
    d, H = 64, 2000
    X = (rng.random((50, d)) < 0.3).astype(np.float64)
    W, b = rng.normal(0, 0.3, (H, d)), rng.normal(0, 1, d)
    c = rng.normal(0, 3, H)
    pl = {}
    for dt in (np.float64, np.float32):
        rbm = BernoulliRBM(H, max_iter=0).fit(X.astype(dt))
        rbm.components_ = W.astype(dt)
        rbm.intercept_visible_, rbm.intercept_hidden_ = b.astype(dt), c.astype(dt)
        pl[dt] = rbm.pseudo_likelihood(X.astype(dt)).astype(np.float64)
    np.testing.assert_allclose(pl[np.float32], pl[np.float64], rtol=0, atol=2e-3)


def test_early_stopping_keeps_the_best_epoch_and_counts_patience_with_tol():
    # as scikit-learn's MLP: any improvement is the new best to restore, but
    # only an improvement by more than tol resets the patience counter
    from sklearn_rbm.training.loop import EarlyStopping
    from sklearn_rbm.training.state import TrainState

    stop = EarlyStopping(tol=1e-2, n_iter_no_change=2)
    state = TrainState(params={}, rng=np.random.default_rng(0))
    assert not stop.update(1.0, state, 0)
    assert not stop.update(1.005, state, 1)  # better, but not by tol
    assert stop.best_epoch == 1 and stop.best_score == 1.005
    assert stop.update(0.9, state, 2)  # second epoch without progress
    assert stop.best_epoch == 1


def test_exact_gaussian_log_z_for_offset_data_matches_exact_arithmetic():
    # log Z summed (b + hW)^2 - b^2 over the hidden states: cancellation
    # lost ~20 nats at offset 1e6 with a 1e-3 std feature (legal settings);
    # the reference is the same sum in 50-digit decimal arithmetic
    from decimal import Decimal, localcontext

    from sklearn_rbm.engine.families import binary_states

    rng = np.random.default_rng(0)
    rng.standard_normal((4000, 5))  # the audit's data set (its third)
    X = 1e6 + rng.standard_normal((2000, 5)) * [1, 1, 1, 1, 0.001]
    rbm = GaussianBernoulliRBM(
        n_components=8, max_iter=3, min_variance=1e-6, random_state=0
    ).fit(X)
    W, c = rbm.components_, rbm.intercept_hidden_
    b, lv = rbm.intercept_visible_, rbm.log_variance_
    with localcontext() as ctx:
        ctx.prec = 50
        D = [[Decimal(float(x)) for x in row] for row in W]
        bD, lvD = [Decimal(float(x)) for x in b], [Decimal(float(x)) for x in lv]
        log2pi = (2 * Decimal(np.pi)).ln()
        const = sum(log2pi + x for x in lvD) / 2
        terms = []
        for h in binary_states(8):
            on = np.flatnonzero(h)
            t = const + sum((Decimal(float(c[j])) for j in on), Decimal(0))
            for i in range(len(bD)):
                a = bD[i] + sum((D[j][i] for j in on), Decimal(0))
                t += (a * a - bD[i] * bD[i]) * (-lvD[i]).exp() / 2
            terms.append(t)
        top = max(terms)
        ref = top + sum((t - top).exp() for t in terms).ln()
    assert abs(rbm.log_partition("exact").log_z - float(ref)) < 0.05
