"""AIS that says when it can't be trusted: the check against a second base
model, its warning, and the adaptive temperature schedule."""

import pickle
import warnings

import numpy as np
import pytest

from sklearn_rbm import BernoulliRBM, GaussianBernoulliRBM
from sklearn_rbm.engine.partition import _AnnealingPath, adaptive_betas
from sklearn_rbm.exceptions import UnreliableEstimateWarning


def _bimodal_rbm():
    """Two far-apart modes (complementary half-images), 12 visible units.

    Each hidden unit pulls one half of the image on with weight 8: a chain
    that sits in one mode almost never crosses to the other, which a short
    annealing schedule cannot follow.
    """
    proto = np.array([[1] * 6 + [0] * 6, [0] * 6 + [1] * 6], float)
    X = np.vstack([proto[i % 2] for i in range(40)])
    rbm = BernoulliRBM(2, max_iter=0, random_state=0).fit(X)
    rbm.components_ = 8.0 * (2 * proto - 1)
    rbm.intercept_hidden_ = np.array([-24.0, -24.0])
    rbm.intercept_visible_ = np.full(12, -4.0)
    return rbm


def test_check_warns_where_estimates_really_disagree():
    rbm = _bimodal_rbm()
    exact = rbm.log_partition("exact").log_z
    with pytest.warns(UnreliableEstimateWarning, match="not reliable to 1 nats"):
        est = rbm.log_partition("ais", n_betas=10, n_runs=100, random_state=0)
    # the warning is warranted: an estimate is more than a nat off the truth
    errors = [abs(est.log_z - exact), abs(est.log_z_check - exact)]
    assert max(errors) > 1.0
    assert est.disagreement == pytest.approx(abs(est.log_z - est.log_z_check))


def test_check_silent_where_both_match_exact(binary_digits):
    X, _ = binary_digits
    rbm = BernoulliRBM(n_components=12, max_iter=5, random_state=0).fit(X)
    exact = rbm.log_partition("exact").log_z
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnreliableEstimateWarning)
        est = rbm.log_partition("ais", n_betas=1000, n_runs=100, random_state=0)
    assert est.method == "ais" and est.schedule == "fixed"
    assert abs(est.log_z - exact) < 0.3
    assert abs(est.log_z_check - exact) < 0.3
    assert est.disagreement < 0.3
    assert 0 < est.std_err < 0.5 and 0 < est.std_err_check < 0.5


def test_check_off_and_exact_have_no_check():
    rbm = _bimodal_rbm()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnreliableEstimateWarning)
        est = rbm.log_partition(
            "ais", n_betas=10, n_runs=20, check=False, random_state=0
        )
        exact = rbm.log_partition("exact")
    assert est.log_z_check is None and est.disagreement is None
    assert exact.log_z_check is None and exact.schedule is None
    # the check draws after the main run: the main estimate is unchanged
    with pytest.warns(UnreliableEstimateWarning):
        checked = rbm.log_partition("ais", n_betas=10, n_runs=20, random_state=0)
    assert checked.log_z == est.log_z
    # a cached, checked estimate pickles with its check
    again = pickle.loads(pickle.dumps(rbm.log_partition_))
    assert again.log_z_check == checked.log_z_check


def test_check_tol_is_validated():
    rbm = _bimodal_rbm()
    with pytest.raises(ValueError, match="check_tol"):
        rbm.log_partition("ais", check_tol=0.0)
    with pytest.raises(ValueError, match="schedule"):
        rbm.log_partition("ais", schedule="geometric")


def test_adaptive_schedule_places_temperatures_where_weights_move():
    rbm = _bimodal_rbm()
    p = rbm._params()
    base = {"b": np.full(12, 0.0)}
    path = _AnnealingPath(rbm._family(), p, base)
    betas = adaptive_betas(path, 200, np.random.default_rng(0))
    assert betas[0] == 0.0 and betas[-1] == 1.0 and len(betas) == 200
    assert np.all(np.diff(betas) >= 0)
    # from a flat base, this model's log-weights move most at small beta
    # (where the modes form): about 70% of the temperatures fall below 0.5,
    # where the fixed schedule puts 3.4% and a uniform one 50%
    assert (betas < 0.5).mean() > 0.6


def test_adaptive_schedule_beats_fixed_on_bimodal_model():
    rbm = _bimodal_rbm()
    exact = rbm.log_partition("exact").log_z
    kw = dict(n_betas=100, n_runs=100, check=False, random_state=0)
    fixed = rbm.log_partition("ais", **kw)
    adaptive = rbm.log_partition("ais", schedule="adaptive", **kw)
    assert adaptive.schedule == "adaptive"
    assert abs(adaptive.log_z - exact) < 0.2
    assert abs(adaptive.log_z - exact) < abs(fixed.log_z - exact)
    assert adaptive.std_err < fixed.std_err


def test_check_uses_model_extras_for_gaussian_units():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)) * [1.0, 2.0, 0.5, 1.0, 1.5]
    rbm = GaussianBernoulliRBM(n_components=4, max_iter=10, random_state=0).fit(X)
    exact = rbm.log_partition("exact").log_z
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnreliableEstimateWarning)
        est = rbm.log_partition("ais", n_betas=500, n_runs=50, random_state=0)
    assert abs(est.log_z - exact) < 0.2
    assert abs(est.log_z_check - exact) < 0.2
