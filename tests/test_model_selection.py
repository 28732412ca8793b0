"""UserHoldoutSplit, and ranking scorers in cross_validate / GridSearchCV."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_validate

from sklearn_rbm import CategoricalRBMRecommender
from sklearn_rbm.datasets import make_ratings, train_test_split_ratings
from sklearn_rbm.metrics import catalogue_coverage, make_ranking_scorer
from sklearn_rbm.model_selection import UserHoldoutSplit


def _pairs(counts):
    """(user, item) pairs: user u has counts[u] ratings, shuffled rows."""
    X = np.array([[u, 100 + j] for u, c in enumerate(counts) for j in range(c)])
    return X[np.random.default_rng(0).permutation(len(X))]


def test_only_rating_never_in_test():
    X = _pairs([1, 1, 2, 10, 1])
    for test_size in (0.9, 0.5, 1, 5):
        cv = UserHoldoutSplit(n_splits=20, test_size=test_size, random_state=0)
        for train, test in cv.split(X):
            for u in (0, 1, 4):  # one rating each
                assert u in X[train, 0] and u not in X[test, 0]
            assert np.sum(X[train, 0] == 2) >= 1 and np.sum(X[train, 0] == 3) >= 1


def test_min_train_keeps_that_many():
    X = _pairs([2, 3, 10])
    cv = UserHoldoutSplit(n_splits=10, test_size=0.9, min_train=2, random_state=0)
    for _, test in cv.split(X):
        assert 0 not in X[test, 0]  # two ratings, both kept
        assert np.sum(X[test, 0] == 1) <= 1 and np.sum(X[test, 0] == 2) == 8


def test_each_user_holds_out_its_fraction():
    X = _pairs([10, 20, 5, 4])
    cv = UserHoldoutSplit(n_splits=5, test_size=0.2, random_state=1)
    for train, test in cv.split(X):
        assert np.array_equal(np.sort(np.r_[train, test]), np.arange(len(X)))
        assert np.array_equal(train, np.sort(train))
        n_test = np.bincount(X[test, 0], minlength=4)
        # 0.2 * (10, 20, 5) is whole; 0.2 * 4 = 0.8 -> 0 or 1
        assert n_test[:3].tolist() == [2, 4, 1] and n_test[3] in (0, 1)
    # leave one out
    cv = UserHoldoutSplit(n_splits=3, test_size=1, random_state=0)
    for _, test in cv.split(X):
        assert np.bincount(X[test, 0]).tolist() == [1, 1, 1, 1]


def test_fractional_part_drawn_to_match_test_size_on_average():
    X = _pairs([3] * 400)
    cv = UserHoldoutSplit(n_splits=1, test_size=0.5, random_state=0)
    _, test = next(cv.split(X))
    n_test = np.bincount(X[test, 0], minlength=400)
    assert set(n_test.tolist()) == {1, 2}
    assert abs(len(test) / len(X) - 0.5) < 0.05


def test_deterministic_and_dataframe_by_position():
    pd = pytest.importorskip("pandas")
    X = _pairs([6, 7, 8])
    a = list(UserHoldoutSplit(3, random_state=5).split(X))
    b = list(UserHoldoutSplit(3, random_state=5).split(X))
    for (tr1, te1), (tr2, te2) in zip(a, b):
        assert np.array_equal(tr1, tr2) and np.array_equal(te1, te2)
    assert not all(np.array_equal(a[0][1], s[1]) for s in a[1:])
    # a DataFrame: rows by position, users from the "user" column
    df = pd.DataFrame({"item": X[:, 1], "user": X[:, 0]}, index=np.arange(len(X)) * 7)
    c = list(UserHoldoutSplit(3, random_state=5).split(df))
    for (tr1, te1), (tr2, te2) in zip(a, c):
        assert np.array_equal(tr1, tr2) and np.array_equal(te1, te2)
    assert UserHoldoutSplit(4).get_n_splits() == 4


@pytest.mark.parametrize(
    "names",
    [("movieId", "userId"), ("ITEM", "uid"), ("user_id", "item_id"), ("a", "b")],
)
def test_dataframe_user_column_by_name(names):
    """The splitters find the user column as the estimators do: by its name
    in either position (userId after movieId), else the first column; a
    user with one rating never lands in test, whichever column holds it."""
    pd = pytest.importorskip("pandas")
    X = _pairs([1, 5, 6, 7, 8])  # user 0 has a single rating
    by_name = names[1].lower() in ("userid", "uid")
    cols = (X[:, 1], X[:, 0]) if by_name else (X[:, 0], X[:, 1])
    df = pd.DataFrame(dict(zip(names, cols)))
    expect = list(UserHoldoutSplit(3, test_size=0.5, random_state=2).split(X))
    got = list(UserHoldoutSplit(3, test_size=0.5, random_state=2).split(df))
    for (tr1, te1), (tr2, te2) in zip(expect, got):
        assert np.array_equal(tr1, tr2) and np.array_equal(te1, te2)
        assert 0 not in X[te2, 0]
    y = np.arange(len(X), dtype=float)
    a, b, _, _ = train_test_split_ratings(df, y, test_size=0.5, random_state=0)
    a2, b2, _, _ = train_test_split_ratings(X, y, test_size=0.5, random_state=0)
    user = names[1] if by_name else names[0]
    assert np.array_equal(b[user].to_numpy(), b2[:, 0])
    assert set(b[user]) <= set(a[user])


def test_wider_dataframe_user_column_by_name():
    """A frame with a rating column beside the ids: the user column by its
    name wherever it is (with a non-string column name too); a first column
    named as items with no user column named is refused."""
    pd = pytest.importorskip("pandas")
    X = _pairs([1, 5, 6, 7, 8])
    expect = list(UserHoldoutSplit(2, test_size=0.5, random_state=2).split(X))
    for cols in (("movieId", "userId", "rating"), ("movieId", "userId", 0)):
        df = pd.DataFrame(dict(zip(cols, (X[:, 1], X[:, 0], np.ones(len(X))))))
        got = list(UserHoldoutSplit(2, test_size=0.5, random_state=2).split(df))
        for (_, te1), (_, te2) in zip(expect, got):
            assert np.array_equal(te1, te2) and 0 not in X[te2, 0]
    df = pd.DataFrame({"movieId": X[:, 1], "who": X[:, 0], "rating": 1.0})
    with pytest.raises(ValueError, match="first column is named as items"):
        next(UserHoldoutSplit().split(df))
    with pytest.raises(ValueError, match="first column is named as items"):
        train_test_split_ratings(df, np.ones(len(X)))


def test_dataframe_half_named_columns_refused():
    pd = pytest.importorskip("pandas")
    X = _pairs([3, 3])
    df = pd.DataFrame({"movieId": X[:, 1], "who": X[:, 0]})
    with pytest.raises(ValueError, match="Cannot tell the user and the item"):
        next(UserHoldoutSplit().split(df))
    with pytest.raises(ValueError, match="Cannot tell the user and the item"):
        train_test_split_ratings(df, np.ones(len(X)))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_splits": 0}, "n_splits"),
        ({"min_train": 0}, "min_train"),
        ({"test_size": 1.0}, "float test_size"),
        ({"test_size": 0}, "int test_size"),
        ({"test_size": "0.2"}, "float or an int"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        next(UserHoldoutSplit(**params).split(_pairs([3, 3])))


def test_bad_input():
    with pytest.raises(ValueError, match="y has 3 entries"):
        next(UserHoldoutSplit().split(_pairs([3, 3]), y=[1, 2, 3]))
    with pytest.raises(ValueError, match="columns"):
        next(UserHoldoutSplit().split(np.arange(5)))


@pytest.fixture(scope="module")
def data():
    return make_ratings(n_users=60, n_items=30, density=0.3, random_state=0)


def test_scorer_in_cross_validate_matches_manual(data):
    from sklearn_rbm.metrics import ndcg_at_k

    X, y = data
    cv = UserHoldoutSplit(n_splits=2, test_size=0.2, random_state=0)
    est = CategoricalRBMRecommender(n_components=5, max_iter=3, random_state=0)
    scorer = make_ranking_scorer("ndcg", k=5, threshold=4)
    res = cross_validate(est, X, y, cv=cv, scoring={"ndcg": scorer})
    for (train, test), got in zip(cv.split(X), res["test_ndcg"]):
        fitted = CategoricalRBMRecommender(n_components=5, max_iter=3, random_state=0)
        fitted.fit(X[train], y[train])
        keep = y[test] >= 4
        users = np.unique(X[test][keep, 0])
        rel = [set(X[test][keep & (X[test, 0] == u), 1].tolist()) for u in users]
        top = fitted.recommend(users, n_items=5)[0]
        assert got == pytest.approx(ndcg_at_k(top, rel, 5))
        assert set(X[test, 0]) <= set(X[train, 0])


def test_grid_search_with_ranking_scorer(data):
    X, y = data
    search = GridSearchCV(
        CategoricalRBMRecommender(max_iter=2, random_state=0),
        {"n_components": [3, 6]},
        scoring={"ndcg": make_ranking_scorer("ndcg@5", threshold=4)},
        refit="ndcg",
        cv=UserHoldoutSplit(n_splits=2, random_state=0),
    )
    search.fit(X, y)
    scores = search.cv_results_["mean_test_ndcg"]
    assert np.all((scores >= 0) & (scores <= 1))
    assert search.best_params_["n_components"] in (3, 6)


def test_repeated_pairs_stay_on_one_side():
    """A review: implicit data with repeated (user, item) rows put one copy
    in training and one in test, where recommend() can never list it
    (recall@10 fell from 0.81 to 0.07, silently)."""
    X, _ = make_ratings(n_users=100, n_items=40, density=0.3, random_state=0)
    X2 = np.repeat(X, 2, axis=0)
    cv = UserHoldoutSplit(n_splits=2, test_size=0.2, random_state=0)
    for (tr, te), (_, te1) in zip(cv.split(X2), cv.split(X)):
        train_pairs = {tuple(p) for p in X2[tr].tolist()}
        assert not any(tuple(p) in train_pairs for p in X2[te].tolist())
        # the split of the distinct pairs is that of the data without repeats
        np.testing.assert_array_equal(X2[te][::2], X[te1])
    est = CategoricalRBMRecommender(ranking_iter=5, random_state=0)
    scorer = make_ranking_scorer("recall@10")
    once = cross_validate(est, X, None, cv=cv, scoring=scorer)["test_score"]
    twice = cross_validate(est, X2, None, cv=cv, scoring=scorer)["test_score"]
    np.testing.assert_allclose(twice, once, atol=0.05)


def test_coverage_scorer_counts_every_test_users_list():
    """Coverage is of the test users' lists, relevant items or not (it used
    to keep only users with a relevant item known to the model)."""
    X, y = make_ratings(n_users=40, n_items=20, random_state=0)
    est = CategoricalRBMRecommender(ranking_iter=5, random_state=0).fit(X, y)
    users = np.unique(X[:, 0])[:6]
    Xt = np.c_[users, np.full(6, 999)]  # unknown items: nobody has a relevant one
    Xt[0, 1] = X[X[:, 0] == users[0], 1][0]
    by_hand = catalogue_coverage(est.recommend(users, 5)[0], est.items_, 5)
    scorer = make_ranking_scorer("coverage", k=5)
    assert scorer(est, Xt, np.full(6, 5.0)) == by_hand
    # threshold does not apply to coverage: no relevant item is no error
    assert make_ranking_scorer("coverage", k=5, threshold=4)(est, Xt, np.ones(6)) == (
        by_hand
    )


def test_wider_frames_and_unsortable_ids_split_rows_as_before():
    """A review: a wider frame whose item column is not named as items had
    its rating column taken for the items; mixed-type ids crashed np.unique.
    Both split row by row, as before the repeated-pair handling."""
    pd = pytest.importorskip("pandas")
    X, y = make_ratings(n_users=50, n_items=100, density=0.3, random_state=0)
    cv = UserHoldoutSplit(n_splits=1, test_size=0.2, random_state=0)
    ((_, want),) = cv.split(X)
    df = pd.DataFrame({"user_id": X[:, 0], "rating": y, "product": X[:, 1]})
    ((_, got),) = cv.split(df)
    np.testing.assert_array_equal(got, want)
    mixed = X.astype(object)
    mixed[::7, 1] = [f"s{v}" for v in X[::7, 1]]
    ((_, got),) = cv.split(mixed)
    np.testing.assert_array_equal(got, want)
