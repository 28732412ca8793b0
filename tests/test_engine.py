"""The shared engine checked against brute force on tiny models."""

import numpy as np
import pytest
from scipy.special import logsumexp

from sklearn_rbm.engine.families import Bernoulli, Categorical, Gaussian, binary_states
from sklearn_rbm.engine.gibbs import free_energy, hidden_proba
from sklearn_rbm.engine.numerics import data_moments
from sklearn_rbm.engine.partition import (
    ais_betas,
    log_partition_ais,
    log_partition_exact,
)
from sklearn_rbm.engine.statistics import gradient, phase_stats
from sklearn_rbm.training.cd import DenseCD
from sklearn_rbm.training.optimizers import MomentumSGD
from sklearn_rbm.training.reference import cd_update_reference
from sklearn_rbm.training.state import CDSettings


def make_phase(family, *, weight_decay=0.0, max_grad_norm=None, lr_scale=(), **cd):
    """The dense CD phase: CD settings and momentum SGD."""
    optimizer = MomentumSGD(weight_decay, max_grad_norm, lr_scale)
    return DenseCD(family, CDSettings(**cd), optimizer)


def random_params(n_visible, n_hidden, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    return {
        "W": rng.normal(0, scale, (n_hidden, n_visible)),
        "b": rng.normal(0, 1, n_visible),
        "c": rng.normal(0, 1, n_hidden),
    }


def brute_force_log_joint(p, V, H):
    """-E(v, h) for every pair of rows of V and H."""
    return V @ p["W"].T @ H.T + (V @ p["b"])[:, None] + (H @ p["c"])[None, :]


@pytest.mark.parametrize("n_visible, n_hidden", [(5, 7), (7, 5), (6, 6)])
def test_exact_log_likelihood_matches_enumeration_of_both_layers(n_visible, n_hidden):
    p = random_params(n_visible, n_hidden, seed=n_visible)
    V = binary_states(n_visible)
    H = binary_states(n_hidden)
    log_joint = brute_force_log_joint(p, V, H)
    log_z = logsumexp(log_joint)
    log_p = logsumexp(log_joint, axis=1) - log_z
    fam = Bernoulli()
    est = log_partition_exact(fam, p)
    assert est.method == "exact" and est.std_err == 0.0
    np.testing.assert_allclose(est.log_z, log_z, rtol=0, atol=1e-10)
    np.testing.assert_allclose(-free_energy(fam, V, p) - est.log_z, log_p, atol=1e-10)
    # the probabilities sum to one
    np.testing.assert_allclose(np.exp(log_p).sum(), 1.0, atol=1e-12)


@pytest.mark.parametrize("n_hidden", [4, 8])
def test_categorical_family_matches_enumeration(n_hidden):
    # 27 visible states: n_hidden=4 enumerates hidden states with the closed-form
    # softmax normaliser, n_hidden=8 enumerates the visible states
    K, n_var = 3, 3
    fam = Categorical(K)
    p = random_params(K * n_var, n_hidden, seed=3)
    V = fam.enumerate_visible(K * n_var, np.float64)
    assert V.shape == (K**n_var, K * n_var)
    np.testing.assert_array_equal(V.reshape(-1, n_var, K).sum(axis=2), 1)
    H = binary_states(n_hidden)
    log_joint = brute_force_log_joint(p, V, H)
    log_z = logsumexp(log_joint)
    np.testing.assert_allclose(log_partition_exact(fam, p).log_z, log_z, atol=1e-10)
    # p(v_i = k | h) is the softmax of the field within each group
    h = H[5:6]
    cond = np.exp(log_joint[:, 5] - logsumexp(log_joint[:, 5]))  # p(v | h)
    marg = (cond[:, None] * V).sum(axis=0)
    np.testing.assert_allclose(fam.mean(p["b"] + h @ p["W"], p)[0], marg, atol=1e-12)


def test_ais_agrees_with_exact_on_random_model():
    p = random_params(12, 10, seed=1, scale=0.5)
    fam = Bernoulli()
    X = (np.random.default_rng(0).random((200, 12)) < 0.3).astype(float)
    base = fam.base_params(data_moments(X), 10, np.float64)
    exact = log_partition_exact(fam, p).log_z
    ais = log_partition_ais(
        fam, p, base, n_betas=2000, n_runs=200, rng=np.random.default_rng(0)
    )
    assert ais.method == "ais" and ais.std_err > 0
    assert abs(ais.log_z - exact) < max(0.05, 4 * ais.std_err)


def test_ais_betas_schedule():
    b = ais_betas(14500)
    assert b.shape == (14500,) and b[0] == 0.0 and b[-1] == 1.0
    assert np.all(np.diff(b) > 0)
    assert np.sum(b < 0.5) == 500 and np.sum((b >= 0.5) & (b < 0.9)) == 4000


def exact_mean_log_likelihood(p, X):
    fam = Bernoulli()
    return np.mean(-free_energy(fam, X, p)) - log_partition_exact(fam, p).log_z


def test_gradient_with_exact_negative_phase_matches_finite_differences():
    n_visible, n_hidden = 5, 3
    p = random_params(n_visible, n_hidden, seed=7)
    rng = np.random.default_rng(0)
    X = (rng.random((30, n_visible)) < 0.4).astype(float)
    fam = Bernoulli()
    V = binary_states(n_visible)
    log_p = -free_energy(fam, V, p) - log_partition_exact(fam, p).log_z
    pos = phase_stats(fam, X, hidden_proba(fam, X, p), p)
    neg = phase_stats(fam, V, hidden_proba(fam, V, p), p, weights=np.exp(log_p))
    g = gradient(fam, p, pos, neg)
    eps = 1e-6
    for name in ("W", "b", "c"):
        fd = np.zeros_like(p[name])
        for idx in np.ndindex(p[name].shape):
            q = {k: v.copy() for k, v in p.items()}
            q[name][idx] += eps
            up = exact_mean_log_likelihood(q, X)
            q[name][idx] -= 2 * eps
            down = exact_mean_log_likelihood(q, X)
            fd[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(g[name], fd, atol=1e-7, err_msg=name)


def test_centered_gradient_is_the_gradient_in_centered_coordinates():
    """Centered update == exact LL gradient w.r.t. the centered parameters,
    mapped back to the stored (uncentered) ones."""
    n_visible, n_hidden = 4, 3
    p = random_params(n_visible, n_hidden, seed=11)
    rng = np.random.default_rng(1)
    X = (rng.random((25, n_visible)) < 0.5).astype(float)
    mu, lam = rng.random(n_visible), rng.random(n_hidden)
    fam = Bernoulli()
    V = binary_states(n_visible)
    log_p = -free_energy(fam, V, p) - log_partition_exact(fam, p).log_z
    pos = phase_stats(fam, X, hidden_proba(fam, X, p), p)
    neg = phase_stats(fam, V, hidden_proba(fam, V, p), p, weights=np.exp(log_p))
    g_plain = gradient(fam, p, pos, neg)
    g_cent = gradient(fam, p, pos, neg, offsets=(mu, lam))
    # centered parameters: W, b_c = b + W' lam, c_c = c + W mu; the LL gradient
    # w.r.t. them is (gW_c, gb_plain, gc_plain) with gW_c = gW - gc mu' - lam gb'
    gW_c = g_plain["W"] - np.outer(g_plain["c"], mu) - np.outer(lam, g_plain["b"])
    np.testing.assert_allclose(g_cent["W"], gW_c, atol=1e-12)
    # a step on the centered parameters, expressed on the stored ones
    np.testing.assert_allclose(g_cent["b"], g_plain["b"] - lam @ gW_c, atol=1e-12)
    np.testing.assert_allclose(g_cent["c"], g_plain["c"] - gW_c @ mu, atol=1e-12)


@pytest.mark.parametrize(
    "family", [Bernoulli(), Gaussian()], ids=["bernoulli", "gaussian"]
)
@pytest.mark.parametrize("centering", [True, False])
@pytest.mark.parametrize("persistent", [True, False])
@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"max_grad_norm": 0.05, "lr_scale": (("W", 0.5), ("log_var", 0.1))},
        {"negative_init": "noise"},
    ],
    ids=["plain", "clip+lr_scale", "noise"],
)
def test_fused_update_equals_reference(family, centering, persistent, extra):
    rng = np.random.default_rng(0)
    if isinstance(family, Bernoulli):
        X = (rng.random((40, 7)) < 0.4).astype(float)
    else:
        X = rng.normal(size=(40, 7))
    phase = make_phase(
        family,
        learning_rate=0.05,
        momentum=0.7,
        weight_decay=0.01,
        cd_steps=2,
        persistent=persistent,
        n_chains=13,
        centering=centering,
        **extra,
    )
    a = phase.init_state(X, 5, np.float64, np.random.default_rng(1))
    b = a.copy()
    for start in range(0, 40, 10):
        phase.update(a, X[start : start + 10], 0.05, 0.7, 2)
        cd_update_reference(phase, b, X[start : start + 10], 0.05, 0.7, 2)
    for name in a.params:
        np.testing.assert_allclose(
            a.params[name], b.params[name], atol=1e-12, err_msg=name
        )
        np.testing.assert_allclose(
            a.opt.velocity[name], b.opt.velocity[name], atol=1e-12
        )
    assert a.n_updates == b.n_updates == 4


@pytest.mark.parametrize("family", [Bernoulli(), Gaussian()], ids=["bern", "gauss"])
@pytest.mark.parametrize("lr_scale", [(), (("W", 0.5),)], ids=["plain", "scaled"])
def test_weight_decay_leaves_the_centred_biases_alone(family, lr_scale):
    # one step from rest with and without weight decay (same draws): W
    # shrinks by lr * wd * W; the centred biases b + W' lam and c + W mu
    # (offsets of before the step) are the same: decay acts on W alone in
    # the centred frame (the stored biases drifted with it before)
    rng = np.random.default_rng(0)
    if isinstance(family, Bernoulli):
        X = (rng.random((30, 6)) < 0.4).astype(float)
    else:
        X = rng.normal(size=(30, 6))
    states = []
    for wd in (0.0, 0.2):
        phase = make_phase(
            family,
            weight_decay=wd,
            lr_scale=lr_scale,
            learning_rate=0.1,
            persistent=True,
            n_chains=10,
            centering=True,
        )
        st = phase.init_state(X, 4, np.float64, np.random.default_rng(1))
        st.params["W"] = np.random.default_rng(2).normal(0, 1, (4, 6))
        W0, (mu, lam) = st.params["W"].copy(), (o.copy() for o in st.offsets)
        phase.update(st, X[:10], 0.1, 0.9, 1)
        states.append((st.params, mu, lam))
    (p0, mu, lam), (p1, _, _) = states
    scale = dict(lr_scale).get("W", 1.0)
    np.testing.assert_allclose(p1["W"], p0["W"] - 0.1 * scale * 0.2 * W0, atol=1e-12)
    for name, shift in (("b", lambda p: p["W"].T @ lam), ("c", lambda p: p["W"] @ mu)):
        np.testing.assert_allclose(
            p1[name] + shift(p1), p0[name] + shift(p0), atol=1e-12, err_msg=name
        )


@pytest.mark.parametrize("dtype, tol", [(np.float32, 2e-7), (np.float64, 5e-16)])
def test_tanh_sigmoid_matches_expit_to_an_ulp_of_one_half(dtype, tol):
    from scipy.special import expit

    from sklearn_rbm.engine.numerics import sigmoid

    x = np.linspace(-60, 60, 100_001).astype(dtype)
    got = sigmoid(x.copy())
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expit(x.astype(np.float64)), rtol=0, atol=tol)
    assert got.min() >= 0.0 and got.max() <= 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("symmetric", [False, True])
def test_raw_bit_uniforms_are_uniform(dtype, symmetric):
    from scipy import stats

    from sklearn_rbm.engine.numerics import uniform

    rng = np.random.default_rng(3)
    u = uniform(rng, (400, 251), dtype, symmetric=symmetric)
    assert u.shape == (400, 251) and u.dtype == dtype
    low = -1.0 if symmetric else 0.0
    assert u.min() >= low and u.max() < 1.0
    # Kolmogorov-Smirnov against U(low, 1), and the low bits are used
    assert stats.kstest(u.ravel(), "uniform", args=(low, 1.0 - low)).pvalue > 1e-3
    assert len(np.unique(u)) > 0.99 * u.size
    # reproducible from the seed, different from the next draw
    again = uniform(np.random.default_rng(3), (400, 251), dtype, symmetric=symmetric)
    np.testing.assert_array_equal(u, again)
    assert not np.array_equal(u, uniform(rng, (400, 251), dtype, symmetric=symmetric))


def test_bernoulli_samples_have_the_conditional_frequencies():
    # the tanh-domain comparison of Bernoulli.sample against sigmoid(field)
    from scipy.special import expit

    from sklearn_rbm.engine.gibbs import sample_bernoulli

    field = np.linspace(-4, 4, 9)
    n = 200_000
    for dtype in (np.float32, np.float64):
        F = np.broadcast_to(field.astype(dtype), (n, field.size))
        rng = np.random.default_rng(0)
        freq_v = Bernoulli().sample(F, None, rng).mean(axis=0)
        freq_h = sample_bernoulli(expit(F), rng).mean(axis=0)
        se = np.sqrt(expit(field) * (1 - expit(field)) / n)
        assert np.all(np.abs(freq_v - expit(field)) < 5 * se + 1e-12)
        assert np.all(np.abs(freq_h - expit(field)) < 5 * se + 1e-12)


@pytest.mark.parametrize("batch", [10, 40], ids=["thin", "thick"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocked_weight_update_equals_reference(batch, dtype, monkeypatch):
    # blocks of 2 rows of W (3 blocks for 5 hidden units), thin and thick paths
    from sklearn_rbm.training import lowrank

    monkeypatch.setattr(lowrank, "_BLOCK_THIN", 14)
    monkeypatch.setattr(lowrank, "_BLOCK_THICK", 14)
    monkeypatch.setattr(lowrank, "_THIN_ROWS", 32)
    rng = np.random.default_rng(0)
    X = (rng.random((120, 7)) < 0.4).astype(dtype)
    phase = make_phase(
        Bernoulli(),
        learning_rate=0.05,
        momentum=0.9,
        weight_decay=0.01,
        cd_steps=1,
        persistent=True,
        n_chains=batch,
        centering=True,
    )
    a = phase.init_state(X, 5, dtype, np.random.default_rng(1))
    b = a.copy()
    for start in range(0, 120, batch):
        phase.update(a, X[start : start + batch], 0.05, 0.9, 1)
        cd_update_reference(phase, b, X[start : start + batch], 0.05, 0.9, 1)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for name in a.params:
        assert a.params[name].dtype == dtype
        np.testing.assert_allclose(
            a.params[name], b.params[name], atol=tol, err_msg=name
        )
        np.testing.assert_allclose(a.opt.velocity[name], b.opt.velocity[name], atol=tol)


@pytest.mark.parametrize("family_name", ["bernoulli", "gaussian"])
def test_raise_matches_exact_log_likelihood_and_is_conservative(family_name):
    from sklearn_rbm.engine.partition import log_likelihood_raise

    rng = np.random.default_rng(0)
    if family_name == "bernoulli":
        family = Bernoulli()
        p = random_params(8, 6, seed=0)
        base = {"b": rng.normal(0, 0.5, 8)}
        V = (rng.random((5, 8)) < 0.5).astype(float)
    else:
        family = Gaussian()
        p = random_params(2, 4, seed=0, scale=0.5)
        p["log_var"] = np.array([-0.3, 0.2])
        base = {"b": np.zeros(2), "log_var": np.array([0.5, 0.5])}
        V = rng.normal(0, 1, (5, 2))
    exact = -free_energy(family, V, p) - log_partition_exact(family, p).log_z
    # many chains per point: log of the averaged weights -> log q(v) ~ log p(v)
    est = log_likelihood_raise(
        family, p, base, V, n_betas=1000, n_runs=3000, rng=np.random.default_rng(1)
    )
    np.testing.assert_allclose(est, exact, atol=0.05)
    # one chain per point: the log of an unbiased estimate is low on average
    singles = np.array(
        [
            log_likelihood_raise(
                family, p, base, V, n_betas=20, n_runs=1, rng=np.random.default_rng(s)
            )
            for s in range(200)
        ]
    )
    assert np.all(singles.mean(axis=0) < exact)


@pytest.mark.parametrize(
    "family, n_visible", [(Bernoulli(), 7), (Categorical(3), 12)], ids=["bern", "cat"]
)
def test_visible_state_chunks_equal_enumeration(family, n_visible):
    chunks = list(family.visible_state_chunks(n_visible, np.float32, 10))
    assert all(c.shape[0] <= 10 and c.dtype == np.float32 for c in chunks)
    np.testing.assert_array_equal(
        np.concatenate(chunks), family.enumerate_visible(n_visible, np.float32)
    )


def test_exact_log_z_enumerates_visible_states_in_chunks():
    """The visible route (n_features < n_components <= ...) never holds all
    2**n_features states at once, like the hidden route."""
    import tracemalloc

    fam = Bernoulli()
    p = random_params(16, 20, seed=3, scale=0.1)
    tracemalloc.start()
    try:
        est = log_partition_exact(fam, p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < binary_states(16).nbytes / 2  # 8.4 MB
    # the other route, by hand: sum over the 2**20 hidden states of
    # exp(c'h) prod_i (1 + exp(b_i + (W'h)_i)), 2**16 states at a time
    parts = []
    for start in range(0, 2**20, 2**16):
        H = binary_states(20, np.float64, start, start + 2**16)
        parts.append(
            logsumexp(H @ p["c"] + np.logaddexp(0, p["b"] + H @ p["W"]).sum(1))
        )
    np.testing.assert_allclose(est.log_z, logsumexp(parts), rtol=0, atol=1e-9)


# ------------------------------------------ early stopping with a linear decay


def _drive(stopper, scores, scheduled=0.1):
    """Feed ``scores`` epoch by epoch; the learning rates used and the epoch
    count at the stop (None: not stopped)."""
    from types import SimpleNamespace

    rates = []
    state = SimpleNamespace(copy=lambda: None)
    for epoch, score in enumerate(scores):
        rates.append(stopper.learning_rate(epoch, scheduled * (1 - epoch / 1000)))
        if stopper.update(score, state, epoch):
            return rates, epoch + 1
    return rates, None


def test_a_stall_starts_a_linear_decay_to_zero():
    from sklearn_rbm.training.loop import ANNEAL_FACTOR, AnnealingEarlyStopping

    # improves for 3 epochs, then stalls: patience 2 runs out after epoch 5
    scores = [1.0, 2.0, 3.0, 3.0, 3.0] + [2.0] * 200
    stopper = AnnealingEarlyStopping(tol=0.1, n_iter_no_change=2, end=1000)
    rates, stopped = _drive(stopper, scores)
    length = ANNEAL_FACTOR * 5
    assert stopper.start == 5 and stopper.length == length
    assert stopped == 5 + length  # the decay's last epoch, not the stall
    # before the stall, the schedule's rates; then a linear fall from the
    # last scheduled rate towards zero, one step of rate / (length + 1)
    np.testing.assert_allclose(rates[:5], 0.1 * (1 - np.arange(5) / 1000))
    decay = np.asarray(rates[5:])
    r0 = 0.1 * (1 - 4 / 1000)
    np.testing.assert_allclose(
        decay, r0 * (1 - np.arange(1, length + 1) / (length + 1))
    )
    assert stopper.best_epoch == 2  # the best epoch is kept, as before
    assert "stalled at epoch 5" in stopper.describe("score")


def test_the_decay_ends_at_max_iter_and_a_late_stall_stops():
    from sklearn_rbm.training.loop import AnnealingEarlyStopping

    scores = [1.0, 2.0] + [1.0] * 100
    # 20 epochs in all: the decay after the stall at epoch 4 is cut to 16
    stopper = AnnealingEarlyStopping(tol=0.1, n_iter_no_change=2, end=20)
    rates, stopped = _drive(stopper, scores)
    assert stopper.length == 16 and stopped == 20
    assert 0 < rates[-1] < rates[4] / 10
    # a stall at the last epoch: nothing left to decay, stop there
    stopper = AnnealingEarlyStopping(tol=0.1, n_iter_no_change=2, end=4)
    assert _drive(stopper, scores)[1] == 4
