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
    first = est.log_z if est.log_z_ais is None else est.log_z_ais
    errors = [abs(first - exact), abs(est.log_z_check - exact)]
    assert max(errors) > 1.0
    assert est.disagreement == pytest.approx(abs(first - est.log_z_check))
    # the returned value is the larger evidence (AIS is low on average)
    assert est.log_z == max(first, est.log_z_check, est.log_z_bound)


@pytest.fixture(scope="module")
def digits_rbm(binary_digits):
    """A 12-hidden model of the digits and its exact log Z."""
    rbm = BernoulliRBM(n_components=12, max_iter=5, random_state=0)
    rbm.fit(binary_digits[0])
    return rbm, rbm.log_partition("exact").log_z


def _checked_silently(rbm, **ais):
    """An AIS estimate whose check must not warn."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnreliableEstimateWarning)
        return rbm.log_partition("ais", random_state=0, **ais)


def test_check_silent_where_both_match_exact(digits_rbm):
    rbm, exact = digits_rbm
    est = _checked_silently(rbm, n_betas=1000, n_runs=100)
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
    # the check draws after the main run: the first run's estimate is the
    # same (log_z_ais when the check raised log_z)
    with pytest.warns(UnreliableEstimateWarning):
        checked = rbm.log_partition("ais", n_betas=10, n_runs=20, random_state=0)
    first = checked.log_z if checked.log_z_ais is None else checked.log_z_ais
    assert first == est.log_z
    # the exact value computed above stays cached over the estimate
    assert rbm.log_partition_ is exact
    # a checked estimate pickles with its check
    again = pickle.loads(pickle.dumps(checked))
    assert again.log_z_check == checked.log_z_check
    assert again.log_z_ais == checked.log_z_ais


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


def _heavy_mode_gaussian():
    """One visible unit, three hidden: the hidden pair (1, 1, 0) holds all
    the mass (log Z = 111.76), at a visible value the base models never
    reach, so every AIS run (from either base) misses it and both agree on
    log Z = 0.49 with a std err of 0.01."""
    rng = np.random.default_rng(1)
    m = GaussianBernoulliRBM(n_components=3, max_iter=1, batch_size=10, random_state=0)
    m.fit(rng.normal(size=(200, 1)))
    m.components_ = np.array([[5.485], [6.060], [-3.194]])
    m.intercept_visible_ = np.array([0.035])
    m.intercept_hidden_ = np.array([-50.82, -61.23, -18.27])
    m.log_variance_ = np.log([0.3])
    return m


def test_check_warns_when_a_mode_search_proves_the_estimate_low():
    m = _heavy_mode_gaussian()
    exact = m.log_partition("exact").log_z
    assert exact == pytest.approx(111.76, abs=0.01)
    with pytest.warns(UnreliableEstimateWarning, match="missed a mode"):
        est = m.log_partition("ais", n_betas=1000, n_runs=100, random_state=1)
    # both runs agree on the wrong value: the disagreement alone is silent
    assert est.disagreement < 0.1 and est.log_z_ais < 1.0
    # the bound is proven (never above the truth) and here finds the mode
    assert est.log_z_bound <= exact + 1e-9
    assert est.log_z_bound > exact - 0.01
    # so it replaces the runs' estimate: the likelihoods are no longer
    # optimistic by the 111 nats of the missed mode
    assert est.log_z == est.log_z_bound


def test_exact_cached_value_stays_over_a_later_estimate():
    """A user review: a missed mode's AIS estimate replaced the cached exact
    log Z and score() jumped from -1,533 to -18 nats."""
    m = _heavy_mode_gaussian()
    X = np.random.default_rng(0).normal(size=(20, m.n_features_in_))
    exact = m.score(X)  # exact log Z (3 hidden units), cached
    assert m.log_partition_.method == "exact"
    with pytest.warns(UnreliableEstimateWarning):
        est = m.log_partition("ais", n_betas=1000, n_runs=100, random_state=1)
    assert est.method == "ais"
    assert m.log_partition_.method == "exact"
    assert m.score(X) == exact


def _collapsed_weights_gaussian():
    """5 visible, 10 hidden units with balanced far-apart modes: with 3,000
    temperatures one AIS run of 100 carries all the weight."""
    rng = np.random.default_rng(1)
    m = GaussianBernoulliRBM(n_components=10, max_iter=1, batch_size=10, random_state=0)
    m.fit(rng.normal(size=(200, 5)))
    m.components_ = rng.normal(size=(10, 5))
    m.intercept_visible_ = rng.normal(size=5) * 0.1
    m.intercept_hidden_ = -5.0 * (m.components_**2).sum(1) + rng.normal(size=10)
    m.log_variance_ = np.full(5, np.log(0.1))
    return m


def test_collapsed_weights_warn_whatever_the_tolerance():
    # the delta-method std err cannot exceed sqrt((n - 1) / n) < 1 nat, so
    # with a loose tolerance only the effective sample size tells
    m = _collapsed_weights_gaussian()
    exact = m.log_partition("exact").log_z
    with pytest.warns(UnreliableEstimateWarning, match="effective sample size"):
        est = m.log_partition(
            "ais", n_betas=3000, n_runs=100, check_tol=1000.0, random_state=0
        )
    assert abs(est.log_z - exact) > 20  # the warning is warranted
    assert est.std_err < 1.0
    assert 1.0 <= est.ess < 5.0


def test_mode_bound_never_exceeds_exact_log_z():
    from sklearn_rbm.engine.ais_check import mode_lower_bound

    rng = np.random.default_rng(0)
    for trial in range(6):
        if trial % 2:
            m = _collapsed_weights_gaussian()
            m.components_ = rng.normal(scale=1 + trial, size=m.components_.shape)
        else:
            X = (rng.random((50, 10)) < 0.3).astype(float)
            m = BernoulliRBM(n_components=8, max_iter=1, random_state=0).fit(X)
            m.components_ = rng.normal(scale=1 + trial, size=(8, 10))
            m.intercept_hidden_ = rng.normal(scale=3, size=8)
        exact = m.log_partition("exact").log_z
        bound = mode_lower_bound(m._family(), m._params(), rng)
        assert bound <= exact + 1e-9
        # one hidden state of 2**8 at worst: within log(256) of the truth
        assert bound > exact - np.log(2.0**8) - 1e-9


def test_estimate_reports_ess_and_old_pickles_read_none():
    rbm = _bimodal_rbm()
    est = rbm.log_partition("ais", n_betas=100, n_runs=50, check=False, random_state=0)
    assert 1.0 <= est.ess <= 50.0 and est.log_z_bound is None
    exact = rbm.log_partition("exact")
    assert exact.ess is None
    # an estimate pickled before the fields existed has no entry for them
    state = dict(vars(est))
    del state["ess"], state["log_z_bound"], state["log_z_ais"]
    old = object.__new__(type(est))
    old.__dict__.update(state)
    assert old.ess is None and old.log_z_bound is None and old.log_z_ais is None
    assert old.disagreement is None


def test_few_runs_do_not_always_warn(digits_rbm):
    # with 2 runs the effective sample size is below 2 whatever the weights
    rbm, exact = digits_rbm
    est = _checked_silently(rbm, n_betas=3000, n_runs=2)
    assert abs(est.log_z - exact) < 0.3 and est.ess < 2.0
