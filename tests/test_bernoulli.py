"""BernoulliRBM: likelihoods, sampler, training semantics, validation."""

import contextlib
import io
import itertools
import pickle
import re
import threading
import warnings
from contextlib import redirect_stdout

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, logsumexp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline

from sklearn_rbm import BernoulliRBM, GaussianBernoulliRBM
from sklearn_rbm.datasets import load_nudged_digits
from sklearn_rbm.engine.families import binary_states


def set_random_params(rbm, n_visible, n_hidden, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    rbm.fit(np.zeros((2, n_visible), dtype))  # fitted shell with the right shapes
    rbm.components_ = rng.normal(0, 1, (n_hidden, n_visible)).astype(dtype)
    rbm.intercept_visible_ = rng.normal(0, 1, n_visible).astype(dtype)
    rbm.intercept_hidden_ = rng.normal(0, 1, n_hidden).astype(dtype)
    return rbm


def exact_log_p(rbm):
    """log p(v) for every binary v, by enumerating both layers."""
    W, b, c = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_
    V = binary_states(W.shape[1])
    H = binary_states(W.shape[0])
    log_joint = V @ W.T @ H.T + (V @ b)[:, None] + (H @ c)[None, :]
    return V, logsumexp(log_joint, axis=1) - logsumexp(log_joint)


@pytest.mark.parametrize("n_visible, n_hidden", [(6, 4), (4, 9)])
def test_score_samples_matches_brute_force(n_visible, n_hidden):
    rbm = set_random_params(BernoulliRBM(n_hidden, max_iter=0), n_visible, n_hidden, 0)
    V, log_p = exact_log_p(rbm)
    np.testing.assert_allclose(rbm.score_samples(V), log_p, rtol=0, atol=1e-10)
    assert rbm.log_partition_.method == "exact"
    np.testing.assert_allclose(rbm.score(V), log_p.mean(), atol=1e-10)


def test_log_partition_cache_follows_parameter_changes():
    rbm = set_random_params(BernoulliRBM(3, max_iter=0), 4, 3, 0)
    first = rbm.log_partition().log_z
    rbm.components_ = rbm.components_ * 2
    assert rbm.log_partition_ is None  # stale cache is not used
    V, log_p = exact_log_p(rbm)
    np.testing.assert_allclose(rbm.score_samples(V), log_p, atol=1e-10)
    assert rbm.log_partition_.log_z != first


@pytest.mark.slow
def test_ais_matches_exact_on_trained_digits_model(binary_digits):
    X, _ = binary_digits
    rbm = BernoulliRBM(18, max_iter=20, learning_rate=0.05, random_state=0).fit(X)
    exact = rbm.log_partition("exact").log_z
    ais = rbm.log_partition("ais", n_betas=5000, n_runs=100, random_state=0)
    assert abs(ais.log_z - exact) < 0.5, (ais, exact)
    assert ais.std_err < 0.5
    # the model learned something: far better than the base-rate model
    assert rbm.score(X) > -64 * np.log(2) + 10


def test_gibbs_sampler_matches_exact_distribution():
    rbm = set_random_params(BernoulliRBM(3, max_iter=0), 4, 3, seed=5)
    V, log_p = exact_log_p(rbm)
    n = 20000
    S = rbm.sample(n, n_steps=50, random_state=0)
    codes = (S @ (2 ** np.arange(4))).astype(int)  # same order as binary_states
    emp = np.bincount(codes, minlength=16) / n
    tv = 0.5 * np.abs(emp - np.exp(log_p)).sum()
    # sampling noise alone gives E[TV] ~ 0.01 at n=20000 over 16 states
    assert tv < 0.025, tv


def test_gibbs_single_step_and_sample_from_init():
    rbm = set_random_params(BernoulliRBM(3, max_iter=0), 4, 3, seed=5)
    V = binary_states(4)
    out = rbm.gibbs(V, random_state=0)
    assert out.shape == V.shape and set(np.unique(out)) <= {0.0, 1.0}
    np.testing.assert_array_equal(out, rbm.gibbs(V, random_state=0))
    m = rbm.sample(init=V, n_steps=2, random_state=0, return_mean=True)
    assert np.all((m > 0) & (m < 1))


def _pf_params():
    return dict(
        n_components=8,
        batch_size=10,
        learning_rate=0.05,
        visible_bias_init="zeros",
        momentum_schedule="constant",
        learning_rate_schedule="constant",
        shuffle=False,
        random_state=3,
    )


@pytest.mark.parametrize("centering", [True, False])
@pytest.mark.parametrize("persistent", [True, False])
def test_partial_fit_over_minibatches_equals_fit(binary_digits, persistent, centering):
    X = binary_digits[0][:200]
    kw = dict(_pf_params(), persistent=persistent, centering=centering)
    full = BernoulliRBM(max_iter=2, **kw).fit(X)
    inc = BernoulliRBM(**kw)
    for _ in range(2):
        for start in range(0, 200, 50):  # chunks of whole minibatches
            inc.partial_fit(X[start : start + 50])
    np.testing.assert_array_equal(full.components_, inc.components_)
    np.testing.assert_array_equal(full.intercept_visible_, inc.intercept_visible_)
    np.testing.assert_array_equal(full.intercept_hidden_, inc.intercept_hidden_)


@pytest.mark.parametrize("schedule", ["warmup", "constant"])
def test_partial_fit_passes_follow_the_momentum_schedule(binary_digits, schedule):
    """Each partial_fit call is an epoch of the momentum schedule: whole
    passes equal fit's epochs with the warm-up too (it used to run at the
    full momentum from the first call)."""
    X = binary_digits[0][:200]
    kw = dict(_pf_params(), momentum=0.9, momentum_schedule=schedule)
    full = BernoulliRBM(max_iter=7, **kw).fit(X)
    inc = BernoulliRBM(**kw)
    for _ in range(7):
        inc.partial_fit(X)
    np.testing.assert_array_equal(full.components_, inc.components_)
    np.testing.assert_array_equal(full.intercept_hidden_, inc.intercept_hidden_)


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_persist_mid_training_and_continue_bit_identically(
    binary_digits, dump, tmp_path
):
    X = binary_digits[0]
    a = BernoulliRBM(16, batch_size=20, random_state=0).partial_fit(X[:500])
    if dump == "pickle":
        b = pickle.loads(pickle.dumps(a))
    else:
        joblib.dump(a, tmp_path / "m.joblib")
        b = joblib.load(tmp_path / "m.joblib")
    for est in (a, b):
        est.partial_fit(X[500:1000]).partial_fit(X[1000:])
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    np.testing.assert_array_equal(a.score_samples(X[:5]), b.score_samples(X[:5]))


def test_random_state_gives_bit_identical_models(binary_digits):
    X = binary_digits[0]
    kw = dict(n_components=16, max_iter=3, random_state=42)
    a, b = BernoulliRBM(**kw).fit(X), BernoulliRBM(**kw).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_array_equal(a.intercept_hidden_, b.intercept_hidden_)
    c = BernoulliRBM(**dict(kw, random_state=43)).fit(X)
    assert not np.array_equal(a.components_, c.components_)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved_end_to_end(binary_digits, dtype):
    X = binary_digits[0][:300].astype(dtype)
    rbm = BernoulliRBM(8, max_iter=2, random_state=0).fit(X)
    assert rbm.components_.dtype == dtype
    assert rbm.intercept_hidden_.dtype == dtype
    H = rbm.transform(X)
    assert H.dtype == dtype
    assert rbm.inverse_transform(H).dtype == dtype
    assert rbm.score_samples(X[:4]).dtype == dtype
    assert rbm.free_energy(X[:4]).dtype == dtype
    assert rbm.sample(3, n_steps=2, random_state=0).dtype == dtype
    assert rbm.pseudo_likelihood(X[:3]).dtype == dtype
    rbm.partial_fit(X[:50])
    assert rbm.components_.dtype == dtype


def test_sparse_input_equals_dense(binary_digits):
    X = binary_digits[0][:300]
    kw = dict(n_components=8, max_iter=2, random_state=0)
    dense = BernoulliRBM(**kw).fit(X)
    sparse = BernoulliRBM(**kw).fit(sp.csr_matrix(X))
    np.testing.assert_allclose(dense.components_, sparse.components_, atol=1e-12)
    np.testing.assert_allclose(
        dense.transform(X), sparse.transform(sp.csr_matrix(X)), atol=1e-12
    )
    np.testing.assert_allclose(
        dense.score_samples(X[:5]),
        sparse.score_samples(sp.csr_matrix(X[:5])),
        atol=1e-10,
    )


def test_pseudo_likelihood_all_features_is_exact():
    rbm = set_random_params(BernoulliRBM(3, max_iter=0), 5, 3, seed=2)
    V, log_p = exact_log_p(rbm)
    pl = rbm.pseudo_likelihood(V)
    codes = V @ (2 ** np.arange(5))
    expected = np.zeros(len(V))
    for n, _v in enumerate(V):
        for i in range(5):
            flipped = int(codes[n]) ^ (1 << i)
            expected[n] += log_p[n] - np.logaddexp(log_p[n], log_p[flipped])
    np.testing.assert_allclose(pl, expected, atol=1e-10)
    # a random subset of features is an unbiased, rescaled estimate
    est = np.mean(
        [rbm.pseudo_likelihood(V, features=2, random_state=s) for s in range(400)], 0
    )
    np.testing.assert_allclose(est, expected, atol=0.35)


def test_pseudo_likelihood_of_probabilities_is_the_expected_log_probability():
    """For x_i in (0, 1) each feature adds x_i log p(v_i=1 | x_-i) +
    (1 - x_i) log p(v_i=0 | x_-i), the conditionals from free-energy
    differences at v_i = 0 and 1 (flipping x_i gave log 0.5 at x_i = 0.5,
    whatever the model)."""
    rbm = set_random_params(BernoulliRBM(3, max_iter=0), 5, 3, seed=2)
    G = np.random.default_rng(0).random((7, 5))
    G[0] = 0.5
    expected = np.zeros(len(G))
    for i in range(5):
        v0, v1 = G.copy(), G.copy()
        v0[:, i], v1[:, i] = 0.0, 1.0
        logit = rbm.free_energy(v0) - rbm.free_energy(v1)
        expected += G[:, i] * -np.logaddexp(0, -logit)
        expected += (1 - G[:, i]) * -np.logaddexp(0, logit)
    np.testing.assert_allclose(rbm.pseudo_likelihood(G), expected, atol=1e-10)
    assert abs(rbm.pseudo_likelihood(G[:1])[0] - 5 * np.log(0.5)) > 0.1
    est = np.mean(
        [rbm.pseudo_likelihood(G, features=2, random_state=s) for s in range(400)], 0
    )
    np.testing.assert_allclose(est, expected, atol=0.35)


def test_fit_monitor_is_the_pseudo_likelihood_of_grey_levels():
    """The early-stopping / verbose monitor scores grey levels as
    pseudo_likelihood does (all features when there are at most 32)."""
    rbm = set_random_params(BernoulliRBM(3, max_iter=0), 5, 3, seed=2)
    G = np.random.default_rng(1).random((40, 5))
    np.testing.assert_allclose(
        rbm._monitor_score(G, rbm._params()), rbm.pseudo_likelihood(G).mean()
    )


def test_pipeline_grid_search_beats_raw_pixels():
    X, y = load_nudged_digits()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=0)
    raw = LogisticRegression(C=100.0, max_iter=500).fit(X_tr, y_tr).score(X_te, y_te)
    pipe = Pipeline(
        [
            (
                "rbm",
                BernoulliRBM(
                    batch_size=10,
                    learning_rate=0.06,
                    max_iter=10,
                    random_state=0,
                ),
            ),
            ("clf", LogisticRegression(solver="newton-cg", C=6000.0)),
        ]
    )
    grid = GridSearchCV(pipe, {"rbm__n_components": [25, 100]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X_tr, y_tr)
    acc = grid.score(X_te, y_te)
    assert grid.best_params_ == {"rbm__n_components": 100}
    # scikit-learn's example reports about 0.78 for raw pixels on this data
    assert acc > raw + 0.1, (acc, raw)


def test_grid_search_selects_by_log_likelihood(binary_digits):
    X = binary_digits[0]
    grid = GridSearchCV(
        BernoulliRBM(max_iter=30, batch_size=20, random_state=0, learning_rate=0.05),
        {"n_components": [2, 12]},
        cv=2,
    ).fit(X)
    # more hidden units give a higher held-out likelihood on digits
    assert grid.best_params_ == {"n_components": 12}
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))


def test_verbose_prints_progress_per_epoch(binary_digits):
    buf = io.StringIO()
    with redirect_stdout(buf):
        BernoulliRBM(4, max_iter=3, verbose=1, random_state=0).fit(binary_digits[0])
    lines = [
        ln for ln in buf.getvalue().splitlines() if ln.startswith("[BernoulliRBM]")
    ]
    assert len(lines) == 3
    assert re.match(
        r"\[BernoulliRBM\] Iteration 2, pseudo-likelihood = -\d+\.\d+, time", lines[1]
    )


def test_early_stopping_stops_and_keeps_best(binary_digits):
    X = binary_digits[0]
    rbm = BernoulliRBM(
        16,
        max_iter=200,
        learning_rate=0.05,
        momentum=0.9,  # the density settings, but a constant rate: a plain
        # stop (with "linear" a stall starts the decay, test_engine.py)
        learning_rate_schedule="constant",
        centering=True,
        early_stopping=True,
        n_iter_no_change=2,
        tol=0.5,
        random_state=1,  # a best epoch that improved by less than tol
    ).fit(X)
    assert rbm.n_iter_ < 200
    scores = np.asarray(rbm.validation_scores_)
    assert len(scores) == rbm.n_iter_
    assert np.all(np.isfinite(scores))
    # the best epoch is neither the last one nor one that improved by tol:
    # keeping the last model, or only tol-sized improvements, fails below
    best = int(np.argmax(scores))
    assert best < len(scores) - 1
    assert scores[best] - np.max(scores[:best]) < 0.5
    # rebuild the validation split fit made (first draw of the seeded
    # generator: a permutation, validation rows first)
    n = X.shape[0]
    n_val = int(round(0.1 * n))
    seed = np.random.RandomState(1).randint(2**31 - 1)
    X_val = X[np.random.default_rng(seed).permutation(n)[:n_val]]
    # the monitor: pseudo-likelihood over 32 features per row drawn by
    # default_rng(0), scaled by 64 / 32; here from free energies of the
    # kept model's public parameters
    W, b, c = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_

    def free_energy(v):
        return -v @ b - np.logaddexp(0, v @ W.T + c).sum(axis=-1)

    idx = np.argsort(np.random.default_rng(0).random(X_val.shape), axis=1)[:, :32]
    flipped = np.repeat(X_val[:, None, :], 32, axis=1)  # (n_val, 32, 64)
    rows = np.arange(n_val)[:, None]
    flipped[rows, np.arange(32), idx] = 1 - flipped[rows, np.arange(32), idx]
    dF = free_energy(flipped) - free_energy(X_val)[:, None]
    pl = -np.logaddexp(0, -dF).sum(axis=1) * (64 / 32)
    np.testing.assert_allclose(np.mean(pl), scores[best], rtol=0, atol=1e-10)


def test_get_feature_names_out_and_set_output(binary_digits):
    pd = pytest.importorskip("pandas")
    X = binary_digits[0][:50]
    rbm = BernoulliRBM(3, max_iter=1, random_state=0).fit(X)
    names = rbm.get_feature_names_out()
    assert list(names) == ["bernoullirbm0", "bernoullirbm1", "bernoullirbm2"]
    out = clone(rbm).set_output(transform="pandas").fit(X).transform(X)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == list(names)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([[0.0, np.nan], [1.0, 0.0]]), "NaN"),
        (np.array([[0.0, np.inf], [1.0, 0.0]]), "infinity"),
        (np.array([[0.0, 2.0], [1.0, 0.0]]), r"values in \[0, 1\]"),
        (np.array([[0.0, -0.5], [1.0, 0.0]]), r"values in \[0, 1\]"),
        (np.empty((0, 2)), "0 sample"),
        (np.array([[0.0, 1.0, 1.0]]), "features"),
    ],
)
def test_bad_input_is_a_clear_error_and_leaves_model_unchanged(bad, match):
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    rbm = BernoulliRBM(2, max_iter=3, random_state=0).fit(X)
    before = pickle.dumps(rbm)
    out_of_range = "0, 1" in match
    methods = [rbm.partial_fit, rbm.score_samples, rbm.gibbs]
    for method in methods + ([] if out_of_range else [rbm.transform]):
        with pytest.raises(ValueError, match=match):
            method(bad)
    assert pickle.dumps(rbm) == before
    if out_of_range:  # transform's features are defined for any real values
        expected = expit(bad @ rbm.components_.T + rbm.intercept_hidden_)
        np.testing.assert_allclose(rbm.transform(bad), expected, rtol=1e-12)
        assert pickle.dumps(rbm) == before
    if bad.shape[1] == 2:  # a fresh fit refuses it too
        with pytest.raises(ValueError, match=match):
            BernoulliRBM(2).fit(bad)


def test_plain_minmax_scaler_pipeline_cross_validates():
    """A MinMaxScaler fitted on training folds maps some test pixels above 1;
    the pipeline's transform accepts them (as scikit-learn's RBM does), so no
    fold's score is lost."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    X, y = load_digits(return_X_y=True)
    X, y = X[:600], y[:600]
    cv = KFold(3, shuffle=True, random_state=0)
    scaled = [MinMaxScaler().fit(X[tr]).transform(X[te]) for tr, te in cv.split(X)]
    assert max(s.max() for s in scaled) > 1  # the case this test is about
    pipe = make_pipeline(
        MinMaxScaler(),
        BernoulliRBM(64, max_iter=20, random_state=0),
        LogisticRegression(max_iter=500),
    )
    scores = cross_val_score(pipe, X, y, cv=cv, error_score="raise")
    assert np.all(scores > 0.75)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rounding_just_outside_the_unit_interval_is_clipped(sparse, dtype):
    """MinMaxScaler's own output can end one ulp above 1 (1.0000000000000002
    on the breast cancer data): fit and score take it as 1, on a copy;
    anything further out is still refused."""
    rng = np.random.default_rng(0)
    X = (rng.random((40, 6)) < 0.4).astype(dtype)
    eps = np.finfo(dtype).eps
    near = X.copy()
    near[0, 0], near[1, 1] = 1 + 2 * eps, -eps  # row 1 col 1: stored if sparse
    wrap = sp.csr_matrix if sparse else np.asarray
    given = wrap(near)
    kept = given.copy()
    a = BernoulliRBM(3, max_iter=3, random_state=0).fit(given)
    b = BernoulliRBM(3, max_iter=3, random_state=0).fit(wrap(np.clip(near, 0, 1)))
    np.testing.assert_array_equal(a.components_, b.components_)
    clipped = wrap(np.clip(near, 0, 1))
    np.testing.assert_array_equal(a.score_samples(given), b.score_samples(clipped))
    diff = given != kept
    assert (diff.nnz if sparse else diff.sum()) == 0  # the input is not changed
    far = X.copy()
    far[0, 0] = 1 + 1e-3
    with pytest.raises(ValueError, match=r"MinMaxScaler\(clip=True\)"):
        a.score_samples(wrap(far))


def test_float32_rounding_is_clipped_for_a_float64_model():
    """The tolerance is that of float32 whatever the model's dtype: float32
    input cast to a float64 model keeps its float32 rounding."""
    X = (np.random.default_rng(0).random((40, 6)) < 0.4).astype(np.float64)
    rbm = BernoulliRBM(3, max_iter=2, random_state=0).fit(X)
    near = X.astype(np.float32)
    near[0, 0] = np.float32(1) + 2 * np.finfo(np.float32).eps
    np.testing.assert_array_equal(
        rbm.score_samples(near), rbm.score_samples(np.clip(near, 0, 1))
    )


def test_minmax_scaled_breast_cancer_fits():
    from sklearn.datasets import load_breast_cancer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    X = load_breast_cancer().data
    assert MinMaxScaler().fit_transform(X).max() > 1  # the case of this test
    pipe = make_pipeline(MinMaxScaler(), BernoulliRBM(8, max_iter=2, random_state=0))
    assert np.isfinite(pipe.fit(X).score(X))


def test_score_sklearn_weights_with_our_ais(binary_digits):
    """Our log-likelihood machinery scores a scikit-learn RBM's weights."""
    from sklearn.neural_network import BernoulliRBM as SkRBM

    X = binary_digits[0]
    sk = SkRBM(n_components=10, n_iter=5, random_state=0).fit(X)
    ours = BernoulliRBM(10, max_iter=0).fit(X)
    ours.components_ = sk.components_.copy()
    ours.intercept_hidden_ = sk.intercept_hidden_.copy()
    ours.intercept_visible_ = sk.intercept_visible_.copy()
    exact = ours.log_partition("exact").log_z
    ais = ours.log_partition("ais", n_betas=3000, n_runs=50, random_state=0).log_z
    assert abs(exact - ais) < 0.5
    assert np.all(np.isfinite(ours.score_samples(X[:10])))


def test_fit_leaves_params_and_public_attributes_alone(binary_digits):
    """check_estimators_overwrite_params / check_dont_overwrite_parameters on
    [0, 1] data (the generic versions feed values > 1)."""
    X = binary_digits[0][:200]
    rbm = BernoulliRBM(4, max_iter=2, random_state=0)
    before = pickle.dumps(rbm.get_params())
    public_before = {k for k in vars(rbm) if not k.startswith("_")}
    rbm.fit(X)
    assert pickle.dumps(rbm.get_params()) == before
    added = {k for k in vars(rbm) if not k.startswith("_")} - public_before
    assert added and all(k.endswith("_") for k in added), added


#: the settings docs/comparison.rst gives for scikit-learn's update rule
SKLEARN_RULE = dict(
    learning_rate=0.1,
    batch_size=10,
    max_iter=10,
    momentum=0.0,
    momentum_schedule="constant",
    weight_decay=0.0,
    centering=False,
    learning_rate_schedule="constant",
    visible_bias_init="zeros",
    shuffle=False,
)


def test_sklearn_rule_settings_match_sklearn_in_likelihood(binary_digits):
    """The documented migration settings learn what scikit-learn's RBM learns.

    Same data, same model size, both scored by exact enumeration: over three
    seeds the mean log-likelihoods agree within a nat (measured: -22.48 for
    scikit-learn, -21.60 for ours; the initial chains differ), while the
    same settings with momentum 0.9 land at -26.0.
    """
    from sklearn.neural_network import BernoulliRBM as SkRBM

    X = binary_digits[0]

    def exact_ll(W, c, b):
        m = BernoulliRBM(16, max_iter=0).fit(X)
        m.components_, m.intercept_hidden_, m.intercept_visible_ = W, c, b
        return m.score(X)

    sk, ours, fast = [], [], []
    for seed in range(3):
        s = SkRBM(16, learning_rate=0.1, batch_size=10, n_iter=10, random_state=seed)
        s.fit(X)
        sk.append(exact_ll(s.components_, s.intercept_hidden_, s.intercept_visible_))
        ours.append(BernoulliRBM(16, random_state=seed, **SKLEARN_RULE).fit(X).score(X))
        rule_with_momentum = dict(SKLEARN_RULE, momentum=0.9)
        fast.append(
            BernoulliRBM(16, random_state=seed, **rule_with_momentum).fit(X).score(X)
        )
    assert abs(np.mean(sk) - np.mean(ours)) < 1.0, (sk, ours)
    assert abs(np.mean(sk) - np.mean(fast)) > 1.0, (sk, fast)


@pytest.mark.parametrize("n_samples, expected", [(300, 10), (5000, 25), (30000, 100)])
def test_auto_batch_size_follows_the_number_of_rows(n_samples, expected):
    X = np.zeros((n_samples, 3))
    assert BernoulliRBM(2, max_iter=0).fit(X).batch_size_ == expected
    assert BernoulliRBM(2, max_iter=0, batch_size=7).fit(X).batch_size_ == 7


def test_auto_batch_size_is_kept_by_partial_fit(binary_digits):
    """The first partial_fit call fixes the size (its chains are made for it)."""
    X = binary_digits[0]
    rbm = BernoulliRBM(4, random_state=0).partial_fit(X[:300])
    assert rbm.batch_size_ == 10 and rbm._state.chains.shape[0] == 10
    rbm.partial_fit(np.vstack([X] * 3))  # 5,391 rows: "auto" alone would say 26
    assert rbm.batch_size_ == 10 and rbm._state.chains.shape[0] == 10
    assert BernoulliRBM(4, random_state=0).fit(np.vstack([X] * 3)).batch_size_ == 26


def test_defaults_learn_on_small_data(binary_digits):
    """The small-data trap: with a fixed batch of 100, a default fit on the
    1,797 digits stayed at the base-rate model it starts from (exact LL
    -24.41 against -24.43); "auto" (batch 10) reaches -19.4."""
    X = binary_digits[0]
    base = BernoulliRBM(16, max_iter=0).fit(X).score(X)
    fitted = BernoulliRBM(16, random_state=0).fit(X)
    assert fitted.batch_size_ == 10
    assert fitted.score(X) > base + 3.0, (fitted.score(X), base)


# ------------------------------------------- set_params between partial_fits


def test_partial_fit_follows_persistent_centering_and_n_chains(binary_digits):
    """Chains and centring offsets are made, resized or dropped when
    ``set_params`` changes ``persistent``, ``n_chains`` or ``centering``
    between ``partial_fit`` calls."""
    X = binary_digits[0][:200]
    kw = dict(n_components=6, batch_size=10, max_iter=2, random_state=0)
    rbm = BernoulliRBM(persistent=False, centering=False, **kw).fit(X)
    assert rbm._state.chains is None and rbm._state.offsets is None
    rbm.set_params(persistent=True).partial_fit(X[:50])
    assert rbm._state.chains.shape == (10, 6)  # n_chains=None: batch_size
    assert rbm._state.chains.dtype == rbm.components_.dtype
    rbm.set_params(n_chains=4).partial_fit(X[:50])
    assert rbm._state.chains.shape == (4, 6)
    rbm.set_params(n_chains=25).partial_fit(X[:50])
    assert rbm._state.chains.shape == (25, 6)
    rbm.set_params(centering=True).partial_fit(X[:50])
    mu, lam = rbm._state.offsets
    assert mu.shape == (X.shape[1],) and lam.shape == (6,)
    # started at the batch's mean and 0.5, then moved by 5 sliding-average steps
    assert np.abs(mu - X[:50].mean(axis=0)).max() < 0.1
    assert np.abs(lam - 0.5).max() < 0.1
    rbm.set_params(centering=False, persistent=False).partial_fit(X[:50])
    assert rbm._state.chains is None and rbm._state.offsets is None
    assert rbm.n_iter_ == 7 and np.all(np.isfinite(rbm.components_))


def test_partial_fit_refuses_a_new_n_components(binary_digits):
    X = binary_digits[0][:100]
    rbm = BernoulliRBM(4, max_iter=1, random_state=0).fit(X)
    before = pickle.dumps(rbm)
    rbm.set_params(n_components=7)
    with pytest.raises(ValueError, match=r"n_components=7 .* 4 hidden units.*fit"):
        rbm.partial_fit(X)
    with pytest.raises(ValueError, match="X has 63 features"):
        rbm.set_params(n_components=4).partial_fit(X[:, 1:])
    assert pickle.dumps(rbm.set_params(n_components=4)) == before
    # inverse_transform checks H against the fitted model, not the parameter
    rbm.set_params(n_components=7)
    assert rbm.inverse_transform(np.full((2, 4), 0.5)).shape == (2, 64)
    with pytest.raises(ValueError, match="X has 7 columns .* 4 hidden units"):
        rbm.inverse_transform(np.full((2, 7), 0.5))
    assert rbm.fit(X).components_.shape == (7, 64)  # fit starts over


def test_inverse_transform_argument_is_not_metadata():
    """Named ``X`` as in scikit-learn (an ``H`` would be taken for metadata
    by the routing machinery: a ``set_inverse_transform_request`` method)."""
    import inspect

    from sklearn_rbm import GaussianBernoulliRBM

    for cls in (BernoulliRBM, GaussianBernoulliRBM):
        assert list(inspect.signature(cls.inverse_transform).parameters) == [
            "self",
            "X",
        ]
        assert not hasattr(cls(), "set_inverse_transform_request")


def test_gibbs_on_a_dataframe_validates_once():
    """No "X does not have valid feature names" warning from a re-validation."""
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(binary_states(4), columns=list("abcd"))
    rbm = BernoulliRBM(3, max_iter=2, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = rbm.gibbs(X, random_state=0)
        rbm.sample(init=X, n_steps=2, random_state=0)
    np.testing.assert_array_equal(out, rbm.sample(init=X, n_steps=1, random_state=0))


def _with_duplicates(X):
    """A non-canonical CSR copy of X with each nonzero split into two entries."""
    A = sp.csr_matrix(X)
    counts = np.diff(A.indptr)
    indptr = np.concatenate([[0], np.cumsum(2 * counts)])
    # each row's entries twice over, at half the value: (i, j) appears twice
    indices = np.concatenate(
        [np.tile(A.indices[a:b], 2) for a, b in zip(A.indptr[:-1], A.indptr[1:])]
    )
    data = np.concatenate(
        [np.tile(A.data[a:b] / 2, 2) for a, b in zip(A.indptr[:-1], A.indptr[1:])]
    )
    out = sp.csr_matrix((data, indices, indptr), shape=X.shape)
    assert not out.has_canonical_format
    np.testing.assert_array_equal(out.toarray(), X)
    return out


@pytest.mark.parametrize("value", [0.7, 1.2])
def test_duplicate_sparse_entries_are_summed_before_the_value_check(value):
    X = np.array([[0.0, 2 * value, 0.0], [1.0, 0.0, 0.0]])
    A = _with_duplicates(X)  # two entries of ``value`` at (0, 1)
    with pytest.raises(ValueError) as dense_err:
        BernoulliRBM(2).fit(X)
    with pytest.raises(ValueError) as sparse_err:
        BernoulliRBM(2).fit(A)
    assert str(sparse_err.value) == str(dense_err.value)
    assert f"[0, {2 * value:g}]" in str(sparse_err.value)
    assert not A.has_canonical_format  # the caller's matrix is left alone
    rbm = BernoulliRBM(2, max_iter=1).fit(np.array([[0.0, 1.0, 0.0]] * 2))
    with pytest.raises(ValueError, match=re.escape(f"[0, {2 * value:g}]")):
        rbm.partial_fit(A)


def test_sparse_input_with_duplicates_equals_dense(binary_digits):
    X = binary_digits[0][:200] * 0.8
    kw = dict(n_components=6, max_iter=2, random_state=0)
    dense = BernoulliRBM(**kw).fit(X)
    sparse = BernoulliRBM(**kw).fit(_with_duplicates(X))
    np.testing.assert_allclose(dense.components_, sparse.components_, atol=1e-12)


@pytest.mark.parametrize("first_alive", [False, True], ids=["ended", "alive"])
def test_concurrent_fits_restore_the_blas_thread_counts(monkeypatch, first_alive):
    """Two overlapping fits in threads, the first to start ending first
    (forced): afterwards the process's BLAS thread counts are those from
    before, whether the first fit's thread has ended (as for a Thread) or
    lives on (as for a pool's worker) when the second fit ends."""
    from threadpoolctl import threadpool_limits

    import sklearn_rbm.estimators._base as base
    from sklearn_rbm.training.threads import blas_controller

    monkeypatch.delenv("SKLEARN_RBM_BLAS_THREADS", raising=False)
    real = base.training_threads
    events = {k: threading.Event() for k in ("A in", "B in", "A out", "B out")}
    threads = {}

    @contextlib.contextmanager
    def overlapping():
        name = threading.current_thread().name
        with real():
            events[f"{name} in"].set()
            if name == "A":  # A enters first and waits for B to be inside
                assert events["B in"].wait(60)
            yield
            if name == "B":  # B leaves last
                assert events["A out"].wait(60)
                if not first_alive:
                    threads["A"].join(60)
        events[f"{name} out"].set()
        if name == "A" and first_alive:
            assert events["B out"].wait(60)

    monkeypatch.setattr(base, "training_threads", overlapping)
    X = (np.random.default_rng(0).random((2000, 50)) < 0.4).astype(float)
    errors = []

    def fit(n_epochs):
        try:
            BernoulliRBM(20, max_iter=n_epochs, random_state=0).fit(X)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            for event in events.values():
                event.set()

    libs = blas_controller().lib_controllers
    with threadpool_limits(limits=2, user_api="blas"):
        before = [lib.num_threads for lib in libs]
        if set(before) != {2}:
            pytest.skip("BLAS cannot be given 2 threads here")
        # threadpoolctl >= 3.8: only one thread at a time may set the limit
        # of a process-wide OpenBLAS pool; this one must not hold on to it
        for lib in libs:
            clear = getattr(type(lib), "clear_controlling_thread", None)
            if clear is not None:
                clear(force=True)
        threads["A"] = threading.Thread(target=fit, args=(3,), name="A")
        threads["B"] = threading.Thread(target=fit, args=(5,), name="B")
        threads["A"].start()
        assert events["A in"].wait(60)
        threads["B"].start()
        threads["A"].join()
        threads["B"].join()
        after = [lib.num_threads for lib in libs]
    assert not errors
    assert after == before


@pytest.mark.parametrize("Est", [BernoulliRBM, GaussianBernoulliRBM])
def test_log_partition_params_set_the_budget_of_score(binary_digits, Est):
    """score in cross-validation computes each fold's log Z with these
    arguments; a key log_partition does not take fails in fit."""
    X = binary_digits[0][:300]
    budget = {"n_betas": 300, "n_runs": 6, "check": False, "random_state": 1}
    rbm = Est(24, max_iter=2, random_state=0, log_partition_params=budget).fit(X)
    score = rbm.score(X)
    lp = rbm.log_partition_
    assert (lp.method, lp.n_betas, lp.n_runs, lp.log_z_check) == ("ais", 300, 6, None)
    twin = Est(24, max_iter=2, random_state=0).fit(X)
    assert twin.log_partition(**budget).log_z == lp.log_z
    assert twin.score(X) == score
    # in cross-validation, and a bad key named before any work
    scores = cross_val_score(rbm, X, cv=2)
    assert np.all(np.isfinite(scores))
    bad = Est(4, max_iter=1, log_partition_params={"betas": 10})
    with pytest.raises(
        ValueError, match=r"log_partition_params has the keys \['betas'\]"
    ):
        bad.fit(X)
    with pytest.raises(ValueError, match="log_partition_params"):
        bad.partial_fit(X)
    assert not hasattr(bad, "components_")
    bad.set_params(log_partition_params={1: 2, "a": 3})  # keys of mixed types
    with pytest.raises(ValueError, match=r"has the keys \['a', 1\]"):
        bad.fit(X)


@pytest.mark.parametrize("Est", [BernoulliRBM, GaussianBernoulliRBM])
@pytest.mark.parametrize(
    "budget, name",
    [
        ({"n_runs": 1}, "n_runs"),
        ({"n_betas": -5}, "n_betas"),
        ({"method": "x"}, "method"),
    ],
)
def test_log_partition_params_values_checked_in_fit(binary_digits, Est, budget, name):
    """A value log_partition refuses fails fit (and partial_fit), not the first
    score: in a grid search every fold's score would be NaN."""
    X = binary_digits[0][:100]
    fitted = Est(4, max_iter=1, random_state=0).fit(X)
    W = fitted.components_.copy()
    fitted.set_params(log_partition_params=budget)
    for method in (fitted.fit, fitted.partial_fit):
        with pytest.raises(
            ValueError,
            match=rf"'{name}' parameter of log_partition_params of {Est.__name__}",
        ):
            method(X)
    np.testing.assert_array_equal(fitted.components_, W)


@pytest.mark.parametrize("Est", [BernoulliRBM, GaussianBernoulliRBM])
def test_exact_log_partition_params_refused_for_large_models(binary_digits, Est):
    """method='exact' for a model neither of whose layers can be enumerated
    fails fit, not every score of a grid search; a small model is fine."""
    X = binary_digits[0][:100]
    fitted = Est(25, max_iter=1, random_state=0).fit(X)
    W = fitted.components_.copy()
    fitted.set_params(log_partition_params={"method": "exact"})
    layer = "hidden layer" if Est is GaussianBernoulliRBM else "smaller layer"
    for method in (fitted.fit, fitted.partial_fit):
        with pytest.raises(ValueError, match=f"method='exact'.*{layer}.*at most 20"):
            method(X)
    np.testing.assert_array_equal(fitted.components_, W)
    small = Est(3, max_iter=1, log_partition_params={"method": "exact"}).fit(X)
    assert small.log_partition_params == {"method": "exact"}
    assert np.isfinite(small.score(X))
    if Est is BernoulliRBM:  # 25 hidden units, but 12 enumerable visible ones
        Est(25, max_iter=1, log_partition_params={"method": "exact"}).fit(X[:, :12])


def test_sampling_follows_the_estimator_random_state(binary_digits):
    """sample and gibbs without their own seed draw from a stream seeded by
    the estimator's random_state: successive calls differ, the sequence
    repeats after a refit or a load."""
    X = binary_digits[0][:200]
    rbm = BernoulliRBM(8, max_iter=2, random_state=0).fit(X)
    first = [rbm.sample(3, 5), rbm.gibbs(X[:4]), rbm.sample(3, 5)]
    assert not np.array_equal(first[0], first[2])
    loaded = pickle.loads(pickle.dumps(rbm))
    rbm.fit(X)
    for model in (rbm, loaded):
        again = [model.sample(3, 5), model.gibbs(X[:4]), model.sample(3, 5)]
        for a, b in zip(first, again):
            np.testing.assert_array_equal(a, b)
    # an explicit seed is used as given and leaves the stream where it was
    np.testing.assert_array_equal(
        rbm.sample(3, 5, random_state=1), loaded.sample(3, 5, random_state=1)
    )
    unseeded = BernoulliRBM(8, max_iter=2).fit(X)
    assert not np.array_equal(unseeded.sample(3, 50), unseeded.sample(3, 50))
    # a failed call draws nothing; a new seed starts a new stream
    a, b = (pickle.loads(pickle.dumps(rbm)) for _ in range(2))
    with pytest.raises(ValueError):
        a.sample(3, 5, init=np.zeros((3, 5)))
    np.testing.assert_array_equal(a.sample(3, 5), b.sample(3, 5))
    a.set_params(random_state=5)
    fresh = (
        BernoulliRBM(8, max_iter=2, random_state=0).fit(X).set_params(random_state=5)
    )
    np.testing.assert_array_equal(a.sample(3, 5), fresh.sample(3, 5))


def test_concurrent_first_samples_differ(binary_digits):
    """Threads making the first sampling call of a model share its stream:
    no two of them get the same draw."""
    X = binary_digits[0][:200]
    rbm = BernoulliRBM(8, max_iter=1, random_state=0).fit(X)
    for _ in range(30):
        model = pickle.loads(pickle.dumps(rbm))
        barrier = threading.Barrier(8)
        out = [None] * 8

        def draw(i, model=model, barrier=barrier, out=out):
            barrier.wait()
            out[i] = model.sample(20, 1).tobytes()

        threads = [threading.Thread(target=draw, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(out)) == 8


def test_log_partition_params_keys_are_log_partition_keywords():
    """The constraints that check log_partition_params name exactly the
    keywords of log_partition (the check of unknown keys reads them)."""
    import inspect

    from sklearn_rbm.estimators._density import _LOG_PARTITION_CONSTRAINTS

    keywords = set(inspect.signature(BernoulliRBM.log_partition).parameters)
    assert keywords - {"self"} == set(_LOG_PARTITION_CONSTRAINTS)


def test_weights_assigned_without_fit_name_the_fix():
    # a review: score_samples and sample of an estimator never fitted, whose
    # weights were assigned by hand, raised AttributeError '_state'
    from sklearn.exceptions import NotFittedError

    rbm = BernoulliRBM(n_components=3, random_state=0)  # a seeded sampler
    rbm.components_ = np.full((3, 5), 0.1)
    rbm.intercept_hidden_ = np.zeros(3)
    rbm.intercept_visible_ = np.zeros(5)
    X = np.eye(5)[:4]
    assert rbm.transform(X).shape == (4, 3)
    for call in (
        lambda: rbm.score_samples(X),
        lambda: rbm.sample(2),
        lambda: rbm.sample(2, random_state=0),
        lambda: rbm.log_partition(),
        lambda: rbm.log_partition_,
    ):
        with pytest.raises(NotFittedError, match=r"max_iter=0\)\.fit\(X\)"):
            call()
    # partial_fit would silently start over from new weights (any of them)
    with pytest.raises(NotFittedError, match="partial_fit would start from new"):
        rbm.partial_fit(X)
    np.testing.assert_array_equal(rbm.components_, np.full((3, 5), 0.1))
    only_weights = BernoulliRBM(n_components=3)
    only_weights.components_ = rbm.components_
    with pytest.raises(NotFittedError, match="partial_fit would start from new"):
        only_weights.partial_fit(X)
    # the documented route: fit with no epochs, then assign
    shell = BernoulliRBM(n_components=3, max_iter=0).fit(X)
    for name in ("components_", "intercept_hidden_", "intercept_visible_"):
        setattr(shell, name, getattr(rbm, name))
    states = np.array(list(itertools.product([0.0, 1.0], repeat=5)))
    log_p = shell.score_samples(states)
    np.testing.assert_allclose(np.logaddexp.reduce(log_p), 0.0, atol=1e-10)
