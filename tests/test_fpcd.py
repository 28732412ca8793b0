"""Fast-weights PCD (``sampler="fpcd"``, Tieleman & Hinton 2009)."""

import pickle

import numpy as np
import pytest
from scipy.special import expit
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_rbm import BernoulliRBM, GaussianBernoulliRBM
from sklearn_rbm.training.cd import DenseCD

# one update per epoch, plain SGD steps: the parameter changes are the
# gradient steps themselves
PLAIN = dict(momentum=0.0, weight_decay=0.0, centering=False, shuffle=False)


@pytest.mark.parametrize("centering", [False, True])
def test_zero_fast_rate_is_plain_pcd(binary_digits, centering):
    """With fast weights that never move, FPCD is PCD: the same draws and
    the same updates, up to rounding (FPCD's chains take their hidden field
    from a product of their own, where PCD stacks data and chains into one:
    OpenBLAS may block the two shapes differently, 1 ulp apart)."""
    X, _ = binary_digits
    kw = dict(n_components=12, max_iter=3, centering=centering, random_state=0)
    pcd = BernoulliRBM(**kw).fit(X)
    fpcd = BernoulliRBM(sampler="fpcd", fast_learning_rate=0.0, **kw).fit(X)
    np.testing.assert_allclose(fpcd.components_, pcd.components_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        fpcd.intercept_visible_, pcd.intercept_visible_, rtol=0, atol=1e-12
    )
    assert not np.any(fpcd._state.fast["W"])


def test_gaussian_zero_fast_rate_is_plain_pcd():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    kw = dict(n_components=5, max_iter=4, random_state=0)
    pcd = GaussianBernoulliRBM(**kw).fit(X)
    fpcd = GaussianBernoulliRBM(sampler="fpcd", fast_learning_rate=0.0, **kw).fit(X)
    np.testing.assert_array_equal(fpcd.components_, pcd.components_)
    np.testing.assert_array_equal(fpcd.log_variance_, pcd.log_variance_)


def test_gaussian_fpcd_trains_with_clipped_fast_steps():
    """The fast steps are clipped like the regular ones: unclipped, the
    chains sampling the fast weights fed their own gradient and a default
    Gaussian RBM diverged on standardised digits within two epochs."""
    from sklearn.datasets import load_digits

    X = load_digits().data
    X = (X - X.mean(0)) / (X.std(0) + 1.0)
    rbm = GaussianBernoulliRBM(64, max_iter=3, sampler="fpcd", random_state=0)
    rbm.fit(X)
    assert np.abs(rbm._state.fast["W"]).max() < 10.0
    assert np.isfinite(rbm.free_energy(X[:5])).all()


def test_fast_weights_take_the_gradient_step_and_decay(binary_digits):
    """After two updates the fast weights are ``a (0.95 g1 + g2)`` for the
    two likelihood gradients ``g`` (read off the plain SGD steps)."""
    X, _ = binary_digits
    X = X[:100]
    lr, a = 0.05, 0.3
    kw = dict(
        n_components=6,
        batch_size=100,
        learning_rate=lr,
        sampler="fpcd",
        fast_learning_rate=a,
        random_state=0,
        **PLAIN,
    )
    fits = [BernoulliRBM(max_iter=k, **kw).fit(X) for k in (0, 1, 2)]
    steps = {
        name: [getattr(fits[k + 1], attr) - getattr(fits[k], attr) for k in (0, 1)]
        for name, attr in (
            ("W", "components_"),
            ("b", "intercept_visible_"),
            ("c", "intercept_hidden_"),
        )
    }
    assert np.abs(steps["W"][1]).max() > 1e-4  # the check can fail
    for name, (d1, d2) in steps.items():
        expected = a / lr * (0.95 * d1 + d2)
        np.testing.assert_allclose(
            fits[2]._state.fast[name], expected, rtol=1e-9, atol=1e-12
        )


def test_chains_sample_the_model_plus_fast_weights(binary_digits):
    """Visible fast biases of +50 make every chain's visible sample all
    ones, so the negative statistic of the visible biases is 1."""
    X, _ = binary_digits
    X = X[:100]
    rbm = BernoulliRBM(
        4, batch_size=100, max_iter=1, sampler="fpcd", random_state=0, **PLAIN
    ).fit(X)
    state = rbm._state
    state.fast["b"][:] = 50.0
    state.fast["c"][:] = 50.0  # and their hidden probabilities all 1
    p = state.params
    b_before, c_before = p["b"].copy(), p["c"].copy()
    ph_data = expit(X @ p["W"].T + p["c"]).mean(axis=0)  # the model's, no fast
    phase = rbm._phase(100, 1)
    DenseCD.update(phase, state, X, 0.1, 0.0, 1)
    np.testing.assert_allclose(
        p["b"] - b_before, 0.1 * (X.mean(axis=0) - 1.0), atol=1e-12
    )
    np.testing.assert_allclose(p["c"] - c_before, 0.1 * (ph_data - 1.0), atol=1e-12)
    assert state.chains.shape == (100, 4)


def test_fpcd_trains_like_pcd(binary_digits):
    """Exact log-likelihoods (16 hidden units): FPCD learns as well as PCD
    and moves away from the base-rate start."""
    X, _ = binary_digits
    kw = dict(n_components=16, max_iter=10, random_state=0)
    pcd = BernoulliRBM(**kw).fit(X)
    fpcd = BernoulliRBM(sampler="fpcd", fast_learning_rate=0.05, **kw).fit(X)
    start = BernoulliRBM(16, max_iter=0, random_state=0).fit(X)
    assert fpcd.score(X) > pcd.score(X) - 1.0
    assert fpcd.score(X) > start.score(X) + 2.0
    assert np.abs(fpcd._state.fast["W"]).max() > 0


def test_fpcd_state_round_trips_and_is_validated(binary_digits):
    X, _ = binary_digits
    rbm = BernoulliRBM(8, max_iter=2, sampler="fpcd", random_state=0)
    rbm.fit(X[:200])
    copy = pickle.loads(pickle.dumps(rbm))
    a = copy.partial_fit(X[200:300]).components_
    b = rbm.partial_fit(X[200:300]).components_
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(copy._state.fast["W"], rbm._state.fast["W"])
    for name, bad_value in (
        ("W", np.zeros((8, 3))),
        ("b", np.full(64, np.nan)),
        ("c", np.zeros(8, np.float32)),
    ):
        bad = pickle.loads(pickle.dumps(rbm))
        bad._state.fast[name] = bad_value
        with pytest.raises(ValueError, match=rf"_state.fast\['{name}'\]"):
            pickle.loads(pickle.dumps(bad))
    # switching the sampler drops the fast weights or starts them at zero
    rbm.set_params(sampler="gibbs").partial_fit(X[:100])
    assert rbm._state.fast is None
    rbm.set_params(sampler="fpcd").partial_fit(X[:100])
    assert set(rbm._state.fast) == {"W", "b", "c"}


def test_fpcd_needs_persistent_chains_and_a_valid_rate(binary_digits):
    X, _ = binary_digits
    rbm = BernoulliRBM(4, max_iter=1, random_state=0).fit(X[:50])
    W = rbm.components_.copy()
    with pytest.raises(ValueError, match="sampler='fpcd'.*persistent=True"):
        rbm.set_params(sampler="fpcd", persistent=False).partial_fit(X[:50])
    np.testing.assert_array_equal(rbm.components_, W)
    with pytest.raises(InvalidParameterError, match="fast_learning_rate"):
        BernoulliRBM(4, sampler="fpcd", fast_learning_rate=-1.0).fit(X[:50])
