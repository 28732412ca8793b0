"""Tests of CategoricalRBMRecommender and its sparse kernels."""

import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from scipy.special import expit, logsumexp
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_rbm import CategoricalRBMRecommender
from sklearn_rbm._compat import LegacyTrainState
from sklearn_rbm.datasets import make_ratings
from sklearn_rbm.engine import sparse_categorical as _sparse
from sklearn_rbm.engine.families import Categorical, binary_states, softmax_rows
from sklearn_rbm.engine.gibbs import free_energy as dense_free_energy
from sklearn_rbm.engine.gibbs import hidden_proba as dense_hidden_proba
from sklearn_rbm.engine.gibbs import visible_field
from sklearn_rbm.engine.statistics import phase_stats
from sklearn_rbm.exceptions import DivergenceError
from sklearn_rbm.training.optimizers import Adam, LazyMomentumSGD, MomentumSGD

# small and fast; the training settings are those of the defaults before
# issue 15 (the tests below were written for them)
FAST = {
    "n_components": 16,
    "max_iter": 10,
    "batch_size": 10,
    "learning_rate": 0.05,
    "early_stopping": False,
    "cd_steps": ((0, 1), (10, 3), (15, 5), (18, 9)),
    "weight_decay": 0.003,
    "visible_bias_decay": 0.0,
    "fine_tune_iter": 0,
    "fine_tune_learning_rate": 1e-3,
}


# ------------------------------------------------------------------ fixtures
def make_planted(n_users=120, n_items=60, density=0.3, n_groups=3, noise=0.5, seed=0):
    """Ratings 1..5 with planted user/item groups: r = round(3 + A[g_u, g_i] + e).

    A private generator for the tests (the package's datasets module is
    written elsewhere). Returns ``X`` (pairs), ``y`` and the group labels.
    """
    rng = np.random.default_rng(seed)
    gu = rng.integers(0, n_groups, n_users)
    gi = rng.integers(0, n_groups, n_items)
    A = rng.choice([-2.0, -1.0, 1.0, 2.0], size=(n_groups, n_groups))
    mask = rng.random((n_users, n_items)) < density
    u, i = np.nonzero(mask)
    y = np.clip(
        np.round(3 + A[gu[u], gi[i]] + noise * rng.standard_normal(len(u))), 1, 5
    )
    return np.c_[u, i], y


def split(X, y, frac=0.2, seed=1):
    rng = np.random.default_rng(seed)
    test = rng.random(len(y)) < frac
    return X[~test], y[~test], X[test], y[test]


@pytest.fixture(scope="module")
def planted():
    return make_planted()


@pytest.fixture(scope="module")
def fitted(planted):
    X, y = planted
    return CategoricalRBMRecommender(random_state=0, **FAST).fit(X, y)


def tiny_params(n_vars=3, K=3, H=4, seed=0, conditional=False):
    rng = np.random.default_rng(seed)
    p = {
        "W3": rng.normal(0, 0.7, (n_vars, K, H)),
        "b": rng.normal(0, 0.5, (n_vars, K)),
        "c": rng.normal(0, 0.5, H),
    }
    if conditional:
        p["D"] = rng.normal(0, 0.5, (n_vars, H))
    return p


def dense_params(p):
    H = p["c"].shape[0]
    return {"W": p["W3"].reshape(-1, H).T.copy(), "b": p["b"].ravel(), "c": p["c"]}


# ------------------------------------------------ kernels vs brute force
def test_complete_case_matches_dense_categorical():
    """Sparse kernels on complete cases == the dense Categorical family."""
    n_vars, K, H = 3, 3, 4
    p = tiny_params(n_vars, K, H)
    fam = Categorical(K)
    V = fam.enumerate_visible(n_vars * K, np.float64)  # all 27 complete cases
    ks = V.reshape(len(V), n_vars, K).argmax(axis=2)
    rows = np.repeat(np.arange(len(V)), n_vars)
    var = np.tile(np.arange(n_vars), len(V))
    batch = _sparse.Batch(rows, var, ks.ravel(), len(V), n_vars, K)
    pd = dense_params(p)
    np.testing.assert_allclose(
        _sparse.hidden_proba(batch, p), dense_hidden_proba(fam, V, pd), rtol=1e-12
    )
    np.testing.assert_allclose(
        _sparse.free_energy(batch, p), dense_free_energy(fam, V, pd), rtol=1e-12
    )
    # p(v | h) at every variable, against the dense softmax groups
    h = binary_states(H)[[0, 3, 7, 12]]
    rows_h = np.repeat(np.arange(len(h)), n_vars)
    var_h = np.tile(np.arange(n_vars), len(h))
    prob = softmax_rows(_sparse.visible_logits(var_h, rows_h, h, p))
    ref = fam.mean(visible_field(h, pd), pd).reshape(len(h) * n_vars, K)
    np.testing.assert_allclose(prob, ref, rtol=1e-12)


def test_rating_chain_is_the_dense_categorical_chain():
    """One family, one Gibbs loop: on complete cases, the sparse chain's
    visible samples are the dense Categorical family's samples (same draws),
    its hidden probabilities the dense ones, and CD statistics run through
    the same gibbs_chain."""
    from sklearn_rbm.engine.gibbs import DenseChain, gibbs_chain

    n_vars, K, H = 3, 4, 5
    p = tiny_params(n_vars, K, H, seed=1)
    pd = dense_params(p)
    fam = Categorical(K)
    h = binary_states(H)[[1, 6, 9, 30, 31]]
    rows = np.repeat(np.arange(len(h)), n_vars)
    var = np.tile(np.arange(n_vars), len(h))
    batch = _sparse.Batch(rows, var, np.zeros(len(var), int), len(h), n_vars, K)
    sparse = _sparse.RatingChain(batch, p)
    dense = DenseChain(fam, pd)
    k = sparse.sample_visible(h, np.random.default_rng(5))
    V = dense.sample_visible(h, np.random.default_rng(5))
    np.testing.assert_array_equal(V.reshape(-1, K).argmax(axis=1), k)
    np.testing.assert_allclose(sparse.hidden_proba(k), dense.hidden_proba(V))
    # a whole chain: same draws when the hidden sampler is shared
    sparse.sample_hidden = dense.sample_hidden
    k2, ph_s, _ = gibbs_chain(sparse, h, 3, np.random.default_rng(7), last="proba")
    V2, ph_d, _ = gibbs_chain(dense, h, 3, np.random.default_rng(7), last="proba")
    np.testing.assert_array_equal(V2.reshape(-1, K).argmax(axis=1), k2)
    np.testing.assert_allclose(ph_s, ph_d, rtol=1e-12)


def test_softmax_sampler_has_the_softmax_frequencies():
    """sample_softmax (the sampler of every softmax unit) against exact
    probabilities, within 5 standard errors."""
    from sklearn_rbm.engine.families import sample_softmax

    prob = np.array([[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1], [0, 0, 1.0, 0]])
    n = 100_000
    P = np.repeat(prob, n, axis=0)
    k = sample_softmax(P, np.random.default_rng(0)).reshape(3, n)
    for row in range(3):
        freq = np.bincount(k[row], minlength=4) / n
        se = np.sqrt(prob[row] * (1 - prob[row]) / n)
        assert np.all(np.abs(freq - prob[row]) <= 5 * se + 1e-12), (row, freq)


def test_conditional_of_missing_variable_by_enumeration():
    """p(v_q = k | observed) summing out h (exact) vs enumerating h; and the
    free energy of a partially observed case vs enumeration."""
    n_vars, K, H = 4, 3, 5
    p = tiny_params(n_vars, K, H, seed=3, conditional=True)
    obs_var, obs_k = np.array([0, 2]), np.array([1, 2])
    batch = _sparse.Batch(np.zeros(2, int), obs_var, obs_k, 1, n_vars, K)
    hs = binary_states(H)
    r = np.zeros(n_vars)
    r[obs_var] = 1
    u_obs = p["c"] + p["W3"][obs_var, obs_k].sum(axis=0) + r @ p["D"]
    np.testing.assert_allclose(_sparse.hidden_field(batch, p)[0], u_obs)
    # -F(V) = log sum_h exp(b.v + h.u)
    neg_f = p["b"][obs_var, obs_k].sum() + logsumexp(hs @ u_obs)
    np.testing.assert_allclose(_sparse.free_energy(batch, p)[0], -neg_f)
    for q in (1, 3):
        logp = np.array(
            [p["b"][q, k] + logsumexp(hs @ (u_obs + p["W3"][q, k])) for k in range(K)]
        )
        ref = np.exp(logp - logsumexp(logp))
        got = softmax_rows(
            _sparse.exact_log_scores(np.array([q]), np.array([0]), u_obs[None], p)
        )[0]
        np.testing.assert_allclose(got, ref, rtol=1e-10)
        # mean-field rule: softmax(b_q + W_q p(h|V))
        mf = softmax_rows(
            _sparse.visible_logits(np.array([q]), np.array([0]), expit(u_obs)[None], p)
        )[0]
        ref_mf = np.exp(p["b"][q] + p["W3"][q] @ expit(u_obs))
        np.testing.assert_allclose(mf, ref_mf / ref_mf.sum(), rtol=1e-10)


def test_factored_weights_equal_full_product():
    rng = np.random.default_rng(0)
    n_vars, K, H, R = 5, 3, 4, 2
    A, B = rng.normal(size=(n_vars, K, R)), rng.normal(size=(R, H))
    pf = {"A": A, "B": B, "b": rng.normal(size=(n_vars, K)), "c": rng.normal(size=H)}
    pw = {"W3": A @ B, "b": pf["b"], "c": pf["c"]}
    batch = _sparse.Batch(
        np.array([0, 0, 1]), np.array([0, 3, 2]), np.array([1, 2, 0]), 2, n_vars, K
    )
    np.testing.assert_allclose(
        _sparse.hidden_field(batch, pf), _sparse.hidden_field(batch, pw)
    )
    h = rng.random((2, H))
    np.testing.assert_allclose(
        _sparse.visible_logits(batch.var, batch.rows, h, pf),
        _sparse.visible_logits(batch.var, batch.rows, h, pw),
    )


def test_gradient_matches_dense_sub_rbm_and_ignores_missing():
    """Each case's gradient is that of the dense RBM over its *observed*
    variables only: missing entries contribute nothing."""
    n_vars, K, H = 6, 3, 4
    p = tiny_params(n_vars, K, H, seed=5)
    # two cases with different observed sets
    rows = np.array([0, 0, 0, 1, 1])
    var = np.array([0, 2, 5, 1, 2])
    kpos = np.array([2, 0, 1, 1, 1])
    kneg = np.array([0, 0, 2, 1, 0])
    batch = _sparse.Batch(rows, var, kpos, 2, n_vars, K)
    ph_pos = _sparse.hidden_proba(batch, p)
    neg = _sparse.Batch(rows, var, kneg, 2, n_vars, K)
    ph_neg = _sparse.hidden_proba(neg, p)
    uv, row_g, dense_g = _sparse.gradients(batch, p, ph_pos, kneg, ph_neg)
    np.testing.assert_array_equal(uv, [0, 1, 2, 5])  # untouched vars: no rows
    fam = Categorical(K)
    gW = np.zeros((n_vars, K, H))
    gb = np.zeros((n_vars, K))
    gc = np.zeros(H)
    for case in (0, 1):
        m = rows == case
        sub = var[m]
        ps = {"W3": p["W3"][sub], "b": p["b"][sub], "c": p["c"]}
        pd = dense_params(ps)

        def onehot(k, sub=sub):
            v = np.zeros((1, len(sub) * K))
            v[0, np.arange(len(sub)) * K + k] = 1
            return v

        vp, vn = onehot(kpos[m]), onehot(kneg[m])
        pos = phase_stats(fam, vp, dense_hidden_proba(fam, vp, pd), pd)
        ng = phase_stats(fam, vn, dense_hidden_proba(fam, vn, pd), pd)
        gW[sub] += (pos["W"] - ng["W"]).T.reshape(len(sub), K, H) / 2
        gb[sub] += (pos["b"] - ng["b"]).reshape(len(sub), K) / 2
        gc += (pos["c"] - ng["c"]) / 2
    np.testing.assert_allclose(row_g["W3"], gW[uv], atol=1e-12)
    np.testing.assert_allclose(row_g["b"], gb[uv], atol=1e-12)
    np.testing.assert_allclose(dense_g["c"], gc, atol=1e-12)
    # parameters of unobserved variables do not change anything
    p2 = {k: v.copy() for k, v in p.items()}
    p2["W3"][[3, 4]] += 10.0
    p2["b"][[3, 4]] -= 10.0
    _, row_g2, _ = _sparse.gradients(
        batch, p2, _sparse.hidden_proba(batch, p2), kneg, _sparse.hidden_proba(neg, p2)
    )
    np.testing.assert_allclose(row_g2["W3"], row_g["W3"])


def _lazy_against_dense(seed, n_rows, n_steps, min_rows, max_rows, schedule):
    """Run LazyMomentumSGD and dense MomentumSGD side by side; compare."""
    rng = np.random.default_rng(seed)
    shape = (n_rows, 3, 4)
    W0 = rng.normal(size=shape)
    dense_opt = MomentumSGD(weight_decay=0.01)
    lazy_opt = LazyMomentumSGD(("W3",), {"W3": 0.01})
    dense_p, lazy_p = {"W": W0.copy()}, {"W3": W0.copy()}
    dense = dense_opt.init(dense_p)
    lazy = lazy_opt.init(lazy_p, shape[0])
    for step in range(n_steps):
        lr, mom = schedule(step)
        size = rng.integers(min_rows, max_rows)
        rows = np.sort(rng.choice(shape[0], size=size, replace=False))
        g = rng.normal(size=(len(rows),) + shape[1:])
        full = np.zeros(shape)
        full[rows] = g
        dense_opt.step(dense_p, dense, {"W": full}, lr, mom)
        lazy_opt.step(lazy_p, lazy, {"W3": g}, lr, mom, rows=rows)
    lazy_opt.flush(lazy_p, lazy)
    np.testing.assert_allclose(lazy_p["W3"], dense_p["W"], rtol=1e-10)
    np.testing.assert_allclose(lazy.velocity["W3"], dense.velocity["W"], atol=1e-12)


def test_lazy_row_update_equals_dense_momentum_steps():
    """Lazy momentum + weight decay on touched rows == dense momentum SGD
    (both branches: few rows gathered, many rows dense; a change of the
    learning rate and momentum flushes)."""
    _lazy_against_dense(
        0, 12, 30, 1, 8, lambda step: (0.1, 0.5) if step < 10 else (0.05, 0.9)
    )


def test_blocked_dense_row_step_equals_dense_momentum_steps(monkeypatch):
    """The cache-blocked dense branch of LazyMomentumSGD, blocks of 2 rows."""
    from sklearn_rbm.training import optimizers

    monkeypatch.setattr(optimizers, "_BLOCK_THIN", 24)  # 24 // 12 = 2 rows
    _lazy_against_dense(1, 11, 20, 6, 12, lambda step: (0.05, 0.9))


# --------------------------------------------------------------- behaviour
def test_beats_item_mean_on_planted_structure(planted):
    X, y = planted
    Xtr, ytr, Xte, yte = split(X, y)
    rec = CategoricalRBMRecommender(
        n_components=32,
        max_iter=30,
        batch_size=10,
        learning_rate=0.05,
        early_stopping=True,
        n_iter_no_change=30,
        random_state=0,
    ).fit(Xtr, ytr)
    rmse = np.sqrt(np.mean((rec.predict(Xte) - yte) ** 2))
    item_mean = np.array([ytr[Xtr[:, 1] == i].mean() for i in Xte[:, 1]])
    base = np.sqrt(np.mean((item_mean - yte) ** 2))
    assert rmse < base - 0.2, (rmse, base)


def test_user_and_item_orientation_agree_with_transposed_fit(planted):
    X, y = planted
    kw = dict(FAST, random_state=3)
    a = CategoricalRBMRecommender(orientation="user", **kw).fit(X, y)
    b = CategoricalRBMRecommender(orientation="item", **kw).fit(X[:, ::-1], y)
    Q = X[:50]
    np.testing.assert_array_equal(a.predict(Q), b.predict(Q[:, ::-1]))
    np.testing.assert_array_equal(a.components_, b.components_)


@pytest.mark.parametrize("prediction", ["mean_field", "exact"])
def test_fold_in_training_user_reproduces_predict(planted, prediction):
    X, y = planted
    rec = CategoricalRBMRecommender(
        orientation="user", prediction=prediction, **FAST
    ).fit(X, y)
    user = X[0, 0]
    mine = X[:, 0] == user
    queries = np.arange(60)
    got = rec.predict_new_user(X[mine, 1], y[mine], queries)
    ref = rec.predict(np.c_[np.full(60, user), queries])
    np.testing.assert_allclose(got, ref, rtol=1e-5)


def test_fold_in_item_orientation_tracks_predict(planted):
    X, y = planted
    # learning rate 0.3: at FAST's 0.05 the model's own predictions of a
    # training user barely vary (std 0.1), the fold-in fits the history better
    rec = CategoricalRBMRecommender(
        orientation="item", random_state=0, **dict(FAST, learning_rate=0.3)
    )
    rec.fit(X, y)
    queries = np.arange(60)
    # a new user with a training user's ratings predicts like that user (the
    # fold-in is penalised and keeps the items' representations, so not
    # exactly): measured RMS difference <= 0.18 and max 0.47 over 20 users,
    # while the predictions themselves span 0.8 to 3.4 stars
    for user in rec.users_[::24]:
        mine = X[:, 0] == user
        got = rec.predict_new_user(X[mine, 1], y[mine], queries)
        ref = rec.predict(np.c_[np.full(60, user), queries])
        assert np.corrcoef(got, ref)[0, 1] > 0.99
        assert np.sqrt(np.mean((got - ref) ** 2)) < 0.3, user
        assert np.max(np.abs(got - ref)) < 0.75, user
        assert np.ptp(ref) > 0.5


@pytest.mark.parametrize("orientation", ["user", "item"])
def test_fold_in_new_users_beats_fallback(orientation):
    # users left out of fit, half their ratings given as history: the
    # fold-in must beat the item-mean fallback a model without fold-in uses
    X, y = make_planted()
    new = np.unique(X[:, 0])[:15]
    out = np.isin(X[:, 0], new)
    params = dict(FAST, learning_rate=0.3)
    rec = CategoricalRBMRecommender(orientation=orientation, random_state=0, **params)
    rec.fit(X[~out], y[~out])
    rng = np.random.default_rng(0)
    fold, fallback, truth = [], [], []
    for u in new:
        idx = rng.permutation(np.flatnonzero(X[:, 0] == u))
        hist, query = idx[: len(idx) // 2], idx[len(idx) // 2 :]
        fold.append(rec.predict_new_user(X[hist, 1], y[hist], X[query, 1]))
        fallback.append(rec.predict(X[query]))
        truth.append(y[query])
    truth = np.concatenate(truth)
    rmse_fold = np.sqrt(np.mean((np.concatenate(fold) - truth) ** 2))
    rmse_fallback = np.sqrt(np.mean((np.concatenate(fallback) - truth) ** 2))
    assert rmse_fold < rmse_fallback - 0.1, (orientation, rmse_fold, rmse_fallback)


def test_predict_proba_and_classes(fitted, planted):
    X, _ = planted
    P = fitted.predict_proba(X[:20])
    assert P.shape == (20, 5)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_allclose(P @ fitted.classes_, fitted.predict(X[:20]))


def _mean_field_item_predict(rec, pairs):
    """predict of an item-orientation, mean-field model, from its public
    parameters: sum_k classes_[k] softmax_k(b[u, k] + W[u, k] @ h(item))."""
    W3 = rec.components_.astype(np.float64)
    b = rec.intercept_visible_.astype(np.float64)
    user_pos = {u: j for j, u in enumerate(rec.users_)}
    H = rec.transform(pairs[:, 1]).astype(np.float64)
    out = []
    for (u, _), h in zip(pairs, H):
        j = user_pos[u]
        logits = b[j] + W3[j] @ h
        prob = np.exp(logits - logsumexp(logits))
        out.append(prob @ rec.classes_)
    return np.array(out)


def test_half_star_classes_string_ids_and_dataframe():
    pd = pytest.importorskip("pandas")
    X, y = make_planted(n_users=40, n_items=30, seed=2)
    y = y / 2 + 0.5  # 1.0 .. 3.0 in half steps
    df = pd.DataFrame(
        {"user": [f"u{u}" for u in X[:, 0]], "item": [f"i{i}" for i in X[:, 1]]}
    )
    rec = CategoricalRBMRecommender(random_state=0, **FAST).fit(df, y)
    np.testing.assert_array_equal(rec.classes_, np.unique(y))
    pred = rec.predict(df.iloc[:10])
    # mean field, item orientation: the expected half-star rating under
    # softmax_k(b[u, k] + W[u, k] @ p(h | item))
    np.testing.assert_allclose(
        pred, _mean_field_item_predict(rec, df.iloc[:10].to_numpy()), atol=1e-6
    )
    assert list(rec.feature_names_in_) == ["user", "item"]
    items, scores = rec.recommend(["u0", "u1"], n_items=4)
    assert items.shape == (2, 4) and items.dtype.kind == "U"


def test_fit_from_sparse_matrix_equals_pairs(planted):
    X, y = planted
    R = sp.csr_matrix((y, (X[:, 0], X[:, 1])))
    a = CategoricalRBMRecommender(random_state=0, **FAST).fit(R)
    b = CategoricalRBMRecommender(random_state=0, **FAST).fit(X, y)
    np.testing.assert_array_equal(a.predict(X[:30]), b.predict(X[:30]))


def test_unknown_ids_use_fallback_without_raising(fitted, planted):
    X, y = planted
    known_item = X[0, 1]
    Q = np.array([[10_000, known_item], [X[0, 0], 10_000], [10_000, 10_001], X[1]])
    pred = fitted.predict(Q)
    assert np.isfinite(pred).all()
    assert pred[0] == pytest.approx(y[X[:, 1] == known_item].mean())
    assert pred[1] == pytest.approx(y[X[:, 0] == X[0, 0]].mean())
    assert pred[2] == pytest.approx(y.mean())
    P = fitted.predict_proba(Q)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    # string ids against an int-id model are simply unknown (with a warning)
    with pytest.warns(UserWarning, match=r"model's \w+ ids are integers"):
        got = fitted.predict(np.array([["a", "b"]], dtype=object))
    assert np.isfinite(got).all()


def test_recommend_excludes_seen_and_ranks(fitted, planted):
    X, _ = planted
    users = np.array([X[0, 0], X[5, 0], 99_999])
    items, scores = fitted.recommend(users, n_items=5)
    assert items.shape == scores.shape == (3, 5)
    assert np.all(np.diff(scores, axis=1) <= 0)
    for row, u in zip(items[:2], users[:2], strict=True):
        seen = set(X[X[:, 0] == u, 1])
        assert not seen & set(row)
    # the ranking model's scores: log-probabilities over the items
    assert np.all(scores < 0)
    items2, _ = fitted.recommend(users[:1], n_items=5, exclude_seen=False)
    assert items2.shape == (1, 5)


#: the prediction paths: mean field, exact, factored and conditional models
VARIANTS = pytest.mark.parametrize(
    "variant",
    [{}, {"prediction": "exact"}, {"rank": 3}, {"conditional": True}],
    ids=["mean_field", "exact", "factored", "conditional"],
)


@pytest.mark.parametrize("orientation", ["user", "item"])
@VARIANTS
def test_recommend_scores_are_predictions(planted, orientation, variant):
    # ranking="rating" ranks by predict's own value, for every variant: each
    # user's list is the top of predict over all unseen items, in order
    X, y = planted
    rec = CategoricalRBMRecommender(
        n_components=8,
        orientation=orientation,
        max_iter=3,
        random_state=0,
        ranking="rating",
        **variant,
    ).fit(X, y)
    users = np.unique(X[:, 0])[:4]
    all_items = np.unique(X[:, 1])
    items, scores = rec.recommend(users, n_items=len(all_items), exclude_seen=False)
    for u, row, sc in zip(users, items, scores, strict=True):
        pred = rec.predict(np.c_[np.full(len(row), u), row])
        np.testing.assert_allclose(sc, pred, rtol=0, atol=1e-5)
        full = rec.predict(np.c_[np.full(len(all_items), u), all_items])
        np.testing.assert_allclose(np.sort(sc)[::-1], np.sort(full)[::-1], atol=1e-5)


@VARIANTS
def test_cached_hidden_fields_match_fresh_ones(planted, variant, monkeypatch):
    # predictions reuse the cases' hidden fields; they must equal the
    # uncached computation, and a partial_fit must not see stale fields
    import sklearn_rbm.recommender.serving as rec_module

    X, y = planted
    kw = dict(n_components=8, max_iter=3, random_state=0, **variant)
    rec = CategoricalRBMRecommender(**kw).fit(X[:-40], y[:-40])
    twin = pickle.loads(pickle.dumps(rec))
    Q = X[::7]
    cached = (rec.predict(Q), rec.transform(Q), rec.recommend(X[:3, 0], 5)[1])
    cached_again = rec.predict(Q)  # from the filled cache
    with monkeypatch.context() as m:
        m.setattr(rec_module, "_FIELD_CACHE_MAX", 0)
        fresh = (twin.predict(Q), twin.transform(Q), twin.recommend(X[:3, 0], 5)[1])
    for a, b in zip(cached, fresh, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(cached_again, fresh[0])
    rec.partial_fit(X[-40:], y[-40:])
    twin.partial_fit(X[-40:], y[-40:])
    np.testing.assert_array_equal(rec.predict(Q), twin.predict(Q))
    assert not np.array_equal(rec.predict(Q), cached[0])


def test_set_output_and_pipelines(planted, tmp_path):
    pd = pytest.importorskip("pandas")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from sklearn_rbm import persistence

    X, y = planted
    rec = CategoricalRBMRecommender(random_state=0, **FAST).fit(X, y)
    items = np.unique(X[:, 1])[:4]
    plain = rec.transform(items)
    rec.set_output(transform="pandas")
    frame = rec.transform(pd.Series(items, index=list("abcd")))
    assert list(frame.index) == list("abcd")
    assert list(frame.columns) == [f"categoricalrbmrecommender{k}" for k in range(16)]
    np.testing.assert_array_equal(frame.to_numpy(), plain)
    # a pipeline ending in the recommender accepts set_output (it raised)
    pipe = make_pipeline(FunctionTransformer(), clone(rec)).set_output(
        transform="default"
    )
    np.testing.assert_allclose(pipe.fit(X, y).predict(X[:5]), rec.predict(X[:5]))
    # the output setting survives persistence
    path = tmp_path / "rec.skops"
    persistence.save(rec, path)
    assert isinstance(persistence.load(path).transform(items), pd.DataFrame)


def test_transform_hidden_representation(fitted, planted):
    X, y = planted
    items = np.unique(X[:, 1])[:7]
    H = fitted.transform(items)  # item orientation: items
    assert H.shape == (7, 16)
    # unconditional, unfactored: p(h | item) = sigmoid(c + sum over the
    # item's training ratings (user u, rating r) of W[u, r]), rebuilt here
    # from the public parameters and the training pairs
    W3 = fitted.components_.astype(np.float64)
    c = fitted.intercept_hidden_.astype(np.float64)
    assert W3.shape == (len(fitted.users_), len(fitted.classes_), 16)
    user_pos = {u: j for j, u in enumerate(fitted.users_)}
    class_pos = {r: k for k, r in enumerate(fitted.classes_)}
    expected = np.array(
        [
            expit(
                c
                + sum(
                    W3[user_pos[X[r, 0]], class_pos[y[r]]]
                    for r in np.flatnonzero(X[:, 1] == item)
                )
            )
            for item in items
        ]
    )
    np.testing.assert_allclose(H, expected, rtol=0, atol=1e-6)
    # an unknown item has an empty history
    np.testing.assert_allclose(fitted.transform([-1])[0], expit(c), atol=1e-6)
    np.testing.assert_allclose(
        fitted.transform(X[:3])[0], fitted.transform([X[0, 1]])[0]
    )


@pytest.mark.parametrize(
    "kw",
    [
        {"conditional": True},
        {"conditional": True, "transductive": True},
        {"rank": 4},
        {"orientation": "user", "conditional": True, "rank": 3},
        {"prediction": "exact"},
    ],
)
def test_variants_learn(planted, kw):
    X, y = planted
    Xtr, ytr, Xte, yte = split(X, y)
    rec = CategoricalRBMRecommender(random_state=0, **dict(FAST, max_iter=15, **kw))
    rec.fit(Xtr, ytr)
    rmse = np.sqrt(np.mean((rec.predict(Xte) - yte) ** 2))
    item_mean = np.array([ytr[Xtr[:, 1] == i].mean() for i in Xte[:, 1]])
    assert rmse < np.sqrt(np.mean((item_mean - yte) ** 2))


@pytest.mark.parametrize("orientation", ["item", "user"])
def test_visible_bias_decay_shrinks_biases_towards_uniform(planted, orientation):
    X, y = planted
    kw = dict(FAST, orientation=orientation, random_state=0)
    spread = {}
    for decay in (0.0, 0.5):
        rec = CategoricalRBMRecommender(**dict(kw, visible_bias_decay=decay))
        rec.fit(X, y)
        b = rec.intercept_visible_
        # softmax biases are shift-invariant per variable: measure the spread
        spread[decay] = float(np.mean(np.abs(b - b.mean(axis=1, keepdims=True))))
    assert spread[0.5] < 0.7 * spread[0.0]
    # the decay enters the row-sparse (lazy) updates of b like any other
    # row parameter: a huge decay drives every variable's biases to ~uniform
    rec = CategoricalRBMRecommender(**dict(kw, visible_bias_decay=10.0)).fit(X, y)
    b = rec.intercept_visible_
    assert np.all(np.isfinite(b))
    assert np.max(np.abs(b - b.mean(axis=1, keepdims=True))) < 0.5 * spread[0.0]


def test_cd_schedule_and_verbose(planted, capsys):
    X, y = planted
    rec = CategoricalRBMRecommender(
        random_state=0,
        verbose=1,
        **dict(FAST, max_iter=3, early_stopping=True, cd_steps=[(0, 1), (2, 3)]),
    ).fit(X, y)
    out = capsys.readouterr().out
    assert "Iteration 3" in out and "RMSE" in out
    assert len(rec.validation_scores_) == rec.n_iter_ == 3


def test_random_state_gives_bit_identical_models(planted):
    X, y = planted
    a = CategoricalRBMRecommender(random_state=7, **FAST).fit(X, y)
    b = CategoricalRBMRecommender(random_state=7, **FAST).fit(X, y)
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


@pytest.mark.parametrize("dtype", [np.float64, np.dtype("float64")])
def test_numpy_dtypes_mean_their_names(planted, dtype):
    """``dtype=np.float64`` (as scikit-learn's encoders accept) fits the
    model of ``dtype="float64"`` bit for bit, and partial_fit continues it
    under either spelling; other types are refused naming the parameter."""
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = planted
    a = CategoricalRBMRecommender(random_state=7, dtype=dtype, **FAST).fit(X, y)
    b = CategoricalRBMRecommender(random_state=7, dtype="float64", **FAST).fit(X, y)
    assert a.components_.dtype == np.float64
    np.testing.assert_array_equal(a.components_, b.components_)
    a.set_params(dtype="float64").partial_fit(X, y)
    b.set_params(dtype=np.float64).partial_fit(X, y)
    np.testing.assert_array_equal(a.components_, b.components_)
    with pytest.raises(ValueError, match="dtype='float32' differs"):
        a.set_params(dtype=np.float32).partial_fit(X, y)
    with pytest.raises(InvalidParameterError, match="'dtype' parameter"):
        CategoricalRBMRecommender(dtype=np.int64).fit(X, y)


@pytest.mark.parametrize("orientation", ["item", "both"])
def test_n_jobs_zero_is_refused_naming_the_parameter(planted, orientation):
    # a review: joblib's own error, raised only with orientation="both"
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = planted
    rec = CategoricalRBMRecommender(orientation=orientation, n_jobs=0, **FAST)
    with pytest.raises(InvalidParameterError, match="'n_jobs' parameter"):
        rec.fit(X, y)
    rec.set_params(n_jobs=-1)._validate_params()


@pytest.mark.parametrize("orientation", ["item", "both"])
def test_fit_parameters_are_refused_naming_the_estimator(planted, orientation):
    # a review: fit(sample_weight=...) raised Python's TypeError naming
    # BothMixin.fit; partial_fit's refusal leaves the model as it was
    X, y = planted
    rec = CategoricalRBMRecommender(orientation=orientation, **dict(FAST, max_iter=2))
    message = r"CategoricalRBMRecommender\.fit\(\).*'sample_weight'"
    with pytest.raises(TypeError, match=message):
        rec.fit(X, y, sample_weight=np.ones(len(y)))
    assert not hasattr(rec, "n_iter_")
    rec.fit(X, y)
    before = pickle.dumps(rec)
    with pytest.raises(TypeError, match=r"partial_fit\(\).*'a', 'b'"):
        rec.partial_fit(X, y, b=1, a=2)
    assert pickle.dumps(rec) == before


def test_argument_errors_name_the_estimator(fitted, planted):
    # a review: Python's own errors named BothMixin.predict_new_user, and
    # the method wrapper's did not name the method at all; a subclass's
    # errors name the subclass, and the methods still pickle (a first fix
    # renamed their __qualname__, which broke pickling them)
    from sklearn_rbm.exceptions import OneModelOnlyError

    class Mine(CategoricalRBMRecommender):
        pass

    mine = Mine(**dict(FAST, max_iter=1)).fit(*planted)
    for model, cls in ((fitted, "CategoricalRBMRecommender"), (mine, "Mine")):
        calls = {
            "predict_new_user": ([1], [4]),
            "recommend": (),
            "similar_items": (),
            "predict": (),
            "fit": (),
        }
        for name, args in calls.items():
            with pytest.raises(TypeError, match=rf"^{cls}\.{name}\(\)"):
                getattr(model, name)(*args)
        with (
            sklearn.config_context(skip_parameter_validation=True),
            pytest.raises(TypeError, match=rf"^{cls}\.recommend\(\)"),
        ):
            model.recommend()
    for name in ("predict", "recommend", "predict_new_user", "fit"):
        method = getattr(CategoricalRBMRecommender, name)
        assert pickle.loads(pickle.dumps(method)) is method
    both = CategoricalRBMRecommender(orientation="both", **dict(FAST, max_iter=1))
    both.fit(*planted)
    with pytest.raises(OneModelOnlyError, match="orientation='both'"):
        both.transform(planted[0][:3])
    assert OneModelOnlyError.__module__ == "sklearn_rbm.exceptions"


def test_a_rare_end_of_the_scale_warns():
    # a review: one typo rating of 10 among 1..5 moved "liked" to above 5.5
    X, y = make_ratings(n_users=300, n_items=200, random_state=0)  # 6,000
    rec = CategoricalRBMRecommender(n_components=4, max_iter=1, ranking_iter=1)

    def silent(y):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            rec.fit(X, y)

    def edited(*changes):
        out = y.copy()
        for rows, value in changes:
            out[rows] = value
        return out

    silent(y)  # the rarest value, 1, has 3.5% of the ratings
    warned = [
        (
            edited((0, 10)),
            r"A rare rating value .*, 10 \(1 of 6000 ratings\), decides .* \(none of",
        ),
        (edited((slice(5), 0)), r"0 to 5 \(3, 4, 5 of .*without it, 4, 5\."),
        # two rare ends: one warning naming both, compared without either
        (
            edited((0, 10), (1, 0)),
            r"values .*, 0 \(1 of 6000 ratings\), 10 .*without them, 4, 5\.",
        ),
        # rare values peeled off an end one after the other
        (edited((0, 10), (1, 9)), r", 9 \(1 of .*, 10 \(1 of .*without them, 4, 5\."),
        # 0.1% of 6,000 is 6: five ratings of 0 are rare
        (edited((slice(5), 0)), r"0 \(5 of 6000"),
    ]
    for y_bad, message in warned:
        with pytest.warns(UserWarning, match=message) as record:
            rec.fit(X, y_bad)
        assert record[0].filename == __file__  # the user's line
    # six ratings of 0, or thirty (they move "liked" as well), do not warn
    silent(edited((slice(6), 0)))
    silent(edited((slice(30), 0)))
    # a scale with one common value between two rare ones is left alone
    silent(
        np.where(
            np.arange(len(y)) == 0, 1.0, np.where(np.arange(len(y)) == 1, 3.0, 2.0)
        )
    )
    # a rare end that leaves "liked" as it is does not warn (1..5 with three
    # 1s: the middle moves from 3 to 3.5, and 4 and 5 stay liked)
    y_rare_one = np.where(y == 1, 2.0, y)
    y_rare_one[:3] = 1
    silent(y_rare_one)
    # without a ranking model "liked" is not used
    rec.set_params(ranking="rating")
    silent(edited((0, 10)))


def test_column_vector_ratings_warn_as_in_scikit_learn(planted):
    from sklearn.exceptions import DataConversionWarning

    X, y = planted
    a = CategoricalRBMRecommender(random_state=7, **FAST).fit(X, y)
    with pytest.warns(DataConversionWarning, match="column-vector y") as record:
        b = CategoricalRBMRecommender(random_state=7, **FAST).fit(X, y[:, None])
    assert [w.filename for w in record] == [__file__]  # the caller's line
    np.testing.assert_array_equal(a.components_, b.components_)
    # score takes one silently, as scikit-learn's r2_score does
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert b.score(X, y[:, None]) == b.score(X, y)


def test_pickle_round_trip_and_continue_training(fitted, planted):
    X, y = planted
    clone_ = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(clone_.predict(X), fitted.predict(X))
    a = pickle.loads(pickle.dumps(fitted))
    a.partial_fit(X[:200], y[:200])
    b = clone_.partial_fit(X[:200], y[:200])
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_partial_fit_adds_users_and_items(planted):
    X, y = planted
    rec = CategoricalRBMRecommender(random_state=0, **FAST)
    rec.partial_fit(X[:2000], y[:2000])
    n_users = len(rec.users_)
    new = np.array([[500, 3], [500, 7], [501, 1000]])
    before = rec.predict(X[:5])
    rec.partial_fit(np.r_[X[2000:], new], np.r_[y[2000:], [5, 4, 1]])
    # the first call saw only some users: the second adds the rest of the
    # planted users and the two new ones, each once
    assert n_users == len(np.unique(X[:2000, 0]))
    expected_users = np.unique(np.r_[X[:, 0], [500, 501]])
    assert len(rec.users_) == len(expected_users)
    np.testing.assert_array_equal(np.sort(rec.users_), expected_users)
    np.testing.assert_array_equal(
        np.sort(rec.items_), np.unique(np.r_[X[:, 1], [3, 7, 1000]])
    )
    assert not np.array_equal(before, rec.predict(X[:5]))
    assert np.isfinite(rec.predict(np.array([[500, 7], [501, 1000]]))).all()


def test_grid_search_and_cross_val_score(planted):
    X, y = planted
    est = CategoricalRBMRecommender(random_state=0, **dict(FAST, max_iter=4))
    scores = cross_val_score(est, X, y, cv=3, scoring="neg_root_mean_squared_error")
    assert scores.shape == (3,) and np.all(scores < 0) and np.all(scores > -2)
    gs = GridSearchCV(
        est, {"n_components": [4, 8]}, cv=2, scoring="neg_root_mean_squared_error"
    ).fit(X, y)
    means = gs.cv_results_["mean_test_score"]
    assert gs.best_score_ == np.max(means)
    assert gs.best_params_ == gs.cv_results_["params"][int(np.argmax(means))]
    # each mean is the mean of its folds' RMSEs, recomputed here by hand
    folds = list(KFold(2).split(X))
    for params, mean in zip(gs.cv_results_["params"], means):
        rmse = []
        for tr, te in folds:
            model = clone(est).set_params(**params).fit(X[tr], y[tr])
            rmse.append(np.sqrt(np.mean((model.predict(X[te]) - y[te]) ** 2)))
        np.testing.assert_allclose(-np.mean(rmse), mean, rtol=1e-10)
    # the refit model is a fresh fit on all the data with best_params_
    fresh = clone(est).set_params(**gs.best_params_).fit(X, y)
    np.testing.assert_array_equal(gs.best_estimator_.predict(X), fresh.predict(X))


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.array([[0, 1], [1, 2]]), [np.nan, 3], "NaN or infinity"),
        (np.array([[0, 1], [1, 2]]), [np.inf, 3], "NaN or infinity"),
        (np.array([[0, 1], [0, 1]]), [4, 3], "Duplicate"),
        (np.zeros((0, 2)), [], "empty"),
        (np.zeros((3, 3)), [1, 2, 3], "shape"),
        (np.array([0, 1, 2]), [1, 2, 3], "shape"),
        (np.array([[0, 1], [1, 2]]), [1, 2, 3], "2 pairs but y has 3"),
        (np.array([[0.5, 1], [1, 2]]), [1, 2], "integers or strings"),
        (sp.csr_matrix((3, 3)), None, "no non-zero"),
    ],
)
def test_bad_input_raises_clear_value_error(X, y, match):
    with pytest.raises(ValueError, match=match):
        CategoricalRBMRecommender(**FAST).fit(X, y)


def test_failed_calls_leave_fitted_model_unchanged(fitted, planted):
    X, y = planted
    rec = pickle.loads(pickle.dumps(fitted))
    W = rec.components_.copy()
    pred = rec.predict(X[:10])
    with pytest.raises(ValueError, match="not among classes_"):
        rec.partial_fit(X[:5], [1, 2, 3, 4, 7])
    with pytest.raises(ValueError, match="Duplicate"):
        rec.partial_fit(np.r_[X[:2], X[:1]], [1, 2, 3])
    with pytest.raises(ValueError, match="NaN"):
        rec.fit(X[:3], [1, np.nan, 2])
    with pytest.raises(ValueError, match="shape"):
        rec.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="empty"):
        rec.predict(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="classes_"):
        rec.predict_new_user([1, 2], [1, 9], [3])
    np.testing.assert_array_equal(rec.components_, W)
    np.testing.assert_array_equal(rec.predict(X[:10]), pred)


def test_invalid_cd_schedule():
    X, y = make_planted(n_users=20, n_items=10)
    with pytest.raises(ValueError, match="cd_steps"):
        CategoricalRBMRecommender(**dict(FAST, cd_steps=[(0, 0)])).fit(X, y)


# ------------------------------------------------------- estimator checks
# The estimator's X is a pair of ids, not a feature matrix: most generic checks
# feed random float features (non-integral, usually not 2 columns) and compare
# against feature-based expectations, so they fail by design. Each entry says
# why.
_SHAPE = (
    "feeds X of 1, 3 or more feature columns; X here is (user id, item id) "
    "pairs, and another shape is refused with a ValueError saying so"
)
_DUPLICATES = (
    "feeds 2 columns rounded to integers (the categorical input tag) with "
    "rows repeated; a repeated (user, item) pair is refused with a ValueError"
)
_CONTINUOUS = (
    "feeds a continuous y (a distinct value per row); each rating value is a "
    "softmax class, and continuous ratings are refused with a ValueError"
)
_SPARSE = "a sparse X is a users x items rating matrix (y=None), not features"
_TRANSFORM = (
    "transform maps case ids to hidden representations; the estimator is not a "
    "feature transformer (no fit_transform of X)"
)
# the reasons were checked against check_estimator(on_fail=None)'s exceptions
# with scikit-learn 1.9.1
EXPECTED_FAILED = dict.fromkeys(
    [
        "check_estimators_dtypes",
        "check_fit_score_takes_y",
        "check_pipeline_consistency",
        "check_estimators_pickle",
        "check_f_contiguous_array_estimator",
        "check_fit2d_predict1d",
        "check_fit2d_1sample",
        "check_fit2d_1feature",
        "check_dict_unchanged",
        "check_dont_overwrite_parameters",
        "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit",
        "check_regressors_train",
        "check_regressor_data_not_an_array",
        "check_regressors_no_decision_function",
        "check_supervised_y_2d",
        "check_regressors_int",
        "check_non_transformer_estimators_n_iter",
        "check_methods_subset_invariance",
        "check_methods_sample_order_invariance",
        "check_dtype_object",
        # NaN in a 3-column X: refused for its shape before its values
        "check_estimators_nan_inf",
        # X of 0 columns: refused for its shape, not with the expected words
        "check_estimators_empty_data_messages",
    ],
    _SHAPE,
)
# skipped unless SCIPY_ARRAY_API=1; then it feeds float features (_SHAPE)
EXPECTED_FAILED["check_array_api_input"] = (
    "runs only under SCIPY_ARRAY_API=1: " + _SHAPE
)
EXPECTED_FAILED.update(
    dict.fromkeys(
        [
            "check_estimators_overwrite_params",
            "check_estimators_fit_returns_self",
            "check_readonly_memmap_input",
            "check_estimators_partial_fit_n_features",
        ],
        _DUPLICATES,
    )
)
EXPECTED_FAILED.update(
    dict.fromkeys(
        ["check_fit_idempotent", "check_fit_check_is_fitted", "check_n_features_in"],
        _CONTINUOUS,
    )
)
EXPECTED_FAILED.update(
    {
        "check_estimator_sparse_tag": _SPARSE,
        "check_transformer_data_not_an_array": _TRANSFORM,
        "check_transformer_general": _TRANSFORM,
        "check_transformer_n_iter": _TRANSFORM,
    }
)


def _expected_failed(estimator):
    return EXPECTED_FAILED


@parametrize_with_checks(
    [CategoricalRBMRecommender(n_components=4, max_iter=2, random_state=0)],
    expected_failed_checks=_expected_failed,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ------------------------------------------------------------ real data
def _data_dir():
    env = os.environ.get("SKLEARN_RBM_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


#: the I-RBM settings of bench_recommender.py on MovieLens 100K (RBM_ML100K)
ML100K_BENCH = {
    "n_components": 100,
    "orientation": "item",
    "batch_size": 100,
    "learning_rate": 0.2,
    "max_iter": 20,
    "cd_steps": 1,
    "weight_decay": 0.003,
    "visible_bias_decay": 0.03,
    "negative_visible": "mean_field",
    "n_iter_no_change": 20,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def ml100k_u1():
    """``(train, test)`` rows ``(user, item, rating, time)`` of split u1."""
    d = _data_dir() / "ml-100k"
    if not (d / "u1.base").exists():
        pytest.skip("MovieLens 100K not available")
    return (
        np.loadtxt(d / "u1.base", dtype=np.int64),
        np.loadtxt(d / "u1.test", dtype=np.int64),
    )


@pytest.mark.data
def test_movielens_100k_u1_beats_bias_baseline(ml100k_u1):
    tr, te = ml100k_u1
    rec = CategoricalRBMRecommender(n_components=50, max_iter=12, random_state=0)
    rec.fit(tr[:, :2], tr[:, 2])
    rmse = np.sqrt(np.mean((rec.predict(te[:, :2]) - te[:, 2]) ** 2))
    assert rmse < 0.96


@pytest.mark.data
def test_movielens_100k_partial_fit_after_fit_does_not_undo_the_annealing(
    ml100k_u1,
):
    # new ratings arriving after fit: partial_fit continues at the learning
    # rate where fit's linear schedule ended; at the full rate (before the
    # fix) this pass over 5% new ratings worsened u1 from 0.9243 to 0.9285
    tr, te = ml100k_u1
    new = np.random.default_rng(0).random(len(tr)) < 0.05
    rec = CategoricalRBMRecommender(**ML100K_BENCH).fit(tr[~new, :2], tr[~new, 2])

    def rmse():
        return np.sqrt(np.mean((rec.predict(te[:, :2]) - te[:, 2]) ** 2))

    before = rmse()
    rec.partial_fit(tr[new, :2], tr[new, 2])
    after = rmse()
    assert after < before + 0.002, (before, after)


def test_partial_fit_after_fit_continues_at_the_last_learning_rate(planted):
    # the step of partial_fit after a linear-schedule fit is that of fit's
    # last epoch (learning_rate / max_iter), for both kinds of estimator
    from sklearn_rbm import BernoulliRBM

    X, y = planted
    rec = CategoricalRBMRecommender(random_state=0, **dict(FAST, max_iter=4))
    rec.set_params(learning_rate_schedule="linear").fit(X[:-50], y[:-50])
    digits = (np.random.default_rng(0).random((300, 12)) < 0.3).astype(float)
    rbm = BernoulliRBM(4, max_iter=4, learning_rate_schedule="linear", random_state=0)
    rbm.fit(digits[:200])
    for model, data in ((rec, (X[-50:], y[-50:])), (rbm, (digits[200:],))):
        ref = pickle.loads(pickle.dumps(model))
        ref._state.lr_factor = 1.0
        full = pickle.loads(pickle.dumps(ref))  # the full rate, as before
        ref.set_params(learning_rate=model.learning_rate / 4)
        for m in (model, ref, full):
            m.partial_fit(*data)
        np.testing.assert_allclose(model.components_, ref.components_, atol=1e-6)
        assert not np.allclose(full.components_, model.components_, atol=1e-4)


def test_mean_field_negative_phase_with_one_hot_probabilities_equals_samples():
    n_vars, K, H = 5, 3, 4
    p = tiny_params(n_vars, K, H, seed=2)
    rows, var = np.array([0, 0, 1, 1, 1]), np.array([0, 3, 1, 2, 4])
    kpos, kneg = np.array([2, 0, 1, 1, 0]), np.array([1, 0, 2, 1, 0])
    batch = _sparse.Batch(rows, var, kpos, 2, n_vars, K)
    soft = np.eye(K)[kneg]
    hard_b = _sparse.Batch(rows, var, kneg, 2, n_vars, K)
    soft_b = _sparse.Batch(rows, var, soft, 2, n_vars, K)
    ph_neg = _sparse.hidden_proba(hard_b, p)
    np.testing.assert_allclose(_sparse.hidden_proba(soft_b, p), ph_neg)
    ph_pos = _sparse.hidden_proba(batch, p)
    _, g_hard, d_hard = _sparse.gradients(batch, p, ph_pos, kneg, ph_neg)
    _, g_soft, d_soft = _sparse.gradients(batch, p, ph_pos, soft, ph_neg)
    for name in g_hard:
        np.testing.assert_allclose(g_soft[name], g_hard[name], atol=1e-12)
    rec = CategoricalRBMRecommender(
        negative_visible="mean_field", random_state=0, **FAST
    ).fit(*make_planted(n_users=40, n_items=20))
    assert np.isfinite(rec.components_).all()


def test_continuous_ratings_are_refused_before_any_work():
    # one class per distinct value: hundreds of values seen once each give
    # as many x n_components weights per visible unit (gigabytes on real data)
    from sklearn_rbm.datasets import make_ratings

    X, y = make_ratings(n_users=30, n_items=20, random_state=0)
    y = y + np.random.default_rng(0).random(len(y))
    rec = CategoricalRBMRecommender(random_state=0, **FAST).fit(X, np.round(y))
    before = pickle.dumps(rec)
    with pytest.raises(ValueError, match=r"distinct rating values.*np\.round"):
        rec.fit(X, y)
    assert pickle.dumps(rec) == before


def test_many_rating_values_and_int32_ids():
    rng = np.random.default_rng(0)
    X = np.unique(rng.integers(0, 80, size=(3000, 2)), axis=0).astype(np.int32)
    y = rng.integers(0, 150, len(X)) / 10.0  # up to 150 distinct values
    rec = CategoricalRBMRecommender(random_state=0, **dict(FAST, max_iter=2))
    with pytest.warns(UserWarning, match="distinct rating values") as rec_warn:
        rec.fit(X, y)
    assert rec_warn[0].filename == __file__  # points at the caller's fit
    both = CategoricalRBMRecommender(orientation="both", **dict(FAST, max_iter=1))
    with pytest.warns(UserWarning, match="distinct rating values") as rec_warn:
        both.fit(X, y)  # the halves are fitted through joblib
    assert {w.filename for w in rec_warn} == {__file__}
    assert len(rec.classes_) == len(np.unique(y)) > 127
    pred = rec.predict(X[:20])
    np.testing.assert_allclose(pred, _mean_field_item_predict(rec, X[:20]), atol=1e-5)
    P = rec.predict_proba(X[:5])
    np.testing.assert_allclose(P.sum(axis=1), 1.0)


# ------------------------------------------------- review fixes (ids, state)
@pytest.fixture(scope="module")
def small():
    from sklearn_rbm.datasets import make_ratings

    X, y = make_ratings(60, 30, random_state=0)
    rec = CategoricalRBMRecommender(
        n_components=8, max_iter=8, learning_rate=0.3, random_state=0
    ).fit(X, y)
    return X, y, rec


def test_ids_of_another_type_are_unknown_per_pair(small):
    # one string id among int ids must not send the other pairs to the
    # fallback (np.array used to make every id a string)
    X, y, rec = small
    known = rec.predict([[0, 1], [2, 3]])
    got = rec.predict([[0, 1], [2, 3], ["new", 3]])
    np.testing.assert_array_equal(got[:2], known)
    assert got[2] == pytest.approx(rec.item_means_[list(rec.items_).index(3)])
    P = rec.predict_proba([[0, 1], ["new", 3]])
    np.testing.assert_allclose(P[0], rec.predict_proba([[0, 1]])[0])
    items, scores = rec.recommend([0, "new"], 3)
    items0, scores0 = rec.recommend([0], 3)
    np.testing.assert_array_equal(items[0], items0[0])
    # float32 products of one row or several round alike to a few ulp
    np.testing.assert_allclose(scores[0], scores0[0], rtol=1e-6)
    np.testing.assert_array_equal(items[1], rec.recommend([-5], 3)[0][0])
    mixed = rec.predict_new_user([1, 2], [3.0, 4.0], [1, "zz"])
    ints = rec.predict_new_user([1, 2], [3.0, 4.0], [1, -9])
    np.testing.assert_array_equal(mixed, ints)
    H = rec.transform([0, "zz"])  # item orientation: item ids
    np.testing.assert_array_equal(H[0], rec.transform([0])[0])


def test_queries_all_of_the_other_id_type_warn(small):
    """String ids for an integer-id model (say, read from a text file) match
    nothing: every query got the fallback without a word (the command line
    printed a note). A query all of the other type warns, naming the ids'
    role; one mixing both types does not (its known ids are served)."""
    import warnings

    X, y, rec = small
    calls = {
        "user": [
            lambda: rec.predict([["0", "1"]]),
            lambda: rec.recommend(["0", "1"], 3),
        ],
        "item": [
            lambda: rec.recommend_new_user(["3"], 2),
            lambda: rec.predict_new_user([1], [5.0], ["2"]),
            lambda: rec.transform(["0"]),  # item orientation: item ids
        ],
    }
    for name, fns in calls.items():
        for fn in fns:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fn()
            said = [str(w.message) for w in caught if w.category is UserWarning]
            assert any(f"model's {name} ids are integers" in m for m in said)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec.recommend([0, "new"], 3)
        rec.predict([[0, 1], [2, 3]])
    # the answer is the fallback's, as before
    with pytest.warns(UserWarning, match=r"model's \w+ ids are integers"):
        got = rec.predict([["0", "1"]])
    np.testing.assert_array_equal(got, rec.predict([[-7, -7]]))


def test_columns_are_typed_separately_and_never_retyped(small):
    pd = pytest.importorskip("pandas")
    X, y, _ = small
    df = pd.DataFrame({"user": X[:, 0], "item": [f"m{i}" for i in X[:, 1]]})
    rec = CategoricalRBMRecommender(n_components=8, max_iter=3, random_state=0)
    rec.fit(df, y)
    assert rec.users_.dtype.kind == "i" and rec.items_.dtype.kind == "U"
    rows = [[int(X[j, 0]), f"m{X[j, 1]}"] for j in range(3)]
    with pytest.warns(UserWarning, match="valid feature names"):
        got = rec.predict(rows)  # a list: ints are not turned into strings
    np.testing.assert_array_equal(got, rec.predict(df.iloc[:3]))
    # a column mixing numbers and strings is refused in fit
    Xo = X.astype(object)
    Xo[0, 0] = "alice"
    with pytest.raises(ValueError, match="mix numbers and strings"):
        CategoricalRBMRecommender(n_components=4, max_iter=1).fit(Xo, y)
    # partial_fit with string ids on an int-id model: clear error, unchanged
    rec = CategoricalRBMRecommender(n_components=8, max_iter=3, random_state=0)
    rec.fit(X, y)
    pred = rec.predict(X[:5])
    with pytest.raises(ValueError, match="integer user ids but these user ids"):
        rec.partial_fit([["alice", 3]], [5.0])
    assert rec.users_.dtype.kind == "i"
    np.testing.assert_array_equal(rec.predict(X[:5]), pred)
    rec.partial_fit([[1000, 3]], [5.0])
    assert rec.users_.dtype.kind == "i" and 1000 in rec.users_
    assert rec.predict([[1000, 3]])[0] != rec.global_mean_


def test_feature_names_are_checked_after_dataframe_fit(planted):
    pd = pytest.importorskip("pandas")
    import warnings

    X, y = planted
    df = pd.DataFrame({"user": X[:, 0], "item": X[:, 1]})
    rec = CategoricalRBMRecommender(random_state=0, **dict(FAST, max_iter=2))
    rec.fit(df, y)
    # the fitted names in the other order are read by name
    swapped = df[["item", "user"]]
    np.testing.assert_array_equal(rec.predict(swapped), rec.predict(df))
    # names mixing strings and other types are refused, as in scikit-learn
    # (a review: they were silently dropped)
    mixed = pd.DataFrame({"user": X[:, 0], 1: X[:, 1]})
    with pytest.raises(TypeError, match="all input features have string names"):
        clone(rec).fit(mixed, y)
    # numpy.str_ labels (kept by an object Index) are names too, read by name:
    # scikit-learn's helper took them for no names, and the columns by position
    labels = pd.Index(list(np.array(["item", "user"])), dtype=object)
    np_str = pd.DataFrame(X[:, ::-1], columns=labels)
    same = clone(rec).fit(np_str, y)
    assert list(same.feature_names_in_) == ["item", "user"]
    np.testing.assert_array_equal(same.users_, rec.users_)
    assert rec.score(swapped, y) == rec.score(df, y)
    np.testing.assert_array_equal(
        rec.transform(swapped.iloc[:3]), rec.transform(df.iloc[:3])
    )
    with pytest.raises(ValueError, match="feature names should match"):
        rec.predict_proba(df.rename(columns={"user": "u"}))
    W = rec.components_.copy()
    with pytest.raises(ValueError, match="feature names should match"):
        rec.partial_fit(df.rename(columns={"item": "i"}).iloc[:5], y[:5])
    np.testing.assert_array_equal(rec.components_, W)
    with pytest.warns(UserWarning, match="fitted without feature names"):
        CategoricalRBMRecommender(**dict(FAST, max_iter=1)).fit(X, y).predict(df)
    # model selection on DataFrames: no feature-name warnings at all
    est = CategoricalRBMRecommender(random_state=0, **dict(FAST, max_iter=2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cross_val_score(est, df, y, cv=2, scoring="neg_root_mean_squared_error")
        GridSearchCV(est, {"n_components": [4, 8]}, cv=2).fit(df, y)


@pytest.mark.parametrize("variant", [{}, {"rank": 3, "conditional": True}])
@pytest.mark.parametrize("orientation", ["item", "user"])
def test_lazy_momentum_path_equals_dense_updates(monkeypatch, orientation, variant):
    # the lazy path must bring the rows a minibatch reads up to date before
    # its CD statistics: then it equals the dense update up to rounding
    # (computing them at stale rows gave differences of ~1e-2)
    import functools

    import sklearn_rbm.recommender.trainer as mod
    from sklearn_rbm.datasets import make_ratings

    X, y = make_ratings(200, 150, density=0.05, random_state=0)
    params = {}
    for frac in (0.0, 2.0):  # 0: every step dense, 2: every step lazy
        monkeypatch.setattr(
            mod,
            "LazyMomentumSGD",
            functools.partial(LazyMomentumSGD, dense_fraction=frac),
        )
        rec = CategoricalRBMRecommender(
            n_components=8,
            orientation=orientation,
            dtype="float64",
            batch_size=10,
            max_iter=1,
            cd_steps=1,
            learning_rate_schedule="constant",
            momentum_schedule="constant",
            early_stopping=False,
            random_state=0,
            **variant,
        ).fit(X, y)
        params[frac] = rec._params()
    for name, dense in params[0.0].items():
        np.testing.assert_allclose(params[2.0][name], dense, rtol=0, atol=1e-10)


def test_duplicate_entries_of_a_sparse_matrix_are_refused():
    R = sp.coo_matrix(([3.0, 3.0, 4.0, 5.0], ([0, 0, 1, 2], [0, 0, 1, 2])))
    data = R.data.copy()
    with pytest.raises(ValueError, match=r"\(0, 0\) 2 times.*aggregate them"):
        CategoricalRBMRecommender(**FAST).fit(R)
    np.testing.assert_array_equal(R.data, data)  # the caller's matrix as it was
    assert R.nnz == 4
    rec = CategoricalRBMRecommender(**dict(FAST, max_iter=1)).fit(R.tocsr().tocoo())
    with pytest.raises(ValueError, match="aggregate them"):
        rec.partial_fit(sp.coo_matrix(([4.0, 4.0], ([0, 0], [2, 2]))))


def test_stored_zeros_of_a_sparse_matrix_warn_and_are_missing(planted):
    X, y = planted
    R = sp.csr_matrix((y, (X[:, 0], X[:, 1])))
    R0 = R.copy()
    R0.data[:5] = 0.0  # five ratings of "0": stored, but not ratings here
    kw = dict(FAST, max_iter=1, random_state=0)
    with pytest.warns(UserWarning, match="stores 5 explicit zero") as record:
        rec = CategoricalRBMRecommender(**kw).fit(R0)
    assert record[0].filename == __file__  # points at the caller
    ref = R.copy()
    ref.data[:5] = 0.0
    ref.eliminate_zeros()
    expected = CategoricalRBMRecommender(**kw).fit(ref)
    np.testing.assert_array_equal(rec.predict(X[:20]), expected.predict(X[:20]))
    with pytest.warns(UserWarning, match="stores 5 explicit zero") as record:
        rec.partial_fit(R0)
    assert record[0].filename == __file__


@pytest.mark.parametrize(
    "params",
    [
        {"orientation": "user"},
        {"n_components": 4},
        {"rank": 2},
        {"conditional": True},
        {"dtype": "float64"},
    ],
)
def test_set_params_after_fit_keeps_the_fitted_model(small, params):
    X, y, fitted = small
    rec = pickle.loads(pickle.dumps(fitted))

    def outputs():
        return (
            rec.predict(X[:10]),
            rec.predict_proba(X[:3]),
            rec.transform([0, 1]),
            rec.recommend([0, 1], 4),
            rec.predict_new_user([1, 2], [3.0, 4.0], [5, 6]),
            rec.free_energy([0, 1]),
        )

    before = outputs()
    rec.set_params(**params)
    after = outputs()
    for a, b in zip(before, after, strict=True):
        for u, v in zip(
            a if isinstance(a, tuple) else [a], b if isinstance(b, tuple) else [b]
        ):
            np.testing.assert_array_equal(u, v)
    W = rec.components_.copy()
    name = next(iter(params))
    with pytest.raises(ValueError, match=f"{name}=.*call fit to start over"):
        rec.partial_fit([[999, 1], [0, 29]], [3.0, 4.0])
    np.testing.assert_array_equal(rec.components_, W)
    # non-structural parameters may change between partial_fit calls
    rec.set_params(**fitted.get_params()).set_params(learning_rate=0.01)
    rec.partial_fit([[999, 1], [0, 29]], [3.0, 4.0])
    assert 999 in rec.users_


@pytest.mark.parametrize("chunk_size", [0, -1, 2.5, "3", True])
def test_recommend_chunk_size_must_be_a_positive_int(small, chunk_size):
    X, _, rec = small
    with pytest.raises(ValueError, match="'?chunk_size'? (parameter .* )?must be"):
        rec.recommend([0, 1], 3, chunk_size=chunk_size)
    a = rec.recommend([0, 1, 2], 3, chunk_size=1)
    b = rec.recommend([0, 1, 2], 3)
    np.testing.assert_array_equal(a[0], b[0])


# ------------------------------------------------- discriminative fine-tuning
def _predictor_loss(batch, p, values):
    """Mean squared error of the mean-field prediction, written directly."""
    h = expit(_sparse.hidden_field(batch, p))
    W3 = _sparse.weights3(p)
    logits = p["b"][batch.var] + np.einsum("nkh,nh->nk", W3[batch.var], h[batch.rows])
    prob = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    return np.mean((prob @ values - values[batch.k]) ** 2)


@pytest.mark.parametrize(
    "variant", ["full", "conditional", "factored"], ids=lambda v: v
)
def test_predictor_gradients_match_finite_differences(variant):
    rng = np.random.default_rng(3)
    p = tiny_params(n_vars=5, K=3, H=4, conditional=variant == "conditional")
    if variant == "factored":
        W3 = p.pop("W3")
        p["A"] = rng.normal(0, 0.7, (5, 3, 2))
        p["B"] = rng.normal(0, 0.7, (2, 4))
        del W3
    rows = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    var = np.array([0, 2, 4, 1, 2, 0, 3, 4])
    k = rng.integers(0, 3, len(rows))
    batch = _sparse.Batch(rows, var, k, 3, 5, 3)
    values = np.array([1.0, 2.5, 5.0])
    sse, uv, row_g, dense_g = _sparse.predictor_gradients(batch, p, values)
    assert sse == pytest.approx(len(rows) * _predictor_loss(batch, p, values))
    np.testing.assert_array_equal(uv, [0, 1, 2, 3, 4])
    grads = {**row_g, **dense_g}
    assert set(grads) == set(p)
    eps = 1e-6
    for name, value in p.items():
        num = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            old = value[idx]
            value[idx] = old + eps
            up = _predictor_loss(batch, p, values)
            value[idx] = old - eps
            down = _predictor_loss(batch, p, values)
            value[idx] = old
            num[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grads[name], num, atol=1e-8, err_msg=name)


def test_predictor_gradients_ignore_unobserved_variables():
    # variable 3 is observed by no case: no gradient row for it, and moving
    # its weights changes neither the loss nor the other gradients
    p = tiny_params(n_vars=4, K=3, H=4)
    batch = _sparse.Batch(
        np.array([0, 0, 1]), np.array([0, 2, 1]), np.array([2, 0, 1]), 2, 4, 3
    )
    values = np.arange(1.0, 4.0)
    sse, uv, row_g, _ = _sparse.predictor_gradients(batch, p, values)
    assert 3 not in uv
    p["W3"][3] += 5.0
    p["b"][3] -= 3.0
    sse2, _, row_g2, _ = _sparse.predictor_gradients(batch, p, values)
    assert sse2 == sse
    np.testing.assert_array_equal(row_g2["W3"], row_g["W3"])


def test_adam_row_update_matches_adam_on_touched_rows():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(6, 2, 3))
    c = rng.normal(size=3)
    lr, b1, b2, eps, decay = 0.01, 0.9, 0.999, 1e-8, 0.1
    params = {"W3": W.copy(), "c": c.copy()}
    opt = Adam(("W3",), {"W3": decay})
    state = opt.init(params)
    ref_w, ref_m, ref_v = W.copy(), np.zeros_like(W), np.zeros_like(W)
    for t, rows in enumerate([np.array([0, 2]), np.array([1, 2, 5]), np.arange(6)], 1):
        g = rng.normal(size=(len(rows), 2, 3))
        gc = rng.normal(size=3)
        opt.step(params, state, {"W3": g.copy(), "c": gc}, lr, rows=rows)
        # textbook Adam on the touched rows, untouched rows frozen
        gr = g + decay * ref_w[rows]
        ref_m[rows] = b1 * ref_m[rows] + (1 - b1) * gr
        ref_v[rows] = b2 * ref_v[rows] + (1 - b2) * gr**2
        # Kingma & Ba's Algorithm 1 in its "efficient" ordering (bias
        # corrections in the step size, epsilon added to sqrt(v))
        step = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        ref_w[rows] -= step * ref_m[rows] / (np.sqrt(ref_v[rows]) + eps)
        np.testing.assert_allclose(params["W3"], ref_w, rtol=1e-12)
    assert state.t == 3


def test_fine_tuning_lowers_the_error_and_keeps_the_cd_model_when_it_does_not(
    planted,
):
    X, y = planted
    Xtr, ytr, Xte, yte = split(X, y)
    kw = dict(FAST, n_components=32, random_state=0)
    cd = CategoricalRBMRecommender(**kw).fit(Xtr, ytr)
    ft = CategoricalRBMRecommender(
        **dict(kw, fine_tune_iter=10, fine_tune_learning_rate=3e-3)
    ).fit(Xtr, ytr)
    assert ft.n_iter_ == 20

    def rmse(est, X_, y_):
        return np.sqrt(np.mean((est.predict(X_) - y_) ** 2))

    assert rmse(ft, Xtr, ytr) < rmse(cd, Xtr, ytr) - 0.05
    assert rmse(ft, Xte, yte) < rmse(cd, Xte, yte)
    # the CD phase is the same training: fine-tuning starts from cd's model
    zero = CategoricalRBMRecommender(
        **dict(kw, fine_tune_iter=1, fine_tune_learning_rate=1e-12)
    ).fit(Xtr, ytr)
    np.testing.assert_allclose(zero.components_, cd.components_, atol=1e-9)
    # with early stopping, a fine-tuning phase that only hurts is discarded
    es = dict(kw, early_stopping=True, n_iter_no_change=50)
    cd_es = CategoricalRBMRecommender(**es).fit(Xtr, ytr)
    bad = CategoricalRBMRecommender(
        **dict(es, fine_tune_iter=3, fine_tune_learning_rate=5.0)
    ).fit(Xtr, ytr)
    assert len(bad.validation_scores_) == 13
    assert max(bad.validation_scores_[10:]) < max(cd_es.validation_scores_)
    np.testing.assert_array_equal(bad.components_, cd_es.components_)
    # ... momentum included: a later CD pass continues as from the CD model
    for name, v in cd_es._state.opt["cd"].velocity.items():
        np.testing.assert_array_equal(bad._state.opt["cd"].velocity[name], v)
    assert bad.best_validation_rmse_ == cd_es.best_validation_rmse_


def test_fine_tuning_requires_the_mean_field_predictor(planted):
    X, y = planted
    rec = CategoricalRBMRecommender(**dict(FAST, fine_tune_iter=2, prediction="exact"))
    with pytest.raises(ValueError, match="prediction='mean_field'"):
        rec.fit(X, y)


def test_fine_tuned_model_partial_fit_pickle_and_new_variables(planted):
    X, y = planted
    kw = dict(FAST, fine_tune_iter=3, fine_tune_learning_rate=3e-3, random_state=0)
    rec = CategoricalRBMRecommender(**kw).fit(X[:1500], y[:1500])
    assert rec._state.opt["fine_tune"].t > 0
    copy_ = pickle.loads(pickle.dumps(rec))
    # new users and items: Adam moments grow with the parameters
    Xn = np.r_[X[1500:1600], [[500, 0], [500, 1], [3, 700]]]
    yn = np.r_[y[1500:1600], [4.0, 2.0, 5.0]]
    a = rec.partial_fit(Xn, yn)
    b = copy_.partial_fit(Xn, yn)
    np.testing.assert_array_equal(a.components_, b.components_)
    for name, m in a._state.opt["fine_tune"].m.items():
        assert m.shape == a._state.params[name].shape
    assert np.all(np.isfinite(a.predict([[500, 2], [3, 700]])))
    # a first partial_fit runs one CD and one fine-tuning pass
    fresh = CategoricalRBMRecommender(**kw).partial_fit(X, y)
    assert fresh.n_iter_ == 2


@pytest.mark.data
def test_movielens_100k_fine_tuning_beats_cd_and_survives_partial_fit(ml100k_u1):
    # bench_recommender.py's fine-tuned I-RBM (RBM_ML100K_FT) on u1: 0.9155,
    # where the CD-only I-RBM gets 0.9215. A partial_fit pass (on a
    # fine-tuned model, a fine-tuning pass) over 5% of the ratings, sent
    # again, must not undo the fine-tuning.
    tr, te = ml100k_u1
    rec = CategoricalRBMRecommender(
        **dict(
            ML100K_BENCH, max_iter=10, fine_tune_iter=10, fine_tune_learning_rate=3e-3
        )
    ).fit(tr[:, :2], tr[:, 2])

    def rmse():
        return np.sqrt(np.mean((rec.predict(te[:, :2]) - te[:, 2]) ** 2))

    before = rmse()
    assert before < 0.918, before
    again = np.random.default_rng(0).random(len(tr)) < 0.05
    rec.partial_fit(tr[again, :2], tr[again, 2])
    after = rmse()
    assert after < before + 0.002, (before, after)


def test_fine_tuning_edge_cases_found_in_review(planted):
    X, y = planted
    kw = dict(FAST, random_state=0)
    # max_iter=0: the fine-tuning phase alone is still early-stopped
    rec = CategoricalRBMRecommender(
        **dict(kw, max_iter=0, fine_tune_iter=4, early_stopping=True)
    ).fit(X, y)
    assert len(rec.validation_scores_) == 4
    assert rec.best_validation_rmse_ == -max(rec.validation_scores_)
    # divergence names the parameter that set the rate
    rec.set_params(fine_tune_learning_rate=1e30)
    with pytest.raises(DivergenceError, match="fine_tune_learning_rate=1e"):
        rec.partial_fit(X[:300], y[:300])


def test_fine_tuning_does_not_depend_on_the_units_of_the_ratings(planted):
    # errors are measured in rating steps: ratings x 1e11 give the same model
    # (in float32 they used to overflow Adam's second moment)
    X, y = planted
    kw = dict(FAST, fine_tune_iter=3, fine_tune_learning_rate=3e-3, random_state=0)
    small = CategoricalRBMRecommender(**kw).fit(X, y)
    big = CategoricalRBMRecommender(**kw).fit(X, y * 1e11)
    for name, m in big._state.opt["fine_tune"].v.items():
        assert np.all(np.isfinite(m)), name
    np.testing.assert_allclose(big.components_, small.components_, rtol=1e-4, atol=1e-6)


def test_model_pickled_before_fine_tuning_existed_loads_and_trains(fitted, planted):
    X, y = planted
    state = fitted.__getstate__()
    for name in ("fine_tune_iter", "fine_tune_learning_rate", "fine_tune_alpha"):
        del state[name]
    # the all-fields training state of 0.1.0.dev0, from before fine-tuning
    new = state["_state"]
    cd = new.opt["cd"]
    inner = {
        "params": new.params,
        "velocity": cd.velocity,
        "rng": new.rng,
        "n_updates": new.n_updates,
        "n_epochs": new.n_epochs,
        "lr_factor": new.lr_factor,
        "lazy": {"last": cd.last, "t": cd.t, "coef": cd.coef},
    }
    state["_state"] = LegacyTrainState.__new__(LegacyTrainState)
    state["_state"].__setstate__(inner)
    old = CategoricalRBMRecommender.__new__(CategoricalRBMRecommender)
    old.__setstate__(state)
    assert old.get_params()["fine_tune_alpha"] == 25.0
    assert "fine_tune" not in old._state.opt
    np.testing.assert_array_equal(old.predict(X[:50]), fitted.predict(X[:50]))
    old.set_params(fine_tune_iter=1).partial_fit(
        np.r_[X[:20], [[999, 0]]], np.r_[y[:20], 3]
    )
    assert old._state.opt["fine_tune"].t > 0


def test_verbose_prints_the_validation_rmse_itself(planted, capsys):
    # the monitor is minus the RMSE (higher is better); progress lines print
    # the RMSE, as a positive number, under its name
    X, y = planted
    kw = dict(FAST, max_iter=2, verbose=1, early_stopping=True)
    rec = CategoricalRBMRecommender(**kw).fit(X, y)
    out = capsys.readouterr().out.splitlines()
    lines = [ln for ln in out if "Iteration" in ln and "ranking" not in ln]
    assert len(lines) == 2
    shown = float(lines[-1].split("validation RMSE = ")[1].split(",")[0])
    assert shown == pytest.approx(-rec.validation_scores_[-1], abs=1e-4)
    assert shown > 0


def test_new_user_history_all_of_the_other_type_warns():
    """predict_new_user drops a history of the other id type: it warns."""
    from sklearn_rbm.datasets import make_ratings

    X, y = make_ratings(n_users=60, n_items=30, random_state=0)
    rec = CategoricalRBMRecommender(n_components=4, max_iter=2, random_state=0)
    rec.fit(X, y)
    with pytest.warns(UserWarning, match="model's item ids are integers"):
        got = rec.predict_new_user(["1", "2"], [5.0, 1.0], [3, 4])
    np.testing.assert_array_equal(got, rec.predict_new_user([], [], [3, 4]))


@pytest.mark.parametrize("orientation", ["item", "user", "both"])
def test_new_user_unknown_items_get_the_history_mean(orientation):
    """An unknown query item gets the history's mean rating, as predict
    gives a training user their own mean (not the global mean)."""
    X, y = make_ratings(60, 30, random_state=0)
    rec = CategoricalRBMRecommender(
        orientation=orientation, random_state=0, **dict(FAST, max_iter=2)
    ).fit(X, y)
    mine = X[:, 0] == 0
    expected = y[mine].mean()
    assert expected != rec.global_mean_
    np.testing.assert_allclose(rec.predict([[0, 999]]), [expected])
    got = rec.predict_new_user(X[mine, 1], y[mine], [999, 0])
    np.testing.assert_allclose(got[0], expected)
    assert got[1] != expected  # a known item: the model's prediction
    # a history of unknown items only: no evidence for the model, so the
    # item mean for a known query; the history's mean for an unknown one
    got = rec.predict_new_user([12345], [5.0], [999, 0])
    np.testing.assert_allclose(got, [5.0, rec.item_means_[0]])
    # no history: the global mean, as for an unknown user
    np.testing.assert_allclose(rec.predict_new_user([], [], [999]), [rec.global_mean_])


@pytest.mark.parametrize("orientation", ["item", "both"])
def test_feature_name_warning_once_at_the_callers_line(orientation):
    pd = pytest.importorskip("pandas")
    X, y = make_ratings(60, 30, random_state=0)
    rec = CategoricalRBMRecommender(
        orientation=orientation, random_state=0, **dict(FAST, max_iter=2)
    ).fit(X, y)
    df = pd.DataFrame(X[:5], columns=["user", "item"])
    for call in (
        lambda: rec.predict(df),
        lambda: rec.predict_proba(df),
        lambda: rec.score(df, y[:5]),
        lambda: rec.partial_fit(df, y[:5]),
    ):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            call()
        names = [w for w in record if "feature names" in str(w.message)]
        assert len(names) == 1, [str(w.message) for w in record]
        assert names[0].filename == __file__
    # under the default filter, once for repeated calls from one line (an
    # internal catch_warnings used to reset the registry on every call)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("default")
        for _ in range(3):
            rec.predict(df)
    assert len([w for w in record if "feature names" in str(w.message)]) == 1


def test_both_partial_fit_on_sparse_after_a_frame_fit_is_silent():
    pd = pytest.importorskip("pandas")
    X, y = make_ratings(60, 30, random_state=0)
    df = pd.DataFrame({"user_id": X[:, 0], "item_id": X[:, 1]})
    rec = CategoricalRBMRecommender(
        orientation="both", random_state=0, **dict(FAST, max_iter=2)
    ).fit(df, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec.partial_fit(sp.csr_matrix(([5.0], ([1], [2])), shape=(3, 4)))


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_both_warns_at_the_callers_line(n_jobs):
    # a review: with n_jobs=2 the halves warned in worker processes, out of
    # reach of the caller's filters; they are raised again there, once
    X, _ = make_ratings(60, 30, random_state=0)
    rec = CategoricalRBMRecommender(
        orientation="both", n_jobs=n_jobs, random_state=0, **dict(FAST, max_iter=2)
    )
    filters = list(warnings.filters)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        rec.fit(X, np.ones(len(X)))
    messages = {str(w.message)[:17] for w in record}
    assert messages == {"Every rating is 1"}
    assert all(w.filename == __file__ for w in record)
    if n_jobs == 2:  # raised again in this process: once
        assert len(record) == 1
    # an error filter fails the fit, and a failed fit leaves the model as it was
    before = rec.predict(X[:5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="Every rating is 1"):
            rec.set_params(random_state=1).fit(X, np.ones(len(X)))
    np.testing.assert_array_equal(rec.predict(X[:5]), before)
    assert warnings.filters == filters


def test_both_fits_in_threads_leave_the_warning_filters_alone():
    # a review: recording warnings in the caller's process (not thread-safe)
    # left an "always" filter and a dead showwarning behind, dropping every
    # later warning of the process
    from concurrent.futures import ThreadPoolExecutor

    X, y = make_ratings(40, 20, random_state=0)
    filters, show = list(warnings.filters), warnings.showwarning

    def fit(seed):
        return CategoricalRBMRecommender(
            orientation="both", random_state=seed, **dict(FAST, max_iter=1)
        ).fit(X, y)

    with ThreadPoolExecutor(4) as ex:
        list(ex.map(fit, range(8)))
    assert warnings.filters == filters and warnings.showwarning is show


def _keyword_warning():
    """A warning class whose constructor needs a keyword (as scikit-learn's
    InconsistentVersionWarning's): it does not survive pickling. Made at
    call time: a library that registers picklers for the exception classes
    existing when it is imported (skops pulls in one) would cover a class
    made at import."""

    class _KeywordWarning(UserWarning):
        def __init__(self, *, what):
            super().__init__()
            self.what = what

        def __str__(self):
            return f"about {self.what}"

    return _KeywordWarning


def test_warnings_of_worker_processes_travel_back():
    from sklearn_rbm.recommender.both import _portable

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        warnings.warn(UserWarning("plain"))
        warnings.warn(_keyword_warning()(what="x"))
    plain, odd = (_portable(w) for w in record)
    assert plain is record[0].message
    assert type(odd) is UserWarning and str(odd) == "_KeywordWarning: about x"
