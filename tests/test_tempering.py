"""Parallel tempering against exact distributions on small models."""

import pickle

import numpy as np
import pytest
from scipy.stats import chisquare

from sklearn_rbm import BernoulliRBM
from sklearn_rbm.engine.families import Bernoulli, binary_states
from sklearn_rbm.engine.gibbs import free_energy
from sklearn_rbm.engine.tempering import (
    SWAP_RATE_BAND,
    ParallelTempering,
    tempered_chains,
)

D = 8
PROTO = np.array([[1] * 4 + [0] * 4, [0] * 4 + [1] * 4], float)


def _model(weight):
    """Two complementary modes of 8 binary units; ``weight`` sets the barrier."""
    X = np.vstack([PROTO[i % 2] for i in range(40)])
    rbm = BernoulliRBM(2, max_iter=0, random_state=0).fit(X)
    rbm.components_ = weight * (2 * PROTO - 1)
    rbm.intercept_hidden_ = np.array([-2.0 * weight, -2.0 * weight])
    rbm.intercept_visible_ = np.full(D, -2.0)
    return rbm


def _codes(V):
    return V.astype(np.int64) @ (1 << np.arange(D))


def _exact(rbm):
    S = binary_states(D, np.float64)
    lp = -free_energy(rbm._family(), S, rbm._params())
    p = np.zeros(2**D)
    p[_codes(S)] = np.exp(lp - np.logaddexp.reduce(lp))
    return p


def _chi2_pvalue(samples, p):
    """Chi-square goodness of fit, states with expected count < 5 pooled."""
    n = samples.shape[0]
    counts = np.bincount(_codes(samples), minlength=2**D)
    big = p * n >= 5
    obs = np.append(counts[big], counts[~big].sum())
    exp = np.append(p[big], p[~big].sum()) * n
    return chisquare(obs, exp).pvalue


def test_tempering_matches_exact_distribution():
    rbm = _model(3.0)
    p = _exact(rbm)
    V = rbm.sample(3000, 60, method="tempering", n_temperatures=4, random_state=0)
    assert _chi2_pvalue(V, p) > 1e-3


@pytest.mark.parametrize("swap_states", ["marginal", "joint"])
def test_sweeps_without_swaps_keep_the_exact_distribution(swap_states):
    # swap=False (bench_tempering.py --swap-every): Gibbs sweeps alone between
    # swap rounds; each step leaves the product distribution invariant
    rbm = _model(3.0)
    p = _exact(rbm)
    base_b = rbm._family().base_params(rbm._state.moments, D, np.float64)["b"]
    rng = np.random.default_rng(0)
    pt = ParallelTempering(
        rbm._family(), rbm._params(), base_b, 3000, 4, rng, swap_states=swap_states
    )
    for t in range(60):
        parity, proposed = pt.parity, pt._proposed.copy()
        pt.sweep(rng, swap=t % 3 == 0)
        if t % 3:
            assert pt.parity == parity and np.array_equal(pt._proposed, proposed)
    assert _chi2_pvalue(pt.top(), p) > 1e-3


@pytest.mark.parametrize("swap_states", ["marginal", "joint"])
def test_swaps_of_both_kinds_cross_the_barrier_exactly(swap_states):
    # chains started in one of two modes (~97% of the mass, about equal):
    # with either kind of swap the top replicas end in the exact distribution
    rbm = _model(7.0)
    p = _exact(rbm)
    base_b = rbm._family().base_params(rbm._state.moments, D, np.float64)["b"]
    start = np.repeat(PROTO[:1], 3000, axis=0)
    rng = np.random.default_rng(0)
    pt = ParallelTempering(
        rbm._family(),
        rbm._params(),
        base_b,
        3000,
        5,
        rng,
        v0=start,
        swap_states=swap_states,
    )
    for t in range(100):
        pt.sweep(rng, adapt=t < 50, adapt_rate=0.5 / np.sqrt(1.0 + t))
    if swap_states == "joint":
        # swaps of (v, h) are accepted less often than of v alone: the ladder
        # sits closer to the model at the same swap rates
        assert pt.h.shape == (5 * 3000, 2) and set(np.unique(pt.h)) <= {0.0, 1.0}
    assert (
        abs(np.mean(_codes(pt.top()) == _codes(PROTO[1:])[0]) - p[_codes(PROTO[1:])[0]])
        < 0.05
    )
    assert _chi2_pvalue(pt.top(), p) > 1e-3
    with pytest.raises(ValueError, match="swap_states"):
        ParallelTempering(
            rbm._family(), rbm._params(), base_b, 3, 2, rng, swap_states="v"
        )


@pytest.mark.parametrize("family", ["bernoulli", "gaussian"])
def test_joint_swap_ratio_is_the_joint_metropolis_ratio(family):
    # the swap's inlined ratio against one built from -E_beta(v, h) of the
    # path (log_joint, checked against the marginal below), on a model whose
    # visible term differs between the replicas' states and moves with beta
    from sklearn_rbm.engine.families import Gaussian

    rng = np.random.default_rng(3)
    fam = Bernoulli() if family == "bernoulli" else Gaussian()
    prm = {
        "W": rng.normal(0, 1.0, (3, 6)),
        "b": rng.normal(0, 1.0, 6),
        "c": rng.normal(0, 1.0, 3),
    }
    if family == "gaussian":
        prm["log_var"] = rng.normal(0, 0.3, 6)
    pt = ParallelTempering(
        fam, prm, rng.normal(0, 1.0, 6), 50, 4, rng, swap_states="joint"
    )
    pt.sweep(rng)
    ratio, path, b = pt._log_ratios(), pt.path, pt.betas
    for i in range(3):
        lo, hi = pt._rows(i), pt._rows(i + 1)
        states = {k: (pt.v[r], pt.h[r], pt.u[r]) for k, r in (("lo", lo), ("hi", hi))}
        expected = (
            path.log_joint(*states["hi"], b[i])
            + path.log_joint(*states["lo"], b[i + 1])
            - path.log_joint(*states["lo"], b[i])
            - path.log_joint(*states["hi"], b[i + 1])
        )
        np.testing.assert_allclose(ratio(i), expected, rtol=1e-10, atol=1e-10)
        assert np.ptp(expected) > 0.1  # the states differ: a real test


def test_joint_log_probability_sums_to_the_marginal():
    # log_joint summed over every hidden state is log_f: the joint swap's
    # target is the same visible distribution
    from sklearn_rbm.engine.partition import _AnnealingPath

    rbm = _model(3.0)
    p = rbm._params()
    path = _AnnealingPath(rbm._family(), p, {"b": np.full(D, -0.5)})
    V = binary_states(D, np.float64)[::17]
    H = binary_states(2, np.float64)
    u = path.u_of(V, 1.0)
    for beta in (0.0, 0.3, 1.0):
        joint = np.array(
            [path.log_joint(V, np.tile(h, (len(V), 1)), u, beta) for h in H]
        )
        np.testing.assert_allclose(
            np.logaddexp.reduce(joint, axis=0), path.log_f(V, u, beta), rtol=1e-12
        )


def test_tempering_mixes_where_gibbs_is_stuck():
    rbm = _model(7.0)
    p = _exact(rbm)
    # the two modes hold ~97% of the mass, about equally
    assert p[_codes(PROTO)].sum() > 0.9
    start = np.repeat(PROTO[:1], 2000, axis=0)
    gibbs = rbm.sample(n_steps=100, init=start, random_state=0)
    pt = rbm.sample(
        n_steps=100, init=start, method="tempering", n_temperatures=5, random_state=0
    )
    mode_b = _codes(PROTO[1:])[0]
    # Gibbs chains started in one mode stay there ...
    assert np.mean(_codes(gibbs) == mode_b) < 0.05
    assert _chi2_pvalue(gibbs, p) < 1e-10
    # ... parallel tempering finds the other one in the right proportion
    assert abs(np.mean(_codes(pt) == mode_b) - p[mode_b]) < 0.05
    assert _chi2_pvalue(pt, p) > 1e-3


def test_ladder_adapts_swap_rates_into_band():
    # a random 60 x 20 model: three or five replicas cannot reach beta = 0 at
    # the target swap rate, so the ladder stops above it with every
    # neighbouring pair swapping in the band
    rng = np.random.default_rng(0)
    prm = {
        "W": rng.normal(0, 1.0, (20, 60)),
        "b": rng.normal(-1, 1, 60),
        "c": rng.normal(0, 1, 20),
    }
    for k in (3, 5):
        pt = tempered_chains(
            Bernoulli(), prm, np.zeros(60), 200, 300, rng, n_temperatures=k
        )
        assert pt.betas[-1] == 1.0 and np.all(np.diff(pt.betas) > 0)
        assert 0.0 < pt.betas[0] < 0.8
        rates = pt.swap_rates
        assert np.all((rates > SWAP_RATE_BAND[0]) & (rates < SWAP_RATE_BAND[1]))


def test_top_replica_keeps_init_and_validation():
    rbm = _model(3.0)
    fam, prm = rbm._family(), rbm._params()
    pt = ParallelTempering(
        fam, prm, np.zeros(D), 3, 4, np.random.default_rng(0), v0=PROTO[[0, 1, 0]]
    )
    np.testing.assert_array_equal(pt.top(), PROTO[[0, 1, 0]])
    assert pt.betas[0] == 0.0 and pt.betas[-1] == 1.0
    with pytest.raises(ValueError, match="n_temperatures"):
        ParallelTempering(fam, prm, np.zeros(D), 3, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="method"):
        rbm.sample(2, 5, method="pt")
    with pytest.raises(ValueError, match="n_temperatures"):
        rbm.sample(2, 5, method="tempering", n_temperatures=1)


def test_tempering_is_reproducible():
    rbm = _model(3.0)
    a = rbm.sample(5, 20, method="tempering", n_temperatures=3, random_state=1)
    b = rbm.sample(5, 20, method="tempering", n_temperatures=3, random_state=1)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == rbm.components_.dtype


# ------------------------------------------------------------------ PT-PCD
def test_pt_pcd_trains_like_gibbs_pcd(binary_digits):
    X, _ = binary_digits
    kw = dict(n_components=16, max_iter=10, random_state=0)
    gibbs = BernoulliRBM(**kw).fit(X)
    pt = BernoulliRBM(sampler="pt", n_temperatures=4, **kw).fit(X)
    # exact log-likelihoods (16 hidden units): PT-PCD learns as well
    assert pt.score(X) > gibbs.score(X) - 1.0
    state = pt._state
    assert state.chains is None
    assert state.tempering.v.shape == (4 * pt.batch_size_, X.shape[1])
    again = BernoulliRBM(sampler="pt", n_temperatures=4, **kw).fit(X)
    np.testing.assert_array_equal(again.components_, pt.components_)


def test_pt_pcd_state_round_trips_and_is_validated(binary_digits):
    X, _ = binary_digits
    rbm = BernoulliRBM(8, max_iter=2, sampler="pt", n_temperatures=3, random_state=0)
    rbm.fit(X[:200])
    copy = pickle.loads(pickle.dumps(rbm))
    np.testing.assert_array_equal(copy._state.tempering.v, rbm._state.tempering.v)
    a = copy.partial_fit(X[200:300]).components_
    b = rbm.partial_fit(X[200:300]).components_
    np.testing.assert_array_equal(a, b)
    bad = pickle.loads(pickle.dumps(rbm))
    bad._state.tempering.v = bad._state.tempering.v[:-1]
    with pytest.raises(ValueError, match="tempering.v"):
        pickle.loads(pickle.dumps(bad))
    # switching the sampler drops one kind of chain and starts the other
    rbm.set_params(sampler="gibbs").partial_fit(X[:100])
    assert rbm._state.tempering is None and rbm._state.chains is not None
    with pytest.raises(ValueError, match="persistent=True"):
        BernoulliRBM(4, sampler="pt", persistent=False).fit(X[:50])
