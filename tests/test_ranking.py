"""The ranking model of the recommender (issue 14): ``recommend`` by what
the user will choose and like, implicit feedback, candidate subsets, ties."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_rbm import CategoricalRBMRecommender
from sklearn_rbm.datasets import make_ratings
from sklearn_rbm.recommender import ranking
from sklearn_rbm.recommender.recommend import top_n

FAST = dict(n_components=8, max_iter=2, early_stopping=False, random_state=0)


def holdout(X, y, frac=0.25, seed=0):
    """Hold out ``frac`` of each user's ratings (at least one kept)."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(X), bool)
    for u in np.unique(X[:, 0]):
        rows = np.flatnonzero(X[:, 0] == u)
        n = int(frac * len(rows))
        test[rng.choice(rows, n, replace=False)] = True
    return X[~test], y[~test], X[test], y[test]


def ndcg10(top, users, X_te, keep):
    disc = 1 / np.log2(np.arange(2, 12))
    out = []
    for u, row in zip(users, top, strict=True):
        rel = set(X_te[(X_te[:, 0] == u) & keep, 1])
        if rel:
            hits = np.array([i in rel for i in row])
            out.append(hits @ disc / disc[: min(len(rel), 10)].sum())
    return float(np.mean(out))


@pytest.fixture(scope="module")
def chosen():
    # a choice model decides which items are rated: taste drives the choice
    X, y = make_ratings(300, 120, density=0.08, choice_strength=2.0, random_state=0)
    return holdout(X, y)


@pytest.fixture(scope="module")
def ranked(chosen):
    X_tr, y_tr, _, _ = chosen
    return CategoricalRBMRecommender(ranking_iter=40, **FAST).fit(X_tr, y_tr)


def unweighted(rec):
    """A copy of the fitted ``rec`` that ranks by the choice RBM alone (no
    like re-ranking, no lateral term: as if fitted with
    ``ranking_lateral_l2=None``)."""
    out = pickle.loads(pickle.dumps(rec))
    out.__dict__.pop("_ranking_lateral")
    return out.set_params(ranking_like_weight=0.0)


def test_make_ratings_choice_strength_plants_taste_in_the_choice():
    X0, y0 = make_ratings(100, 40, random_state=3)
    X1, y1 = make_ratings(100, 40, choice_strength=0.0, random_state=3)
    np.testing.assert_array_equal(X0, X1)  # the default is unchanged
    np.testing.assert_array_equal(y0, y1)
    X, y, truth = make_ratings(
        200, 80, choice_strength=3.0, random_state=3, return_truth=True
    )
    taste = truth["user_factors"] @ truth["item_factors"].T
    # the rated pairs are the ones that suit the users' taste
    assert taste[X[:, 0], X[:, 1]].mean() > taste.mean() + 0.5 * taste.std()
    with pytest.raises(ValueError, match="choice_strength"):
        make_ratings(10, 5, choice_strength=-1.0)


def test_ranking_beats_popularity_on_planted_choices(chosen, ranked):
    X_tr, _, X_te, y_te = chosen
    users = np.unique(X_te[:, 0])
    top, _ = ranked.recommend(users, 10)
    liked = y_te >= 4
    ours = ndcg10(top, users, X_te, liked)
    pop = np.bincount(X_tr[:, 1], minlength=120).astype(float)
    S = np.tile(pop, (len(users), 1))
    for r, u in enumerate(users):
        S[r, X_tr[X_tr[:, 0] == u, 1]] = -np.inf
    popular = ndcg10(top_n(S, 10)[0], users, X_te, liked)
    # ranking by predicted rating ignores the choice: it is far weaker
    rating = CategoricalRBMRecommender(ranking="rating", **FAST).fit(*chosen[:2])
    by_rating = ndcg10(rating.recommend(users, 10)[0], users, X_te, liked)
    assert ours > 1.3 * popular, (ours, popular)
    assert ours > 1.3 * by_rating, (ours, by_rating)


def test_exclude_seen_never_returns_a_seen_item(chosen, ranked):
    X_tr = chosen[0]
    users = np.unique(X_tr[:, 0])
    top, scores = ranked.recommend(users, 30)
    for u, row in zip(users, top, strict=True):
        assert not set(row) & set(X_tr[X_tr[:, 0] == u, 1])
    assert np.all(np.isfinite(scores))
    assert np.all(np.diff(scores, axis=1) <= 0)
    # a user who rated all but 3 items gets the 3, then seen items at -inf
    X = np.array([[0, i] for i in range(7)] + [[1, 0], [1, 1]])
    rec = CategoricalRBMRecommender(**FAST).fit(X, np.r_[np.full(7, 5.0), 1, 2])
    top, sc = rec.recommend([1], 7)
    assert set(top[0, :5]) == {2, 3, 4, 5, 6}
    assert np.all(np.isneginf(sc[0, 5:]))


def test_scores_are_log_probabilities_of_the_choice(ranked):
    rec = unweighted(ranked)
    n = len(ranked.items_)
    items, scores = rec.recommend([0], n, exclude_seen=False)
    assert np.exp(scores).sum() == pytest.approx(1.0, rel=1e-5)
    # the default adds w * log P(rating >= 4) of the rating model to the
    # ranking model's 50 best (here: all) items, then re-sorts
    for w in (1.0, 2.5):
        rec.set_params(ranking_like_weight=w)
        items_w, scores_w = rec.recommend([0], n, exclude_seen=False)
        proba = rec.predict_proba(np.c_[np.zeros(n, int), items_w[0]])
        like = proba[:, rec.classes_ >= 4].sum(axis=1)
        choose = dict(zip(items.tolist()[0], scores[0], strict=True))
        want = [choose[i] for i in items_w[0]] + w * np.log(like)
        np.testing.assert_allclose(scores_w[0], want, rtol=1e-6)
        assert np.all(np.diff(scores_w[0]) <= 0)
    # only the top 50 of the ranking model are re-ranked
    top, _ = rec.recommend([0], 10, exclude_seen=False)
    assert set(top[0]) <= set(items[0, :50])


def test_candidate_subset_is_respected(ranked):
    cand = ranked.items_[::3]
    top, scores = ranked.recommend([0, 1, 5], 5, items=cand)
    assert set(top.ravel()) <= set(cand)
    full_top, full_scores = ranked.recommend([0], len(ranked.items_))
    # the subset's list is the full ranking restricted to the candidates
    sub = [i for i in full_top[0] if i in set(cand)][:5]
    np.testing.assert_array_equal(top[0], sub)
    # more places than candidates: every candidate once
    top, _ = ranked.recommend([0], 50, items=[3, 1, 3], exclude_seen=False)
    assert sorted(top[0].tolist()) == [1, 3]
    with pytest.raises(ValueError, match="unknown"):
        ranked.recommend([0], 5, items=[1, 10_000])
    with pytest.raises(ValueError, match="empty"):
        ranked.recommend([0], 5, items=[])


def test_ties_are_broken_by_item_order():
    S = np.array([[1.0, 3.0, 3.0, 0.0, 3.0, 3.0], [0.0] * 6])
    cols, vals = top_n(S, 3)
    np.testing.assert_array_equal(cols, [[1, 2, 4], [0, 1, 2]])
    np.testing.assert_array_equal(vals[0], [3.0, 3.0, 3.0])
    cols, _ = top_n(S, 2, cand=np.array([0, 3, 5]))
    np.testing.assert_array_equal(cols, [[5, 0], [0, 3]])
    # seen items all score -inf: the padding is in item order
    X = np.array([[0, i] for i in range(6)] + [[1, 0]])
    with pytest.warns(UserWarning, match="Every rating is 5"):
        rec = CategoricalRBMRecommender(**FAST).fit(X, np.full(len(X), 5.0))
    top, scores = rec.recommend([0], 6)
    np.testing.assert_array_equal(top[0], np.arange(6))
    assert np.all(np.isneginf(scores))


def test_new_user_history_reproduces_the_training_ranking(ranked, chosen):
    X_tr = chosen[0]
    # without ratings, the ranking model alone ranks a new user: compare
    # with the training ranking without the rating model's term
    ranked = unweighted(ranked)
    for u in (0, 7):
        hist = X_tr[X_tr[:, 0] == u, 1]
        top, scores = ranked.recommend([u], 10)
        top_new, scores_new = ranked.recommend_new_user(hist, 10)
        np.testing.assert_array_equal(top[0], top_new)
        np.testing.assert_allclose(scores[0], scores_new, rtol=1e-6)
    # an empty history is an unknown user's list
    np.testing.assert_array_equal(
        ranked.recommend_new_user([], 5)[0], ranked.recommend([10**9], 5)[0][0]
    )


def test_new_user_ratings_feed_the_like_term(chosen, implicit):
    X_tr, y_tr = chosen[:2]
    # user orientation: the fold-in of a training user's rated history is
    # exactly that user, so the re-ranked list is their recommend() list
    rec = CategoricalRBMRecommender(orientation="user", **FAST).fit(X_tr, y_tr)
    for u in (0, 7):
        rows = X_tr[:, 0] == u
        top, scores = rec.recommend([u], 10)
        top_new, scores_new = rec.recommend_new_user(
            X_tr[rows, 1], 10, history_ratings=y_tr[rows]
        )
        np.testing.assert_array_equal(top[0], top_new)
        np.testing.assert_allclose(scores[0], scores_new, rtol=1e-5)
    # the ratings matter: a history rated 1 and the same history rated 5
    hist = X_tr[X_tr[:, 0] == 0, 1][:5]
    low = rec.recommend_new_user(hist, 10, history_ratings=np.full(5, 1.0))[1]
    high = rec.recommend_new_user(hist, 10, history_ratings=np.full(5, 5.0))[1]
    assert not np.allclose(low, high)
    # an implicit model has no rating model to read them
    with pytest.raises(ValueError, match="implicit feedback"):
        implicit.recommend_new_user(hist, 3, history_ratings=np.full(5, 5.0))


@pytest.mark.parametrize("orientation", ["item", "user", "both"])
def test_new_user_without_known_items_gets_the_unknown_users_list(chosen, orientation):
    """No known history item and no ratings: the list and scores of
    recommend() for an unknown user, like term included (it was skipped)."""
    X_tr, y_tr = chosen[:2]
    rec = CategoricalRBMRecommender(
        orientation=orientation, ranking_iter=3, **FAST
    ).fit(X_tr, y_tr)
    assert rec.ranking_like_weight > 0
    top, scores = rec.recommend([10**9], 8)  # an unknown user
    for hist in ([], [10_000]):
        top_new, scores_new = rec.recommend_new_user(hist, 8)
        np.testing.assert_array_equal(top_new, top[0])
        np.testing.assert_allclose(scores_new, scores[0], rtol=1e-12)


def test_new_user_ratings_are_checked_without_the_like_term(ranked):
    """history_ratings of the wrong length or values are refused whatever
    ranking_like_weight (with 0 they were accepted and ignored)."""
    rec = pickle.loads(pickle.dumps(ranked)).set_params(ranking_like_weight=0.0)
    with pytest.raises(ValueError, match="3 items but history_ratings has 2"):
        rec.recommend_new_user([3, 17, 42], 3, history_ratings=[5, 4])
    with pytest.raises(ValueError, match="values among classes_"):
        rec.recommend_new_user([3, 17, 42], 3, history_ratings=[5, 4, 7])
    top, _ = rec.recommend_new_user([3, 17, 42], 3, history_ratings=[5, 4, 1])
    np.testing.assert_array_equal(top, rec.recommend_new_user([3, 17, 42], 3)[0])


def test_rating_ranking_needs_ratings_for_new_users(chosen):
    rec = CategoricalRBMRecommender(ranking="rating", **FAST).fit(*chosen[:2])
    with pytest.raises(ValueError, match="history_ratings"):
        rec.recommend_new_user([1, 2], 5)
    top, _ = rec.recommend_new_user([1, 2], 5, history_ratings=[5.0, 4.0])
    assert not {1, 2} & set(top)
    # bad ratings name the arguments, and leave the model as it was
    before = pickle.dumps(rec)
    for ratings, match in [
        ([5.0], "history_items has 2 items but history_ratings has 1 ratings"),
        ([5.0, np.nan], "Ratings history_ratings contain NaN"),
        (None, "history_ratings \\(the ratings\\) is required"),
    ]:
        with pytest.raises(ValueError, match=match):
            rec.predict_new_user([1, 2], ratings, [3])
    assert pickle.dumps(rec) == before


def test_predict_is_the_rating_model_unchanged(chosen):
    # the ranking component is extra: predictions are those of ranking="rating"
    X_tr, y_tr, X_te, _ = chosen
    a = CategoricalRBMRecommender(**FAST).fit(X_tr, y_tr)
    b = CategoricalRBMRecommender(ranking="rating", **FAST).fit(X_tr, y_tr)
    np.testing.assert_array_equal(a.predict(X_te), b.predict(X_te))
    assert "_ranking" not in vars(b)


# --------------------------------------------------------------- implicit
@pytest.fixture(scope="module")
def implicit(chosen):
    X_tr = chosen[0]
    return CategoricalRBMRecommender(**FAST).fit(X_tr)


def test_implicit_fit_ranks_and_refuses_rating_methods(implicit, chosen):
    X_tr, _, X_te, _ = chosen
    assert implicit.feedback_ == "implicit"
    assert implicit.classes_.tolist() == [1.0]
    users = np.unique(X_te[:, 0])
    top, _ = implicit.recommend(users, 10)
    ours = ndcg10(top, users, X_te, np.ones(len(X_te), bool))
    pop = np.bincount(X_tr[:, 1], minlength=120).astype(float)
    S = np.tile(pop, (len(users), 1))
    for r, u in enumerate(users):
        S[r, X_tr[X_tr[:, 0] == u, 1]] = -np.inf
    assert ours > 1.2 * ndcg10(top_n(S, 10)[0], users, X_te, np.ones(len(X_te), bool))
    for method, args in (
        ("predict", (X_te[:3],)),
        ("predict_proba", (X_te[:3],)),
        ("score", (X_te[:3], np.ones(3))),
        ("score", (X_te[:3],)),  # as cross_validate calls it with y=None
        ("predict_new_user", ([1], [1.0], [2])),
        ("transform", ([0],)),
        ("free_energy", ()),
    ):
        with pytest.raises(ValueError, match="implicit feedback"):
            getattr(implicit, method)(*args)


def test_feedback_parameter_makes_the_mode_explicit(chosen):
    X_tr, y_tr = chosen[:2]
    with pytest.raises(ValueError, match="needs ratings"):
        CategoricalRBMRecommender(feedback="explicit", **FAST).fit(X_tr)
    with pytest.raises(ValueError, match="y must be None"):
        CategoricalRBMRecommender(feedback="implicit", **FAST).fit(X_tr, y_tr)
    with pytest.raises(ValueError, match="ranking='choice'"):
        CategoricalRBMRecommender(ranking="rating", **FAST).fit(X_tr)
    # a sparse matrix: its non-zeros are ratings, or the pairs (implicit)
    M = sp.csr_matrix((y_tr, (X_tr[:, 0], X_tr[:, 1])))
    explicit = CategoricalRBMRecommender(**FAST).fit(M)
    assert explicit.feedback_ == "explicit" and len(explicit.classes_) == 5
    imp = CategoricalRBMRecommender(feedback="implicit", **FAST).fit(M)
    pairs = CategoricalRBMRecommender(**FAST).fit(X_tr)
    assert imp.feedback_ == "implicit"
    np.testing.assert_array_equal(
        imp.recommend([0, 1], 5)[0], pairs.recommend([0, 1], 5)[0]
    )
    # a 0/1 click matrix read as ratings has one rating value: a hint
    ones = M.copy()
    ones.data[:] = 1.0
    with pytest.warns(UserWarning, match="Every rating is 1.*feedback='implicit'"):
        CategoricalRBMRecommender(**FAST).fit(ones)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CategoricalRBMRecommender(feedback="implicit", **FAST).fit(ones)


def test_implicit_partial_fit_adds_users_and_items(implicit):
    rec = pickle.loads(pickle.dumps(implicit))
    before = rec.recommend([0], 5)
    rec.partial_fit(np.array([[1000, 3], [1000, 5], [0, 500]]))
    assert 500 in rec.items_ and 1000 in rec.users_
    assert rec._ranking.params["W"].shape[0] == len(rec.items_)
    top, _ = rec.recommend([1000], 5)
    assert not {3, 5} & set(top[0])
    assert rec.recommend([0], 5)[0].shape == (1, 5)
    np.testing.assert_array_equal(implicit.recommend([0], 5)[0], before[0])
    with pytest.raises(ValueError, match="y=None"):
        rec.partial_fit(np.array([[0, 1]]), [3.0])
    # from scratch: partial_fit alone builds an implicit model
    fresh = CategoricalRBMRecommender(**FAST).partial_fit(np.array([[0, 1], [1, 2]]))
    assert fresh.feedback_ == "implicit"
    assert fresh.recommend([0], 1)[0].tolist() == [[2]]


def test_explicit_partial_fit_updates_the_ranking_model(ranked):
    rec = pickle.loads(pickle.dumps(ranked))
    W0 = rec._ranking.params["W"].copy()
    rec.partial_fit(np.array([[0, 999], [2000, 1]]), [5.0, 4.0])
    assert rec._ranking.params["W"].shape == (len(rec.items_), W0.shape[1])
    assert not np.array_equal(rec._ranking.params["W"][: len(W0)], W0)
    np.testing.assert_array_equal(ranked._ranking.params["W"], W0)


def test_ranking_like_weight_is_validated_where_used(ranked):
    """recommend reads ranking_like_weight at every call: a value set after
    fit that fit would refuse raises there (NaN scores or seen items
    otherwise), and a valid change takes effect."""
    rec = pickle.loads(pickle.dumps(ranked))
    hist_items, hist_ratings = [0, 1, 2], [5.0, 1.0, 4.0]
    for bad in (np.nan, np.inf, -5.0, "2"):
        rec.set_params(ranking_like_weight=bad)
        with pytest.raises(ValueError, match="'ranking_like_weight' parameter"):
            rec.recommend([0], 3)
        with pytest.raises(ValueError, match="'ranking_like_weight' parameter"):
            rec.recommend_new_user(hist_items, 3, history_ratings=hist_ratings)
    # a valid change takes effect at the next call: 0 drops the like term
    rec.set_params(ranking_like_weight=0.0)
    _, s0 = rec.recommend([0, 1], 5, exclude_seen=False)
    _, s2 = ranked.recommend([0, 1], 5, exclude_seen=False)
    assert not np.allclose(s0, s2)
    S = rec._rank_matrix(np.array([0, 1]))  # the ranking model's scores alone
    np.testing.assert_allclose(s0, -np.sort(-S)[:, :5])


def test_item_weight_is_validated_where_used():
    """orientation="both" reads item_weight at every prediction: NaN set
    after fit gave NaN predictions, 2.0 predictions off the rating scale."""
    X, y = make_ratings(60, 30, random_state=0)
    rec = CategoricalRBMRecommender(
        orientation="both", n_components=4, max_iter=2, ranking_iter=2, random_state=0
    ).fit(X, y)
    before, weight = pickle.dumps(rec), rec.item_weight
    for bad in (np.nan, 2.0, -1.0):
        rec.set_params(item_weight=bad)
        for call in (
            lambda: rec.predict(X[:3]),
            lambda: rec.recommend([0, 1], 3),
            lambda: rec.predict_new_user([0, 1], [5.0, 5.0], [2, 3]),
        ):
            with pytest.raises(ValueError, match="'item_weight' parameter"):
                call()
    rec.set_params(item_weight=weight)  # the failed calls changed nothing
    assert pickle.dumps(rec) == before


def test_history_ratings_errors_name_history_ratings(ranked):
    with pytest.raises(TypeError, match="history_ratings must be a list"):
        ranked.predict_new_user([1, 2], {5.0, 4.0}, [3])
    with pytest.raises(ValueError, match="history_ratings .the ratings. must be 1-d"):
        ranked.recommend_new_user([1, 2], 3, history_ratings=5.0)


def test_partial_fit_refuses_a_changed_ranking(ranked, chosen):
    """ranking is fixed at fit (recommend keeps the fitted ranking model);
    partial_fit refuses to add or drop it, and leaves the model unchanged."""
    X_tr, y_tr, _, _ = chosen
    rec = pickle.loads(pickle.dumps(ranked)).set_params(ranking="rating")
    before = rec.recommend([0, 1], 5)
    W0 = rec._ranking.params["W"].copy()
    with pytest.raises(ValueError, match="ranking='rating' differs from the fitted"):
        rec.partial_fit(X_tr[:10], y_tr[:10])
    np.testing.assert_array_equal(rec._ranking.params["W"], W0)
    np.testing.assert_array_equal(rec.recommend([0, 1], 5)[0], before[0])
    plain = CategoricalRBMRecommender(ranking="rating", **FAST).fit(X_tr, y_tr)
    plain.set_params(ranking="choice")
    with pytest.raises(ValueError, match="ranking='choice' differs from the fitted"):
        plain.partial_fit(X_tr[:10], y_tr[:10])
    plain.set_params(ranking="rating").partial_fit(X_tr[:10], y_tr[:10])


def test_unordered_ids_are_a_clear_error(ranked):
    """A set of users (no order for the rows of the answer) is refused by
    name; a set of candidate items (order moot) is accepted."""
    with pytest.raises(TypeError, match="users must be a list, a tuple or an"):
        ranked.recommend({0, 1}, 3)
    with pytest.raises(TypeError, match="history_items must be a list"):
        ranked.recommend_new_user({0: 5.0, 1: 4.0}, 3)
    with pytest.raises(TypeError, match="query_items must be a list"):
        ranked.predict_new_user([0], [5.0], {1, 2})
    a = ranked.recommend([0, 3], 3, items={5, 1, 7, 2})
    b = ranked.recommend([0, 3], 3, items=[1, 2, 5, 7])
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize(
    "params",
    [{}, {"ranking": "rating"}, {"orientation": "both"}, {"orientation": "user"}],
)
def test_a_history_with_no_known_item_is_an_unknown_user(params):
    """predict_new_user and recommend_new_user with an empty history (or
    only items unknown to the model) answer as predict and recommend do for
    an unknown user: the fallback, the like term included."""
    X, y = make_ratings(80, 40, random_state=0)
    rec = CategoricalRBMRecommender(
        n_components=8, max_iter=3, ranking_iter=3, random_state=0, **params
    ).fit(X, y)
    stranger = 10**6
    items, scores = rec.recommend([stranger], 5)
    for hist, ratings in (([], []), ([10**7], [5.0])):
        got_items, got_scores = rec.recommend_new_user(hist, 5, history_ratings=ratings)
        np.testing.assert_array_equal(got_items, items[0])
        np.testing.assert_allclose(got_scores, scores[0])
        queries = [0, 1, 39, 99]  # 99: an unknown item
        expected = rec.predict([[stranger, q] for q in queries])
        if ratings:  # the unknown item: the history's mean, as a known user's
            expected[-1] = np.mean(ratings)
        np.testing.assert_allclose(
            rec.predict_new_user(hist, ratings, queries), expected
        )
    assert rec.predict([[stranger, 0]])[0] == pytest.approx(y[X[:, 1] == 0].mean())


def _two_groups():
    """Even users choose among items 0-4, odd users among items 5-9."""
    return np.array(
        [[u, i + 5 * (u % 2)] for u in range(60) for i in range(5) if (u + i) % 3]
    )


@pytest.mark.parametrize("orientation", ["item", "user", "both"])
def test_similar_items_are_the_cosines_of_the_item_rows(orientation):
    X = _two_groups()
    # explicit ratings (every seventh user dislikes what they chose)
    y = np.where(X[:, 0] % 7 == 0, 1.0, 5.0)
    rec = CategoricalRBMRecommender(
        n_components=4, max_iter=2, ranking_iter=20, random_state=0
    )
    rec.set_params(orientation=orientation).fit(X, y)
    top, sims = rec.similar_items([0, 7, 3], n_items=4)
    # the planted structure: each item's similar items are its own group's
    groups = [[1, 2, 3, 4], [5, 6, 8, 9], [0, 1, 2, 4]]
    assert [sorted(r) for r in top.tolist()] == groups
    # the scores: cosines of the ranking model's rows of W, best first
    W = rec._ranker()._ranking.params["W"].astype(float)
    E = W / np.linalg.norm(W, axis=1, keepdims=True)
    codes = {int(i): c for c, i in enumerate(rec.items_)}
    for q, row, s in zip([0, 7, 3], top, sims):
        want = [E[codes[q]] @ E[codes[int(i)]] for i in row]
        np.testing.assert_allclose(s, want, rtol=1e-10)
    assert np.all(np.diff(sims, axis=1) <= 0) and np.all(np.abs(sims) <= 1)
    # every item ranked: the other group next, and the query item itself
    # only as the padding of a list longer than the other items, at -inf
    full, fs = rec.similar_items([0], n_items=20)
    assert full.shape == (1, 10) and full[0, -1] == 0 and fs[0, -1] == -np.inf
    assert set(full[0, 4:9]) == {5, 6, 7, 8, 9} and np.all(fs[0, 4:] < fs[0, 3])
    # candidates; chunking changes nothing; an empty query
    t2, _ = rec.similar_items([0, 7], 2, items={9, 3, 8, 0})
    assert t2[0, 0] == 3 and set(t2[1]) == {8, 9}
    np.testing.assert_array_equal(rec.similar_items([0, 7, 3], 4, chunk_size=1)[0], top)
    assert rec.similar_items([], 3)[0].shape == (0, 3)


def test_similar_items_leave_out_rarely_rated_candidates():
    # a review: on ml-latest-small items rated once filled the lists
    extra = [[u, 10] for u in (0, 2)] + [[u, 11] for u in (0, 2, 4, 6)]
    extra += [[u, 12] for u in (0, 2, 4, 6, 8)]  # items of 2, 4 and 5 ratings
    X = np.r_[_two_groups(), extra]
    rec = CategoricalRBMRecommender(
        n_components=4, max_iter=2, ranking_iter=5, random_state=0
    ).fit(X)
    every = rec.similar_items([0, 7], n_items=20, min_support=1)[0]
    assert every.shape == (2, 13)
    for kw in ({}, {"min_support": "auto"}, {"min_support": 5}):
        top = rec.similar_items([0, 7], n_items=20, **kw)[0]
        assert top.shape == (2, 11) and not np.any(np.isin(top, [10, 11]))
    top = rec.similar_items([0], n_items=20, min_support=3)[0]
    assert top.shape == (1, 12) and 11 in top and 10 not in top
    # the query itself is never filtered; candidates and min_support combine
    assert rec.similar_items([10], n_items=3)[0].shape == (1, 3)
    top = rec.similar_items([0], n_items=5, items=[10, 1, 2])[0]
    assert sorted(top[0]) == [1, 2]
    # one candidate: "auto" keeps it whatever its support
    assert rec.similar_items([0], n_items=5, items=[10])[0].tolist() == [[10]]
    # "auto" looks at the candidates' supports (2 and 4 here: it is 2)
    assert sorted(rec.similar_items([0], n_items=5, items=[10, 11])[0][0]) == [10, 11]
    # "auto" never leaves a tiny data set without lists: 5, or the second
    # largest support among the candidates when that is fewer
    tiny = CategoricalRBMRecommender(
        n_components=2, max_iter=1, ranking_iter=1, random_state=0
    ).fit(np.array([[0, 0], [0, 1], [1, 1], [1, 2], [2, 2], [2, 0], [3, 1]]))
    # supports: item 0 two ratings, item 1 three, item 2 two
    for q in (0, 1):
        top, sims = tiny.similar_items([q], n_items=2)
        assert sorted(top[0]) == sorted({0, 1, 2} - {q}) and np.isfinite(sims).all()
    top, sims = tiny.similar_items([1], n_items=2, items=[1, 2])
    assert top.tolist() == [[2, 1]] and sims[0, 1] == -np.inf  # padded
    with pytest.raises(ValueError, match="No candidate item has min_support=4"):
        tiny.similar_items([0], min_support=4)
    for bad in (0, True, "all", 2.5):
        with pytest.raises(ValueError, match="min_support"):
            rec.similar_items([0], min_support=bad)


def test_similar_items_errors_leave_the_model_unchanged(ranked):
    before = pickle.dumps(ranked)
    with pytest.raises(ValueError, match="unknown to the model: \\[10000\\]"):
        ranked.similar_items([0, 10000])
    with pytest.raises(TypeError, match="query_items must be a list"):
        ranked.similar_items({0, 1})
    with pytest.raises(ValueError, match="n_items"):
        ranked.similar_items([0], n_items=0)
    with pytest.raises(ValueError, match="1-dimensional"):
        ranked.similar_items([[0, 1]])
    assert pickle.dumps(ranked) == before
    X, y = make_ratings(40, 20, random_state=0)
    plain = CategoricalRBMRecommender(ranking="rating", **FAST).fit(X, y)
    with pytest.raises(ValueError, match="ranking='rating' and has none"):
        plain.similar_items([0])


def test_ranking_round_trips_pickle_and_skops(implicit, ranked, tmp_path):
    pytest.importorskip("skops")
    from sklearn_rbm.persistence import load, save

    for model in (implicit, ranked):
        users = model.users_[:5]
        ref = model.recommend(users, 5)
        for loaded in (
            pickle.loads(pickle.dumps(model)),
            (save(model, tmp_path / "m.skops"), load(tmp_path / "m.skops"))[1],
        ):
            got = loaded.recommend(users, 5)
            np.testing.assert_array_equal(ref[0], got[0])
            np.testing.assert_array_equal(ref[1], got[1])
            # partial_fit continues identically
            a = pickle.loads(pickle.dumps(model))
            a.partial_fit(
                np.array([[users[0], model.items_[-1]]]),
                *(([5.0],) if model.feedback_ == "explicit" else ()),
            )
            loaded.partial_fit(
                np.array([[users[0], model.items_[-1]]]),
                *(([5.0],) if model.feedback_ == "explicit" else ()),
            )
            np.testing.assert_array_equal(
                a._ranking.params["W"], loaded._ranking.params["W"]
            )


def test_tampered_ranking_state_is_refused(implicit):
    bad = pickle.loads(pickle.dumps(implicit))
    bad._ranking.params["W"] = bad._ranking.params["W"][:-1]
    with pytest.raises(ValueError, match="_ranking"):
        pickle.loads(pickle.dumps(bad))
    bad = pickle.loads(pickle.dumps(implicit))
    bad._ranking.params["b"][0] = np.nan
    with pytest.raises(ValueError, match="_ranking"):
        pickle.loads(pickle.dumps(bad))
    bad = pickle.loads(pickle.dumps(implicit))
    bad.feedback_ = "sometimes"
    with pytest.raises(ValueError, match="feedback_"):
        pickle.loads(pickle.dumps(bad))


def test_ranking_is_reproducible(chosen):
    X_tr, y_tr = chosen[:2]
    a = CategoricalRBMRecommender(**FAST).fit(X_tr, y_tr)
    b = CategoricalRBMRecommender(**FAST).fit(X_tr, y_tr)
    np.testing.assert_array_equal(a._ranking.params["W"], b._ranking.params["W"])
    c = CategoricalRBMRecommender(**dict(FAST, dtype="float64")).fit(X_tr)
    assert c._ranking.params["W"].dtype == np.float64


def test_implicit_pairs_seen_twice_are_one_choice(chosen):
    X_tr = chosen[0]
    once = CategoricalRBMRecommender(**FAST).fit(X_tr)
    twice = CategoricalRBMRecommender(**FAST).fit(np.r_[X_tr, X_tr[::-3]])
    np.testing.assert_array_equal(once._ranking.params["W"], twice._ranking.params["W"])
    # explicit ratings of one pair twice stay an error
    with pytest.raises(ValueError, match="(?i)duplicate"):
        CategoricalRBMRecommender(**FAST).fit(X_tr[[0, 0]], [1.0, 2.0])


# ---------------------------------------------------------- lateral term
def test_lateral_weights_are_the_zero_diagonal_ridge_solution():
    rng = np.random.default_rng(0)
    V = sp.csr_matrix((rng.random((80, 12)) < 0.3).astype(np.float64))
    lam = 3.0
    A = ranking.fit_lateral(V, lam, np.float64)["weights"]
    assert np.all(np.diag(A) == 0)
    # column j is the ridge regression of item j on the other items
    D = V.toarray()
    for j in range(12):
        o = np.delete(np.arange(12), j)
        coef = np.linalg.solve(
            D[:, o].T @ D[:, o] + lam * np.eye(11), D[:, o].T @ D[:, j]
        )
        np.testing.assert_allclose(A[o, j], coef, rtol=1e-9, atol=1e-12)


def test_denoising_lateral_weights_penalise_each_item_by_its_choices():
    # EDLAE (dropout p): the same zero-diagonal regressions, with the ridge
    # of input item k raised by p / (1 - p) times its number of choices
    rng = np.random.default_rng(1)
    V = sp.csr_matrix((rng.random((60, 9)) < 0.4).astype(np.float64))
    D = V.toarray()
    lat = ranking.fit_lateral(V, 2.0, np.float64, dropout=0.5, weight=7.0)
    assert (lat["dropout"], lat["weight"]) == (0.5, 7.0)
    ridge = 2.0 + D.sum(axis=0)  # p / (1 - p) = 1; G_kk = choices of k
    for j in range(9):
        o = np.delete(np.arange(9), j)
        coef = np.linalg.solve(
            D[:, o].T @ D[:, o] + np.diag(ridge[o]), D[:, o].T @ D[:, j]
        )
        np.testing.assert_allclose(lat["weights"][o, j], coef, rtol=1e-9, atol=1e-12)
    # the weight multiplies the term in the ranking score
    params = ranking._init_params(9, 3, np.ones(9), np.dtype(np.float64), rng)
    want = ranking.log_proba(params, V) + 7.0 * (D @ lat["weights"])
    np.testing.assert_allclose(ranking.scores(params, lat, V), want, rtol=1e-12)


def test_lateral_settings_follow_the_feedback(chosen):
    X_tr, y_tr = chosen[:2]
    explicit = CategoricalRBMRecommender(**FAST).fit(X_tr, y_tr)
    implicit = CategoricalRBMRecommender(**FAST).fit(X_tr)
    assert explicit.ranking_lateral_l2 == implicit.ranking_lateral_l2 == "auto"
    V, _ = explicit._ranking_inputs(vars(explicit), explicit.orientation)
    for rec, l2, dropout, weight in (
        (explicit, 1000.0, 0.0, ranking.LATERAL_WEIGHT),
        (implicit, 500.0, 0.5, ranking.IMPLICIT_LATERAL_WEIGHT),
    ):
        want = ranking.fit_lateral(V, l2, np.float32, dropout, weight)
        got = rec._ranking_lateral
        assert (got["dropout"], got["weight"]) == (dropout, weight)
        np.testing.assert_array_equal(got["weights"], want["weights"])
    # a number is the penalty in either mode; the mode keeps its other settings
    imp = CategoricalRBMRecommender(ranking_lateral_l2=250.0, **FAST).fit(X_tr)
    want = ranking.fit_lateral(V, 250.0, np.float32, 0.5, 20.0)["weights"]
    np.testing.assert_array_equal(imp._ranking_lateral["weights"], want)
    # implicit scores: the choice RBM's log-probability plus 20 x the term
    n = len(implicit.items_)
    _, scores = implicit.recommend([0], n, exclude_seen=False)
    items, _ = implicit.recommend([0], n, exclude_seen=False)
    hist = sp.csr_matrix(V[0].toarray())
    logp = ranking.log_proba(implicit._ranking.params, hist)[0]
    lateral = (hist @ implicit._ranking_lateral["weights"])[0]
    want = logp + ranking.IMPLICIT_LATERAL_WEIGHT * lateral
    np.testing.assert_allclose(scores[0], want[items[0]], rtol=1e-5, atol=1e-4)


def test_lateral_weights_saved_without_their_settings_rank_as_before(ranked):
    old = pickle.loads(pickle.dumps(ranked))
    for key in ("dropout", "weight"):
        del old._ranking_lateral[key]
    loaded = pickle.loads(pickle.dumps(old))  # the three-entry form loads
    np.testing.assert_array_equal(
        loaded.recommend([0, 1], 5)[1], ranked.recommend([0, 1], 5)[1]
    )


def test_lateral_covers_the_most_chosen_items(monkeypatch):
    V = sp.csr_matrix(
        np.array([[1, 1, 0, 1, 0], [1, 0, 1, 1, 0], [0, 1, 0, 1, 1]], float)
    )
    monkeypatch.setattr(ranking, "MAX_LATERAL_ITEMS", 3)
    lat = ranking.fit_lateral(V, 0.5, np.float64)
    # counts 2, 2, 1, 3, 1: the three most chosen (ties by item order)
    np.testing.assert_array_equal(lat["items"], [0, 1, 3])
    sub = ranking.fit_lateral(V[:, [0, 1, 3]], 0.5, np.float64)["weights"]
    np.testing.assert_array_equal(lat["weights"], sub)
    rng = np.random.default_rng(1)
    params = ranking._init_params(5, 4, [1, 2, 3, 4, 5], np.dtype(np.float64), rng)
    S = ranking.scores(params, lat, V)
    base = ranking.log_proba(params, V)
    # items outside the lateral block keep the choice RBM's score
    np.testing.assert_array_equal(S[:, [2, 4]], base[:, [2, 4]])
    want = base[:, [0, 1, 3]] + ranking.LATERAL_WEIGHT * (V[:, [0, 1, 3]] @ sub)
    np.testing.assert_allclose(S[:, [0, 1, 3]], want, rtol=1e-12)


def test_recommend_scores_are_choice_plus_lateral(ranked, chosen):
    X_tr, y_tr = chosen[:2]
    rec = CategoricalRBMRecommender(
        ranking_lateral_l2=2.0, ranking_like_weight=0.0, **FAST
    ).fit(X_tr, y_tr)
    n = len(rec.items_)
    items, scores = rec.recommend([0], n, exclude_seen=False)
    hist = np.zeros(n)
    hist[X_tr[X_tr[:, 0] == 0, 1]] = 1
    logp = ranking.log_proba(rec._ranking.params, sp.csr_matrix(hist))[0]
    lateral = hist @ rec._ranking_lateral["weights"]
    want = logp + ranking.LATERAL_WEIGHT * lateral
    np.testing.assert_allclose(scores[0], want[items[0]], rtol=1e-5, atol=1e-5)
    assert np.abs(lateral).max() > 0.1  # the term matters at this penalty
    # a new user's history is scored the same way
    top_new, s_new = rec.recommend_new_user(X_tr[X_tr[:, 0] == 0, 1], 10)
    np.testing.assert_array_equal(top_new, rec.recommend([0], 10)[0][0])
    # ranking_lateral_l2=None: no term, and a refit with it drops the old one
    rec.set_params(ranking_lateral_l2=None).fit(X_tr, y_tr)
    assert "_ranking_lateral" not in vars(rec)
    _, scores = rec.recommend([0], n, exclude_seen=False)
    assert np.exp(scores).sum() == pytest.approx(1.0, rel=1e-5)
    with pytest.raises(ValueError, match="ranking_lateral_l2"):
        CategoricalRBMRecommender(ranking_lateral_l2=0.0).fit(X_tr, y_tr)


def test_partial_fit_keeps_the_lateral_weights(ranked):
    rec = pickle.loads(pickle.dumps(ranked))
    before = {k: np.copy(v) for k, v in rec._ranking_lateral.items()}
    rec.partial_fit(np.array([[0, 999], [2000, 1]]), [5.0, 4.0])
    for k, v in before.items():
        np.testing.assert_array_equal(rec._ranking_lateral[k], v)
    # the new item is ranked (by the choice RBM alone)
    top, scores = rec.recommend([2000], len(rec.items_))
    assert 999 in top[0] and np.all(np.isfinite(scores[0, :-1]))


def _set(key, value):
    def change(m):
        m._ranking_lateral[key] = value(m._ranking_lateral[key])

    return change


def _weight(i, j, value):
    def change(m):
        m._ranking_lateral["weights"][i, j] = value

    return change


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix
@pytest.mark.parametrize(
    "change, match",
    [
        (_set("weights", lambda A: A[:-1]), "shape"),
        (_weight(0, 1, np.nan), "non-finite"),
        (_weight(2, 2, 0.5), "non-zero diagonal"),
        (_set("weights", np.asfortranarray), "C-contiguous"),
        (_set("weights", lambda A: A.astype(np.float64)), "dtype"),
        (_set("weights", np.asmatrix), "plain numpy array"),
        (_set("items", lambda i: np.r_[i[:-1], 10**6]), ">= 120 items"),
        (_set("items", lambda i: i[::-1].copy()), "sorted"),
        (_set("items", lambda i: i.astype(float)), "dtype"),
        (_set("n_pairs", lambda n: -1), "n_pairs"),
        (_set("n_pairs", lambda n: "many"), "n_pairs"),
        (_set("weight", lambda w: -w), "weight"),
        (_set("weight", lambda w: np.nan), "weight"),
        (_set("dropout", lambda p: 1.0), "dropout"),
        (lambda m: m._ranking_lateral.pop("weight"), "entries"),
        (lambda m: m._ranking_lateral.pop("items"), "entries"),
        (lambda m: m.__dict__.pop("_ranking"), "without _ranking"),
    ],
)
def test_tampered_lateral_weights_are_refused(ranked, change, match):
    bad = pickle.loads(pickle.dumps(ranked))
    change(bad)
    with pytest.raises(ValueError, match=match):
        pickle.loads(pickle.dumps(bad))


def test_non_native_lateral_weights_are_refused(ranked):
    # (pickle restores native byte order; a skops or hand-built state may not)
    lat = dict(ranked._ranking_lateral)
    lat["weights"] = lat["weights"].astype(lat["weights"].dtype.newbyteorder())
    with pytest.raises(ValueError, match="dtype"):
        ranking.check_lateral("_ranking_lateral", lat, len(ranked.items_), "float32")


def test_too_small_lateral_l2_is_a_clear_error():
    # fewer users than items: a singular co-occurrence matrix, which a tiny
    # penalty leaves numerically indefinite (this once crashed scipy's inv)
    rng = np.random.default_rng(0)
    X = np.unique(np.c_[rng.integers(0, 10, 120), rng.integers(0, 50, 120)], axis=0)
    y = rng.integers(1, 6, len(X)).astype(float)
    # (explicit feedback: implicit feedback's denoising ridge adds each
    # item's choice count to its penalty, which keeps the matrix definite)
    rec = CategoricalRBMRecommender(ranking_lateral_l2=1e-15, **FAST)
    with pytest.raises(ValueError, match="ranking_lateral_l2=1e-15 is too small"):
        rec.fit(X, y)
    # a fitted model stays as it was when a refit fails
    rec.set_params(ranking_lateral_l2=1.0).fit(X, y)
    before = rec.recommend([0], 5)
    with pytest.raises(ValueError, match="too small"):
        rec.set_params(ranking_lateral_l2=1e-15).fit(X, y)
    np.testing.assert_array_equal(rec.recommend([0], 5)[0], before[0])


def test_partial_fit_refits_the_lateral_weights_when_choices_double(chosen):
    X_tr = chosen[0]
    order = np.random.default_rng(0).permutation(len(X_tr))
    rec = CategoricalRBMRecommender(ranking_lateral_l2=2.0, **FAST)
    # a model built by partial_fit alone (implicit feedback: any batch can
    # come first): the first batch fits the weights
    rec.partial_fit(X_tr[order[:100]])
    assert rec._ranking_lateral["n_pairs"] == 100
    rec.partial_fit(X_tr[order[100:150]])
    assert rec._ranking_lateral["n_pairs"] == 100  # 150 < 2 x 100: kept
    rec.partial_fit(X_tr[order[150:]])
    lat = rec._ranking_lateral
    assert lat["n_pairs"] == len(X_tr)
    # refitted on every choice: the weights of a fit on the same pairs
    V, _ = rec._ranking_inputs(vars(rec), rec.orientation)
    # (implicit feedback: the denoising ridge and its weight)
    want = ranking.fit_lateral(V, 2.0, np.float32, 0.5, ranking.IMPLICIT_LATERAL_WEIGHT)
    assert (lat["dropout"], lat["weight"]) == (0.5, ranking.IMPLICIT_LATERAL_WEIGHT)
    np.testing.assert_array_equal(lat["items"], want["items"])
    np.testing.assert_allclose(lat["weights"], want["weights"], atol=1e-6)
    assert len(lat["items"]) == len(rec.items_)


def test_models_saved_before_the_lateral_term_rank_as_they_did(ranked):
    old = pickle.loads(pickle.dumps(ranked))
    del old._ranking_lateral
    state = old.__getstate__()
    for name in ("ranking_lateral_l2", "ranking_like_weight"):
        del state[name]
    loaded = CategoricalRBMRecommender.__new__(CategoricalRBMRecommender)
    loaded.__setstate__(state)
    assert loaded.ranking_lateral_l2 is None
    assert loaded.ranking_like_weight == 0.0
    np.testing.assert_array_equal(
        loaded.recommend([0, 1], 5)[0], unweighted(ranked).recommend([0, 1], 5)[0]
    )
    # older still: no fine-tuning, no visible-bias decay, ranking by rating
    # (how partial_fit continues and what get_params reports)
    for name in ("fine_tune_iter", "visible_bias_decay", "ranking"):
        del state[name]
    del state["_ranking"]
    older = CategoricalRBMRecommender.__new__(CategoricalRBMRecommender)
    older.__setstate__(state)
    got = older.get_params()
    assert (got["fine_tune_iter"], got["visible_bias_decay"]) == (0, 0.0)
    assert got["ranking"] == "rating"
    older.partial_fit(np.array([[0, 1]]), [5.0])  # and it still trains
