"""Tests of GaussianBernoulliRBM and of the Gaussian visible family."""

import pickle
import warnings

import numpy as np
import pytest
from _estimators import STOCHASTIC_SAMPLE_WEIGHTS
from scipy import integrate
from scipy.special import expit, logsumexp
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_rbm import GaussianBernoulliRBM
from sklearn_rbm.engine.families import Gaussian, binary_states
from sklearn_rbm.engine.gibbs import free_energy, hidden_proba, visible_field
from sklearn_rbm.engine.partition import (
    log_partition_ais,
    log_partition_exact,
    model_stats_exact,
)
from sklearn_rbm.engine.statistics import gradient, phase_stats

# ---------------------------------------------------------------- helpers


def random_params(rng, n_hidden, n_visible, w_scale=1.0, lv_scale=0.5):
    return {
        "W": rng.normal(0.0, w_scale, (n_hidden, n_visible)),
        "b": rng.normal(0.0, 1.0, n_visible),
        "c": rng.normal(0.0, 1.0, n_hidden),
        "log_var": rng.normal(0.0, lv_scale, n_visible),
    }


def exact_mixture(p):
    """p(v) as the mixture over hidden states: weights, means, variances."""
    fam = Gaussian()
    h = binary_states(p["W"].shape[0])
    a = visible_field(h, p)
    logits = h @ p["c"] + fam.log_normalizer(a, p)
    return np.exp(logits - logsumexp(logits)), a, np.exp(p["log_var"]), h


def mixture_sample(p, n, rng):
    """Exact (ancestral) samples of a small Gaussian-Bernoulli RBM."""
    w, a, var, h = exact_mixture(p)
    k = rng.choice(len(w), size=n, p=w)
    return a[k] + rng.standard_normal((n, a.shape[1])) * np.sqrt(var), h[k]


def with_params(rbm, p):
    """Put known parameters into a fitted estimator (clears the log Z cache)."""
    rbm.components_ = p["W"].copy()
    rbm.intercept_visible_ = p["b"].copy()
    rbm.intercept_hidden_ = p["c"].copy()
    rbm.log_variance_ = p["log_var"].copy()
    return rbm


@pytest.fixture(scope="module")
def digits():
    X = load_digits().data
    X = X[:, (X > 0).mean(axis=0) >= 0.05]
    return StandardScaler().fit_transform(X)


# ------------------------------------------------------ family and log Z


def test_gaussian_family_conditionals():
    """p(v|h) = N(b + W'h, sigma^2) and p(h|v) = sigmoid(c + W v/sigma^2)."""
    rng = np.random.default_rng(0)
    fam = Gaussian()
    p = random_params(rng, 3, 4)
    v = rng.normal(size=(5, 4))
    prec = np.exp(-p["log_var"])
    expected = 1 / (1 + np.exp(-(p["c"] + (v * prec) @ p["W"].T)))
    np.testing.assert_allclose(hidden_proba(fam, v, p), expected, rtol=1e-12)
    # F(v) = E_vis(v) - sum softplus(.) with E_vis = sum (v-b)^2 / (2 sigma^2)
    e_vis = 0.5 * ((v - p["b"]) ** 2 * prec).sum(axis=1)
    sp = np.logaddexp(0, p["c"] + (v * prec) @ p["W"].T).sum(axis=1)
    np.testing.assert_allclose(free_energy(fam, v, p), e_vis - sp, rtol=1e-12)
    # log of the Gaussian integral over v for hidden state h
    h = np.array([[1.0, 0.0, 1.0]])
    a = visible_field(h, p)
    var = np.exp(p["log_var"])
    direct = 0.5 * np.sum(np.log(2 * np.pi * var)) + np.sum(
        (a[0] ** 2 - p["b"] ** 2) / (2 * var)
    )
    np.testing.assert_allclose(fam.log_normalizer(a, p)[0], direct, rtol=1e-12)


@pytest.mark.parametrize("n_hidden", [1, 3, 5])
def test_exact_log_z_matches_quadrature_1d(n_hidden):
    rng = np.random.default_rng(n_hidden)
    fam = Gaussian()
    p = random_params(rng, n_hidden, 1, w_scale=1.5)
    log_z = log_partition_exact(fam, p).log_z
    _, a, var, _ = exact_mixture(p)
    sd = float(np.sqrt(var[0]))
    lo, hi = a.min() - 15 * sd, a.max() + 15 * sd

    def density(x):
        return np.exp(-free_energy(fam, np.array([[x]]), p)[0] - log_z)

    total, err = integrate.quad(
        density, lo, hi, points=np.unique(a.ravel()), limit=500, epsabs=1e-12
    )
    assert err < 1e-8
    np.testing.assert_allclose(total, 1.0, rtol=1e-7)


@pytest.mark.parametrize("n_hidden", [2, 3])
def test_exact_log_z_matches_quadrature_2d(n_hidden):
    rng = np.random.default_rng(10 + n_hidden)
    fam = Gaussian()
    p = random_params(rng, n_hidden, 2, w_scale=1.0, lv_scale=0.2)
    log_z = log_partition_exact(fam, p).log_z
    _, a, var, _ = exact_mixture(p)
    sd = np.sqrt(var)
    lo, hi = a.min(axis=0) - 10 * sd, a.max(axis=0) + 10 * sd

    def density(y, x):
        return np.exp(-free_energy(fam, np.array([[x, y]]), p)[0] - log_z)

    total, _ = integrate.dblquad(
        density, lo[0], hi[0], lo[1], hi[1], epsabs=1e-10, epsrel=1e-10
    )
    np.testing.assert_allclose(total, 1.0, rtol=1e-6)


def test_exact_model_stats_match_quadrature_1d():
    """The exact negative phase (closed-form Gaussian moments) in 1D."""
    rng = np.random.default_rng(3)
    fam = Gaussian()
    p = random_params(rng, 3, 1, w_scale=1.5)
    log_z = log_partition_exact(fam, p).log_z
    _, a, var, _ = exact_mixture(p)
    sd = float(np.sqrt(var[0]))
    x = np.linspace(a.min() - 15 * sd, a.max() + 15 * sd, 20001)
    dx = x[1] - x[0]
    simpson = np.ones_like(x)
    simpson[1:-1:2], simpson[2:-1:2] = 4.0, 2.0
    v = x[:, None]
    weights = simpson * dx / 3 * np.exp(-free_energy(fam, v, p) - log_z)
    np.testing.assert_allclose(weights.sum(), 1.0, rtol=1e-9)
    numeric = phase_stats(fam, v, hidden_proba(fam, v, p), p, weights=weights)
    exact = model_stats_exact(fam, p)
    assert set(numeric) == set(exact)
    for name in exact:
        np.testing.assert_allclose(exact[name], numeric[name], rtol=1e-7, atol=1e-9)


def test_exact_log_likelihood_gradient_finite_differences():
    """Engine gradient (exact negative phase) vs finite differences of log p."""
    rng = np.random.default_rng(4)
    fam = Gaussian()
    p = random_params(rng, 4, 3, w_scale=0.7, lv_scale=0.3)
    X = rng.normal(0.0, 1.5, (25, 3)) + p["b"]

    def mean_log_lik(q):
        return np.mean(-free_energy(fam, X, q)) - log_partition_exact(fam, q).log_z

    pos = phase_stats(fam, X, hidden_proba(fam, X, p), p)
    g = gradient(fam, p, pos, model_stats_exact(fam, p))
    assert set(g) == {"W", "b", "c", "log_var"}
    eps = 1e-6
    for name, val in p.items():
        numeric = np.zeros_like(val)
        for idx in np.ndindex(val.shape):
            q = {k: v.copy() for k, v in p.items()}
            q[name][idx] += eps
            up = mean_log_lik(q)
            q[name][idx] -= 2 * eps
            numeric[idx] = (up - mean_log_lik(q)) / (2 * eps)
        np.testing.assert_allclose(g[name], numeric, rtol=1e-5, atol=1e-7)


def test_ais_matches_exact_16_hidden(digits):
    rbm = GaussianBernoulliRBM(
        n_components=16, learning_rate=1e-2, max_iter=40, random_state=0
    ).fit(digits)
    # trained: the variances moved well below the data's
    assert np.median(rbm.sigma_) < 0.8
    exact = rbm.log_partition(method="exact")
    assert exact.method == "exact" and exact.std_err == 0.0
    ais = rbm.log_partition(method="ais", n_betas=3000, n_runs=100, random_state=0)
    assert ais.method == "ais" and ais.n_betas == 3000
    assert abs(ais.log_z - exact.log_z) < 0.5
    assert ais.std_err < 0.25
    # score_samples keeps the exact value over a later estimate
    assert rbm.log_partition_ is exact
    F = rbm.free_energy(digits[:5])
    np.testing.assert_allclose(rbm.score_samples(digits[:5]), -F - exact.log_z)


def test_ais_path_with_fixed_variances_matches_exact():
    """AIS when the base and the model share their variances (fast path)."""
    rng = np.random.default_rng(5)
    fam = Gaussian()
    p = random_params(rng, 12, 6, w_scale=0.5)
    exact = log_partition_exact(fam, p).log_z
    for base_lv in (p["log_var"], np.zeros(6)):
        base = {"b": rng.normal(size=6), "log_var": base_lv}
        est = log_partition_ais(
            fam, p, base, n_betas=2000, n_runs=50, rng=np.random.default_rng(0)
        )
        assert abs(est.log_z - exact) < 0.5


# ------------------------------------------------------------- sampling


def test_sampler_moments_match_exact_marginal():
    rng = np.random.default_rng(6)
    p = random_params(rng, 3, 2, w_scale=1.0, lv_scale=0.3)
    rbm = GaussianBernoulliRBM(n_components=3, max_iter=1, random_state=0)
    rbm = with_params(rbm.fit(rng.normal(size=(20, 2))), p)
    w, a, var, _ = exact_mixture(p)
    mean = w @ a
    cov = np.diag(var) + (a - mean).T @ ((a - mean) * w[:, None])
    n = 20000
    V = rbm.sample(n, n_steps=30, random_state=1)
    assert V.shape == (n, 2)
    se = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(V.mean(axis=0) - mean) < 5 * se)
    np.testing.assert_allclose(np.cov(V.T), cov, rtol=0.05, atol=0.03)
    # third moments too: the marginal is a mixture, not a Gaussian
    m3 = w @ ((a - mean) ** 3 + 3 * (a - mean) * var)
    np.testing.assert_allclose(((V - mean) ** 3).mean(axis=0), m3, atol=0.1)
    # one Gibbs step leaves exact samples' distribution unchanged
    X0, _ = mixture_sample(p, n, rng)
    V1 = rbm.gibbs(X0, random_state=2)
    assert np.all(np.abs(V1.mean(axis=0) - mean) < 5 * se)


def test_learned_variances_recover_true_noise():
    rng = np.random.default_rng(7)
    sigma = np.array([0.5, 0.8, 0.6])
    p = {
        "W": np.array([[1.5, 0.0, 1.0], [0.0, 1.5, 0.0]]),
        "b": np.array([-1.0, -1.0, 0.0]),
        "c": np.zeros(2),
        "log_var": 2 * np.log(sigma),
    }
    # orthogonal weight vectors and these hidden biases give four equally
    # likely (overlapping) components, b + {0, 1}^2 W
    fam = Gaussian()
    p["c"] = fam.log_normalizer(p["b"][None, :], p) - fam.log_normalizer(
        visible_field(np.eye(2), p), p
    )
    np.testing.assert_allclose(exact_mixture(p)[0], 0.25)
    X, _ = mixture_sample(p, 4000, rng)
    # a few spare hidden units, and variances that may move faster than the
    # default for this small problem (4,000 updates)
    rbm = GaussianBernoulliRBM(
        n_components=4,
        learning_rate=1e-2,
        variance_lr_scale=0.1,
        max_iter=100,
        random_state=0,
    ).fit(X)
    np.testing.assert_allclose(rbm.sigma_, sigma, rtol=0.1)
    np.testing.assert_allclose(rbm.variances_, rbm.sigma_**2)
    # from 0.25 of the data's variances: they moved
    assert np.all(np.abs(rbm.variances_ - 0.25 * X.var(axis=0)) > 0.05)
    # and its density is as good as the truth's (exact log Z for both)
    truth = GaussianBernoulliRBM(n_components=2, max_iter=1).fit(X[:10])
    truth = with_params(truth, p)
    assert rbm.score(X) > truth.score(X) - 0.03


# -------------------------------------------------------------- estimator


def test_fit_beats_a_single_gaussian_in_a_pipeline():
    rng = np.random.default_rng(8)
    X = np.concatenate([rng.normal(-2, 0.5, (300, 2)), rng.normal(2, 0.5, (300, 2))])
    X = X * [10.0, 0.1]
    pipe = make_pipeline(
        StandardScaler(),
        GaussianBernoulliRBM(n_components=4, batch_size=10, max_iter=50),
    ).set_params(gaussianbernoullirbm__random_state=0)
    pipe.fit(X[::2])
    gauss = -np.log(2 * np.pi * np.e)  # standard normal in 2D, per sample
    assert pipe.score(X[1::2]) > gauss + 1.0


def test_fixed_variances_stay_fixed(digits):
    rbm = GaussianBernoulliRBM(
        n_components=8, learn_variance=False, max_iter=3, random_state=0
    ).fit(digits)
    np.testing.assert_allclose(rbm.sigma_, 1.0, rtol=1e-10)
    rbm.partial_fit(digits[:200])
    np.testing.assert_allclose(rbm.sigma_, 1.0, rtol=1e-10)
    learned = GaussianBernoulliRBM(n_components=8, max_iter=3, random_state=0)
    assert not np.allclose(learned.fit(digits).sigma_, 0.5)  # 0.25 * var, moved


def test_variance_floor():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(200, 3))
    X[:, 1] = 0.5  # a constant feature
    rbm = GaussianBernoulliRBM(
        n_components=4, min_variance=0.05, max_iter=5, random_state=0
    ).fit(X)
    assert np.all(rbm.variances_ >= 0.05 * (1 - 1e-12))
    # the constant feature sits exactly on the floor; the others (0.28 and
    # 0.24 measured) are left alone
    np.testing.assert_allclose(rbm.variances_[1], 0.05, rtol=1e-6)
    assert np.all(rbm.variances_[[0, 2]] > 0.1)
    assert np.isfinite(rbm.score(X))


def test_features_narrower_than_the_floor_warn():
    """A fixed floor keeps small-variance features too wide: fit says so
    (standardised data and constant features, for which the floor is
    meant, do not warn)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    X[:, 2] = 0.1  # constant; its float64 variance is rounding (~5e-33), not 0
    quiet = GaussianBernoulliRBM(n_components=2, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet.fit(X)
        quiet.fit(X, sample_weight=rng.random(200))
        quiet.fit(X * [1.0, 0.2, 1.0])  # variance 0.04: above the floor
    small = X * [1.0, 0.05, 1.0]  # variance 0.0025 < 0.01
    with pytest.warns(UserWarning, match=r"1 of the 3 .*min_variance=0.01 .*1: 0.00"):
        GaussianBernoulliRBM(n_components=2, max_iter=2, random_state=0).fit(small)
    streamed = GaussianBernoulliRBM(n_components=2, random_state=0)
    with pytest.warns(UserWarning, match="min_variance=0.01"):
        streamed.partial_fit(small)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        streamed.partial_fit(small)  # only the first call checks
        GaussianBernoulliRBM(
            n_components=2, max_iter=2, min_variance=1e-3, random_state=0
        ).fit(small)
    assert not [w for w in caught if "below min_variance" in str(w.message)]


def test_transform_inverse_transform_free_energy(digits):
    rbm = GaussianBernoulliRBM(n_components=6, max_iter=2, random_state=0)
    H = rbm.fit_transform(digits[:300])
    assert H.shape == (300, 6)
    W, b = rbm.components_, rbm.intercept_visible_
    # p(h = 1 | v) = sigmoid(c + W (v / sigma^2))
    np.testing.assert_allclose(
        H,
        expit(rbm.intercept_hidden_ + (digits[:300] / rbm.variances_) @ W.T),
        rtol=1e-12,
        atol=1e-14,
    )
    np.testing.assert_allclose(rbm.inverse_transform(H), b + H @ W)
    F = rbm.free_energy(digits[:10])
    np.testing.assert_allclose(
        rbm.score_samples(digits[:10]), -F - rbm.log_partition_.log_z
    )
    assert rbm.score(digits[:10]) == pytest.approx(
        rbm.score_samples(digits[:10]).mean()
    )
    np.testing.assert_array_equal(
        rbm.get_feature_names_out(),
        [f"gaussianbernoullirbm{i}" for i in range(6)],
    )
    with pytest.raises(ValueError, match="columns"):
        rbm.inverse_transform(H[:, :3])
    V = rbm.sample(4, n_steps=5, random_state=0, return_mean=True)
    assert V.shape == (4, digits.shape[1])
    # E[v | h] = b + W'h at the chains' last binary hidden states: each row
    # is b + h @ W for one of the 2**6 states h
    means = b + binary_states(6) @ W
    dist = np.linalg.norm(V[:, None, :] - means[None, :, :], axis=2)
    np.testing.assert_allclose(dist.min(axis=1), 0.0, atol=1e-12)
    assert np.all(np.sort(dist, axis=1)[:, 1] > 1e-3)  # a unique match


def test_set_output_pandas(digits):
    pd = pytest.importorskip("pandas")
    rbm = GaussianBernoulliRBM(n_components=3, max_iter=1, random_state=0)
    out = rbm.set_output(transform="pandas").fit_transform(digits[:50])
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [f"gaussianbernoullirbm{i}" for i in range(3)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(digits, dtype):
    X = digits[:300].astype(dtype)
    rbm = GaussianBernoulliRBM(n_components=5, max_iter=2, random_state=0).fit(X)
    for attr in ("components_", "intercept_visible_", "log_variance_", "sigma_"):
        assert getattr(rbm, attr).dtype == dtype
    assert rbm.transform(X).dtype == dtype
    assert rbm.score_samples(X).dtype == dtype
    assert rbm.free_energy(X).dtype == dtype
    assert rbm.sample(3, n_steps=2, random_state=0).dtype == dtype
    assert rbm.gibbs(X[:3], random_state=0).dtype == dtype
    assert rbm.inverse_transform(rbm.transform(X[:3])).dtype == dtype
    rbm.partial_fit(X[:100])
    assert rbm.components_.dtype == dtype


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_raises(bad):
    X = np.random.default_rng(0).normal(size=(20, 3))
    rbm = GaussianBernoulliRBM(n_components=2, max_iter=1, random_state=0).fit(X)
    X[3, 1] = bad
    for method in (GaussianBernoulliRBM(n_components=2).fit, rbm.transform):
        with pytest.raises(ValueError, match="NaN|infinity"):
            method(X)
    with pytest.raises(ValueError, match="NaN|infinity"):
        rbm.score_samples(X)


def test_sparse_input_rejected():
    sp = pytest.importorskip("scipy.sparse")
    X = sp.random(20, 4, density=0.5, format="csr", random_state=0)
    with pytest.raises(TypeError, match="dense"):
        GaussianBernoulliRBM(n_components=2).fit(X)


@pytest.mark.parametrize("tol", [1e-4, 0.5])
def test_early_stopping_monitors_exact_log_likelihood(digits, tol):
    rbm = GaussianBernoulliRBM(
        n_components=8,
        learning_rate=1e-2,
        learning_rate_schedule="constant",  # a plain stop (the linear
        # schedule decays after a stall: test_gaussian_early_stopping_runs_the_decay)
        max_iter=15,
        early_stopping=True,
        n_iter_no_change=3,
        tol=tol,
        random_state=5,  # a run with an improvement below tol = 0.5
    ).fit(digits)
    scores = rbm.validation_scores_
    assert 1 <= len(scores) <= 15 and rbm.n_iter_ == len(scores)
    # the monitor is the exact mean log-likelihood (in nats, per sample):
    # it improves on the initial model's
    assert max(scores) > scores[0]
    assert all(s < 0 for s in scores)
    best = int(np.argmax(scores))
    if tol == 1e-4:  # the best epoch is not the last: keeping the last fails
        assert best < len(scores) - 1
    else:  # the best epoch improved by less than tol, yet it is the one kept
        assert 0 < max(scores) - max(scores[:best]) < tol
    # rebuild the validation split fit made (first draw of the seeded
    # generator: a permutation, validation rows first); the kept model's
    # exact log-likelihood on it is the best monitored score
    n = digits.shape[0]
    seed = np.random.RandomState(5).randint(2**31 - 1)
    X_val = digits[np.random.default_rng(seed).permutation(n)[: int(round(0.1 * n))]]
    np.testing.assert_allclose(rbm.score(X_val), max(scores), rtol=0, atol=1e-10)


def test_noise_initialised_cd_learns(digits):
    # 20 epochs: after 10, seed 0 has gained 2.8 nats and seeds 1-2 18-24;
    # after 20, 40-45 for all three
    kw = {"n_components": 8, "learning_rate": 1e-2, "max_iter": 20, "random_state": 0}
    base = GaussianBernoulliRBM(
        max_iter=1, **{k: v for k, v in kw.items() if k != "max_iter"}
    )
    start = base.set_params(learning_rate=1e-9).fit(digits).score(digits)
    noise = GaussianBernoulliRBM(
        persistent=False, negative_init="noise", cd_steps=10, **kw
    ).fit(digits)
    assert noise.score(digits) > start + 5.0


def test_partial_fit_continues(digits):
    rbm = GaussianBernoulliRBM(n_components=4, random_state=0)
    rbm.partial_fit(digits[:200])
    W = rbm.components_.copy()
    rbm.partial_fit(digits[200:400])
    assert rbm.n_iter_ == 2
    assert not np.allclose(W, rbm.components_)


def test_max_grad_norm_clips_updates():
    rng = np.random.default_rng(10)
    # with s(v) = v / sigma^2 and sigma^2 the data's variance, the weight
    # gradient grows as the data shrink: 1e-3 makes ||grad W|| about 1.2
    X = rng.normal(size=(100, 5)) * 1e-3
    common = {
        "n_components": 3,
        "max_iter": 1,
        "batch_size": 100,
        "momentum": 0.0,
        "learning_rate": 0.1,
        "weight_decay": 0.0,
        "random_state": 0,
    }
    W0 = (
        GaussianBernoulliRBM(
            learning_rate=1e-12,
            **{k: v for k, v in common.items() if k != "learning_rate"},
        )
        .fit(X)
        .components_
    )
    # momentum and weight decay are 0: one full batch moves W by lr * grad,
    # and the clipped gradient has norm exactly max_grad_norm
    W_free = GaussianBernoulliRBM(**common).fit(X).components_
    W_huge = GaussianBernoulliRBM(max_grad_norm=1e9, **common).fit(X).components_
    W1 = GaussianBernoulliRBM(max_grad_norm=1.0, **common).fit(X).components_
    step_free = np.linalg.norm(W_free - W0)
    assert step_free > 0.1 * 1.0 * 1.1  # the clip is active
    np.testing.assert_allclose(W_huge, W_free, rtol=1e-12, atol=0)
    np.testing.assert_allclose(np.linalg.norm(W1 - W0), 0.1 * 1.0, rtol=1e-6)
    # clipping rescales the gradient, it does not change its direction
    np.testing.assert_allclose(
        W1 - W0, (W_free - W0) * (0.1 / step_free), rtol=1e-6, atol=1e-12
    )


@parametrize_with_checks(
    [GaussianBernoulliRBM(n_components=3, max_iter=3, random_state=0)],
    expected_failed_checks=lambda est: {
        "check_sample_weight_equivalence_on_dense_data": STOCHASTIC_SAMPLE_WEIGHTS
    },
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_raise_brackets_with_exact_likelihood_on_a_fitted_model():
    # 8 hidden units: score_samples is exact; RAISE must land on it
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)) @ np.array([[1.0, 0.5, 0.0], [0, 1, 0.3], [0, 0, 1]])
    rbm = GaussianBernoulliRBM(8, max_iter=20, random_state=0).fit(X)
    exact = rbm.score_samples(X[:10])
    est = rbm.score_samples_raise(X[:10], n_betas=300, n_runs=200, random_state=0)
    assert est.dtype == np.float64 and est.shape == (10,)
    np.testing.assert_allclose(est, exact, atol=0.1)
    with pytest.raises(ValueError, match="n_runs"):
        rbm.score_samples_raise(X[:2], n_runs=0)


def test_auto_batch_size_helps_on_small_data():
    """Held-out exact log-likelihood on standardised digits, 16 hidden units:
    "auto" (batch 10 here) against a fixed batch of 100 (measured over two
    seeds: -105.3 against -113.8 nats)."""
    from sklearn.model_selection import train_test_split

    X = load_digits().data
    X_tr, X_te = train_test_split(X, test_size=0.25, random_state=0)
    sc = StandardScaler().fit(X_tr)
    rng = np.random.default_rng(0)  # jitter: some pixels are constant
    X_tr = sc.transform(X_tr) + rng.normal(0, 0.01, X_tr.shape)
    X_te = sc.transform(X_te) + rng.normal(0, 0.01, X_te.shape)
    auto = GaussianBernoulliRBM(16, max_iter=20, random_state=0).fit(X_tr)
    fixed = GaussianBernoulliRBM(16, batch_size=100, max_iter=20, random_state=0)
    fixed.fit(X_tr)
    assert auto.batch_size_ == 10 and fixed.batch_size_ == 100
    assert auto.score(X_te) > fixed.score(X_te) + 3.0


# ----------------------------------------------- variance ceiling and floor


def test_variance_above_the_ceiling_is_a_clear_error():
    """Variances are capped at exp(20): data beyond that is refused, not
    silently fitted with a far too narrow density."""
    X = load_digits().data[:, 20:30] * 1e5
    with pytest.raises(ValueError, match=r"Feature 0 of X has variance .*Scaler"):
        GaussianBernoulliRBM(n_components=4, max_iter=1).fit(X)
    with pytest.raises(ValueError, match=r"Feature 0 of X has variance"):
        GaussianBernoulliRBM(n_components=4).partial_fit(X)
    # spread over partial_fit calls: each call's variance is small, all rows' not
    rng = np.random.default_rng(0)
    rbm = GaussianBernoulliRBM(n_components=2, random_state=0)
    rbm.partial_fit(rng.normal(size=(100, 3)))
    before = pickle.dumps(rbm)
    shifted = rng.normal(size=(100, 3))
    shifted[:, 2] += 1e5
    with pytest.raises(ValueError, match=r"Feature 2 of the data seen so far"):
        rbm.partial_fit(shifted)
    assert pickle.dumps(rbm) == before
    # below the ceiling (variance 1e8) is fitted
    big = rng.normal(size=(200, 2)) * 1e4
    rbm = GaussianBernoulliRBM(n_components=2, max_iter=2, random_state=0).fit(big)
    assert np.isfinite(rbm.score(big))


@pytest.mark.parametrize(
    "dtype, min_variance",
    [
        (np.float64, 1e-320),  # used to overflow (a raw RuntimeWarning)
        (np.float64, 1e-300),  # used to give a DivergenceError
        (np.float32, 1e-40),
        (np.float64, 1e-13),
        (np.float64, 5e8),  # above the ceiling exp(20): used to be ignored
        (np.float64, 1e9),
    ],
)
def test_min_variance_out_of_range_is_refused(dtype, min_variance):
    X = np.random.default_rng(0).normal(size=(50, 3)).astype(dtype)
    rbm = GaussianBernoulliRBM(n_components=2, max_iter=1, min_variance=min_variance)
    with pytest.raises(ValueError, match=r"'min_variance' .* range \[1e-12, 1"):
        rbm.fit(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("min_variance", [1e-12, 1e8])
def test_min_variance_at_its_bounds_trains(dtype, min_variance):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3)).astype(dtype)
    X[:, 1] = 0.5  # a constant feature: its variance goes to the floor
    rbm = GaussianBernoulliRBM(
        n_components=3, max_iter=3, min_variance=min_variance, random_state=0
    ).fit(X)
    rbm.partial_fit(X)
    assert np.all(rbm.variances_ >= min_variance * (1 - 1e-5))
    assert np.isfinite(rbm.score(X))
    assert np.all(np.isfinite(rbm.sample(5, n_steps=3, random_state=0)))


@pytest.mark.parametrize(
    "n_samples, expected",
    [
        (50, 1000),  # 5 updates per epoch: 1,000 epochs, capped there
        (142, 334),  # batch 10, 15 updates per epoch: ceil(5000 / 15)
        (20_000, 25),  # batch 100, 200 updates per epoch: ceil(5000 / 200)
        (200_000, 20),  # batch 100, 2,000 updates per epoch: at least 20
    ],
)
def test_max_iter_auto_epochs(n_samples, expected):
    """``max_iter="auto"``: epochs for about 5,000 updates, within [20, 1000]."""
    rbm = GaussianBernoulliRBM(max_iter="auto")
    batch = rbm._batch_size(n_samples, continuing=False)
    assert rbm._n_epochs(n_samples, batch) == expected


def test_max_iter_auto_fit_runs_its_epochs():
    X = np.random.default_rng(0).normal(size=(60, 3))
    rbm = GaussianBernoulliRBM(4, max_iter="auto", random_state=0).fit(X)
    assert rbm.n_iter_ == 834  # batch 10: 6 updates per epoch, ceil(5000 / 6)


def test_exact_log_partition_names_the_hidden_layer():
    """With continuous visible units only the hidden layer can be summed over:
    3 features and 21 hidden units are refused for the hidden layer's size."""
    X = np.random.default_rng(0).standard_normal((40, 3))
    rbm = GaussianBernoulliRBM(21, max_iter=1, random_state=0).fit(X)
    with pytest.raises(
        ValueError, match=r"the hidden layer \(the visible units are continuous\)"
    ):
        rbm.log_partition("exact")


def test_gaussian_early_stopping_runs_the_decay(digits):
    kw = dict(
        n_components=8,
        max_iter=300,
        early_stopping=True,
        n_iter_no_change=3,
        random_state=0,
    )
    rbm = GaussianBernoulliRBM(**kw).fit(digits)
    constant = GaussianBernoulliRBM(**kw, learning_rate_schedule="constant")
    constant.fit(digits)
    # the linear schedule decays after its stall and stops at the decay's
    # end, many epochs after the constant schedule's plain stop
    assert rbm.n_iter_ > 3 * constant.n_iter_
    assert rbm.n_iter_ < 300
    assert max(rbm.validation_scores_) > max(constant.validation_scores_)


def _rates_of_fit(rbm, X, monkeypatch):
    """Fit ``rbm`` on ``X``; the learning rate of each epoch, as the
    training step received it."""
    from sklearn_rbm.estimators import _base

    rates, run = [], _base.run_epochs

    def recording(state, step, *args, **kwargs):
        def wrapped(idx, lr, *rest):
            if not rates or rates[-1] != lr:  # one rate per epoch
                rates.append(lr)
            return step(idx, lr, *rest)

        return run(state, wrapped, *args, **kwargs)

    monkeypatch.setattr(_base, "run_epochs", recording)
    rbm.fit(X)
    return np.asarray(rates)


def _first_stall(scores, tol, patience):
    """Epochs done when ``patience`` epochs in a row gained less than ``tol``
    over the best score (EarlyStopping's rule)."""
    best, bad = -np.inf, 0
    for e, score in enumerate(scores):
        bad = 0 if score > best + tol else bad + 1
        best = max(best, score)
        if bad >= patience:
            return e + 1
    return None


@pytest.mark.parametrize("max_iter", [300, 30])
def test_fit_decays_the_rate_after_a_stall(digits, monkeypatch, max_iter):
    # through fit: the schedule's rates until the stall, then a linear fall
    # to zero over ten times the epochs done, cut at max_iter (where it is
    # the schedule's own fall); partial_fit continues at the kept epoch's rate
    lr = 0.005
    rbm = GaussianBernoulliRBM(
        n_components=8,
        max_iter=max_iter,
        early_stopping=True,
        n_iter_no_change=3,
        random_state=0,
    )
    rates = _rates_of_fit(rbm, digits, monkeypatch)
    assert len(rates) == rbm.n_iter_ == len(rbm.validation_scores_)
    start = _first_stall(rbm.validation_scores_, 1e-4, 3)
    assert start is not None and start < 15  # a plain stop would end here
    schedule = lr * (1 - np.arange(len(rates)) / max_iter)
    np.testing.assert_allclose(rates[:start], schedule[:start], rtol=1e-12)
    length = min(10 * start, max_iter - start)
    assert len(rates) == start + length
    steps = np.arange(1, length + 1) / (length + 1)
    np.testing.assert_allclose(rates[start:], rates[start - 1] * (1 - steps))
    if max_iter == 30:  # cut at max_iter: the decay is the schedule's end
        np.testing.assert_allclose(rates, schedule, rtol=1e-12)
    else:  # a steeper fall than the schedule's
        assert np.all(rates[start:] < schedule[start:])
    best = int(np.argmax(rbm.validation_scores_))
    np.testing.assert_allclose(rbm._state.lr_factor, rates[best] / lr, rtol=1e-12)
