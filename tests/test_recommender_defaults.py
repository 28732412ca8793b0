"""The recommender's defaults (issue 15): the "auto" rules, early stopping
that waits for progress, and orientation="both"."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import train_test_split

from sklearn_rbm import CategoricalRBMRecommender
from sklearn_rbm.datasets import make_ratings
from sklearn_rbm.recommender.checks import check_recommender
from sklearn_rbm.recommender.defaults import resolve
from sklearn_rbm.recommender.stopping import PlateauEarlyStopping

AUTO = dict.fromkeys(
    ("n_components", "batch_size", "weight_decay", "fine_tune_learning_rate"),
    "auto",
)


def rmse(pred, y):
    return float(np.sqrt(np.mean((pred - y) ** 2)))


@pytest.fixture(scope="module")
def readme_split():
    """The README's ratings, a held-out fifth."""
    X, y = make_ratings(n_users=300, n_items=200, random_state=0)
    return train_test_split(X, y, test_size=0.2, random_state=0)


def baselines(Xtr, ytr, Xte):
    """Global mean, item means and a user + item bias baseline (ridge-like
    alternating least squares, regularisation 10)."""
    mu = ytr.mean()
    items, ii = np.unique(Xtr[:, 1], return_inverse=True)
    users, uu = np.unique(Xtr[:, 0], return_inverse=True)
    item_mean = dict(zip(items, np.bincount(ii, ytr) / np.bincount(ii)))
    bu, bi = np.zeros(len(users)), np.zeros(len(items))
    for _ in range(10):
        bi = np.bincount(ii, ytr - mu - bu[uu]) / (np.bincount(ii) + 10)
        bu = np.bincount(uu, ytr - mu - bi[ii]) / (np.bincount(uu) + 10)
    bu_, bi_ = dict(zip(users, bu)), dict(zip(items, bi))
    return {
        "global mean": np.full(len(Xte), mu),
        "item means": np.array([item_mean.get(i, mu) for i in Xte[:, 1]]),
        "bias": np.array([mu + bu_.get(u, 0) + bi_.get(i, 0) for u, i in Xte.tolist()]),
    }


# ------------------------------------------------------------- auto rules
def test_auto_rules_give_the_validated_movielens_settings():
    # the anchors: the settings chosen on validation splits of MovieLens
    # 100K (80,000 ratings, ~1,650 items) and 1M (900,188, ~3,700 items)
    small = resolve(AUTO, 80_000, 1650)
    assert small == {
        "n_components": 100,
        "batch_size": 100,
        "weight_decay": 0.003,
        "fine_tune_learning_rate": 0.003,
    }
    large = resolve(AUTO, 900_188, 3700)
    assert large == {
        "n_components": 150,
        "batch_size": 200,
        "weight_decay": 0.001,
        "fine_tune_learning_rate": 0.0015,
    }
    # in between: monotone; few cases: at least 16 minibatches an epoch
    mid = resolve(AUTO, 300_000, 3000)
    assert 100 < mid["n_components"] < 150 and 100 < mid["batch_size"] < 200
    assert 0.001 < mid["weight_decay"] < 0.003
    assert resolve(AUTO, 6000, 200)["batch_size"] == 13
    assert resolve(AUTO, 10, 3)["n_components"] == 22
    assert resolve(AUTO, 10, 3)["batch_size"] == 1
    # explicit values are kept
    assert resolve(dict(AUTO, batch_size=7), 80_000, 1650)["batch_size"] == 7


def test_fine_tune_iter_auto_follows_the_prediction_rule(readme_split):
    Xtr, _, ytr, _ = readme_split
    rec = CategoricalRBMRecommender(max_iter=2, random_state=0)
    assert rec.fit(Xtr, ytr).n_iter_ == 2 + 10
    exact = rec.set_params(prediction="exact", early_stopping=False).fit(Xtr, ytr)
    assert exact.n_iter_ == 2 and "fine_tune" not in exact._state.opt
    with pytest.raises(ValueError, match="prediction='mean_field'"):
        rec.set_params(fine_tune_iter=3).fit(Xtr, ytr)


def test_auto_n_components_is_fitted_and_partial_fit_keeps_it(readme_split):
    Xtr, Xte, ytr, yte = readme_split
    rec = CategoricalRBMRecommender(max_iter=2, fine_tune_iter=1, random_state=0)
    rec.fit(Xtr, ytr)
    n_vars, K, H = rec.components_.shape
    assert (n_vars, K) == (len(rec.users_), 5)
    assert H == resolve(AUTO, len(ytr), len(rec.items_))["n_components"] == 62
    assert rec._structure["n_components"] == H
    rec.partial_fit(Xte, yte)
    assert rec.components_.shape[2] == H
    with pytest.raises(ValueError, match="n_components"):
        rec.set_params(n_components=H + 1).partial_fit(Xte, yte)


def test_defaults_beat_the_baselines_on_the_readme_data(readme_split):
    # issue 15: the README's example ended on its initial plateau, worse than
    # item means (0.9874 vs 0.9820); measured now 0.8705 against item means
    # 0.9820, global mean 1.0101, bias 0.93
    Xtr, Xte, ytr, yte = readme_split
    rec = CategoricalRBMRecommender(random_state=0).fit(Xtr, ytr)
    mine = rmse(rec.predict(Xte), yte)
    for name, pred in baselines(Xtr, ytr, Xte).items():
        assert mine < rmse(pred, yte) - 0.05, name
    # the predictions are not nearly constant
    assert np.std(rec.predict(Xte)) > 0.4


# --------------------------------------------------------- early stopping
def test_patience_counts_from_the_first_progress():
    class S:
        def copy(self):
            return self

    stop = PlateauEarlyStopping(tol=1e-3, n_iter_no_change=3)
    state = S()
    # a plateau (no progress on the first epoch) never stops
    assert not any(stop.update(-1.0, state, e) for e in range(10))
    # progress, then 3 epochs without: stop
    assert not stop.update(-0.9, state, 10)
    assert [stop.update(-0.95, state, 11 + e) for e in range(3)] == [
        False,
        False,
        True,
    ]
    assert stop.best_score == -0.9 and stop.best_epoch == 10
    # a new phase waits for its own progress again
    stop.reset_patience()
    assert not any(stop.update(-0.95, state, 20 + e) for e in range(6))


def test_early_stopping_does_not_end_on_the_initial_plateau(readme_split):
    # the old defaults (4 minibatches an epoch on these 200 items) do not
    # improve on the first epoch for many epochs: plain patience stopped at
    # epoch 6; now every epoch runs
    Xtr, _, ytr, _ = readme_split
    old = dict(
        n_components=100,
        learning_rate=0.1,
        batch_size=50,
        max_iter=20,
        cd_steps=((0, 1), (10, 3), (15, 5), (18, 9)),
        weight_decay=0.003,
        visible_bias_decay=0.0,
        fine_tune_iter=0,
    )
    rec = CategoricalRBMRecommender(random_state=0, **old).fit(Xtr, ytr)
    assert rec.n_iter_ == 20
    # the defaults make progress and the fine-tuning phase is kept
    rec = CategoricalRBMRecommender(random_state=0).fit(Xtr, ytr)
    scores = rec.validation_scores_
    assert max(scores[10:]) > max(scores[:10]) + 0.02
    assert rec.best_validation_rmse_ == pytest.approx(-max(scores))


# ------------------------------------------------------ orientation="both"
@pytest.fixture(scope="module")
def both(readme_split):
    Xtr, _, ytr, _ = readme_split
    kw = dict(max_iter=4, fine_tune_iter=2, random_state=0)
    models = {
        o: CategoricalRBMRecommender(orientation=o, **kw).fit(Xtr, ytr)
        for o in ("item", "user", "both")
    }
    return models, kw


def test_both_averages_an_item_and_a_user_model(both, readme_split):
    models, kw = both
    Xtr, Xte, ytr, yte = readme_split
    b, item, user = models["both"], models["item"], models["user"]
    np.testing.assert_array_equal(b.estimators_[0].components_, item.components_)
    np.testing.assert_array_equal(b.estimators_[1].components_, user.components_)
    np.testing.assert_allclose(
        b.predict(Xte), 0.65 * item.predict(Xte) + 0.35 * user.predict(Xte)
    )
    P = b.predict_proba(Xte)
    np.testing.assert_allclose(
        P, 0.65 * item.predict_proba(Xte) + 0.35 * user.predict_proba(Xte)
    )
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    known = np.isin(Xte[:, 0], b.users_) & np.isin(Xte[:, 1], b.items_)
    np.testing.assert_allclose((P @ b.classes_)[known], b.predict(Xte)[known])
    assert b.score(Xte, yte) == pytest.approx(
        1 - np.sum((b.predict(Xte) - yte) ** 2) / np.sum((yte - yte.mean()) ** 2)
    )
    # the weight is a parameter; item_weight=1 is the item model
    one = clone(b).set_params(item_weight=1.0).fit(Xtr, ytr)
    np.testing.assert_allclose(one.predict(Xte), item.predict(Xte))
    # two processes give the same models
    par = clone(b).set_params(n_jobs=2).fit(Xtr, ytr)
    np.testing.assert_array_equal(par.predict(Xte), b.predict(Xte))


def test_both_ranks_with_one_ranking_model(both, readme_split):
    models, kw = both
    b = models["both"]
    # the ranking model is fitted once, with the item-based half
    assert "_ranking" in vars(b.estimators_[0])
    assert "_ranking" not in vars(b.estimators_[1])
    assert "_ranking_lateral" in vars(b.estimators_[0])
    assert "_ranking_lateral" not in vars(b.estimators_[1])
    users = [b.users_[0], b.users_[5], -1]
    # the ranking model's part of the scores is the item-based half's ...
    b0, item0 = (
        pickle.loads(pickle.dumps(m)).set_params(ranking_like_weight=0.0)
        for m in (b, models["item"])
    )
    ids, scores = b0.recommend(users, n_items=4)
    ref_ids, ref_scores = item0.recommend(users, n_items=4)
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_allclose(scores, ref_scores)
    # ... and the rating model's log P(liked) is the averaged models'
    ids, scores = b.recommend(users, n_items=4)
    pairs = np.c_[np.repeat(users, 4), ids.ravel()]
    like = b.predict_proba(pairs)[:, b.classes_ >= 4].sum(axis=1)
    choose = []
    for u, row in zip(users, ids, strict=True):
        all_ids, all_scores = item0.recommend([u], n_items=len(b.items_))
        by_id = dict(zip(all_ids[0].tolist(), all_scores[0], strict=True))
        choose += [by_id[i] for i in row.tolist()]
    np.testing.assert_allclose(
        scores.ravel(),
        np.asarray(choose) + b.ranking_like_weight * np.log(like),
        rtol=1e-6,
    )
    hist = readme_split[0][readme_split[0][:, 0] == b.users_[3], 1]
    np.testing.assert_array_equal(
        b.recommend_new_user(hist, 5)[0], models["item"].recommend_new_user(hist, 5)[0]
    )
    # with ratings, a new user's list is re-ranked by the averaged fold-ins:
    # with item_weight=0 that is the user-based fold-in, which is exact for a
    # training user, so their own rated history reproduces recommend()
    Xtr, ytr = readme_split[0], readme_split[2]
    u0 = pickle.loads(pickle.dumps(b)).set_params(item_weight=0.0)
    for u in b.users_[[3, 7]]:
        rows = Xtr[:, 0] == u
        ids, scores = u0.recommend_new_user(Xtr[rows, 1], 5, history_ratings=ytr[rows])
        ref_ids, ref_scores = u0.recommend([u], n_items=5)
        np.testing.assert_array_equal(ids, ref_ids[0])
        np.testing.assert_allclose(scores, ref_scores[0], rtol=1e-5)
    # implicit feedback has no ratings to average
    with pytest.raises(ValueError, match="orientation='both' averages"):
        clone(b).fit(readme_split[0])


def test_both_recommends_by_the_averaged_ratings(both, readme_split):
    models, kw = both
    b = CategoricalRBMRecommender(orientation="both", ranking="rating", **kw)
    b.fit(readme_split[0], readme_split[2])
    ids, scores = b.recommend([b.users_[0], b.users_[5], -1], n_items=4)
    assert ids.shape == scores.shape == (3, 4)
    for row, user in enumerate(b.users_[[0, 5]]):
        pairs = np.c_[np.full(4, user), ids[row]]
        np.testing.assert_allclose(scores[row], b.predict(pairs), rtol=1e-5)
        assert np.all(np.diff(scores[row]) <= 0)
    # seen items are excluded, as for one model
    seen = b.estimators_[0]._user_item_matrix()[0].indices
    assert not np.isin(ids[0], b.items_[seen]).any()


def test_both_fold_in_partial_fit_and_persistence(both, readme_split, tmp_path):
    models, kw = both
    Xtr, Xte, ytr, yte = readme_split
    b = models["both"]
    hist = Xtr[:, 0] == b.users_[3]
    args = (Xtr[hist, 1], ytr[hist], b.items_[:5])
    np.testing.assert_allclose(
        b.predict_new_user(*args),
        0.65 * models["item"].predict_new_user(*args)
        + 0.35 * models["user"].predict_new_user(*args),
    )
    # pickle: identical predictions, and a bit-identical continuation
    copy = pickle.loads(pickle.dumps(b))
    np.testing.assert_array_equal(copy.predict(Xte), b.predict(Xte))
    before = b.predict(Xte)
    copy.partial_fit(Xte[:100], yte[:100])
    ref = {o: pickle.loads(pickle.dumps(models[o])) for o in ("item", "user")}
    for m in ref.values():
        m.partial_fit(Xte[:100], yte[:100])
    np.testing.assert_allclose(
        copy.predict(Xte),
        0.65 * ref["item"].predict(Xte) + 0.35 * ref["user"].predict(Xte),
    )
    np.testing.assert_array_equal(b.predict(Xte), before)  # the original
    # n_iter_ is the item-based model's, after partial_fit too
    assert copy.n_iter_ == copy.estimators_[0].n_iter_ == b.n_iter_ + 1
    # skops
    pytest.importorskip("skops")
    from sklearn_rbm import persistence

    path = tmp_path / "both.skops"
    persistence.save(b, path)
    np.testing.assert_array_equal(persistence.load(path).predict(Xte), before)


def test_both_refuses_what_belongs_to_one_model_and_checks_its_state(both):
    b = both[0]["both"]
    for call in (
        lambda: b.transform(b.items_[:2]),
        lambda: b.components_,
        lambda: b.intercept_hidden_,
        lambda: b.free_energy(),
    ):
        with pytest.raises(ValueError, match="estimators_"):
            call()
    # ... and hasattr / getattr with a default answer for the attributes
    assert not hasattr(b, "components_")
    assert getattr(b, "intercept_visible_", None) is None
    assert clone(b).get_params()["orientation"] == "both"
    # partial_fit cannot change the orientation of a fitted model
    c = pickle.loads(pickle.dumps(b)).set_params(orientation="item")
    with pytest.raises(ValueError, match="orientation"):
        c.partial_fit(np.c_[[b.users_[0]], [b.items_[0]]], [3.0])
    # a loaded model is checked: swapped or mismatched parts are refused
    bad = pickle.loads(pickle.dumps(b))
    bad.estimators_ = bad.estimators_[::-1]
    with pytest.raises(ValueError, match="estimators_"):
        check_recommender(bad)
    bad = pickle.loads(pickle.dumps(b))
    bad.users_ = bad.users_[:-1]
    with pytest.raises(ValueError, match="users_"):
        check_recommender(bad)
    check_recommender(pickle.loads(pickle.dumps(b)))
    # refitting as one model drops the two
    single = pickle.loads(pickle.dumps(b)).set_params(orientation="item")
    Xtr = np.c_[np.repeat(np.arange(20), 5), np.tile(np.arange(5), 20)]
    single.fit(Xtr, 1.0 + Xtr.sum(axis=1) % 5)
    assert not hasattr(single, "estimators_") and single.components_.ndim == 3


def test_both_refit_over_another_model_is_a_fresh_fit(both, readme_split):
    """A model fitted before (implicit feedback here) and refitted with
    orientation='both' keeps nothing of the earlier fit: the same attributes,
    lists and scores as a fresh fit."""
    models, kw = both
    Xtr, _, ytr, _ = readme_split
    fresh = models["both"]
    reused = CategoricalRBMRecommender(**kw).fit(Xtr)  # implicit, one model
    assert reused.feedback_ == "implicit"
    reused.set_params(orientation="both").fit(Xtr, ytr)
    assert set(vars(reused)) == set(vars(fresh))
    assert reused.feedback_ == fresh.feedback_ == "explicit"
    users = list(fresh.users_[:5])
    hist = list(fresh.items_[:3])
    for a, b in zip(reused.recommend(users, 5), fresh.recommend(users, 5)):
        np.testing.assert_array_equal(a, b)
    new_a, new_b = (
        m.recommend_new_user(hist, n_items=5, history_ratings=[5, 4, 2])
        for m in (reused, fresh)
    )
    for a, b in zip(new_a, new_b):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------- data
@pytest.mark.data
@pytest.mark.slow
def test_defaults_beat_the_baselines_on_ml_latest_small(shared_data):
    # benchmarks/_defaults_recommender.py mlsmall: 0.8461 against item means
    # 0.9731, global mean 1.0499, bias baseline 0.8748 (about 8 s of CPU)
    from sklearn_rbm.datasets import load_movielens

    data = load_movielens(variant="latest-small", data_home=shared_data, as_frame=False)
    X, y = np.asarray(data.X, dtype=np.int64), np.asarray(data.y, dtype=float)
    perm = np.random.default_rng(0).permutation(len(y))
    te, tr = perm[: round(0.1 * len(y))], perm[round(0.1 * len(y)) :]
    rec = CategoricalRBMRecommender(random_state=0).fit(X[tr], y[tr])
    mine = rmse(rec.predict(X[te]), y[te])
    for name, pred in baselines(X[tr], y[tr], X[te]).items():
        assert mine < rmse(pred, y[te]) - 0.02, name
