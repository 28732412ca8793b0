"""Hostile input, round 2 (issue 16): ids that merge, silent casts, huge
ratings, DataFrame columns and coercions of CategoricalRBMRecommender
(and two messages of BernoulliRBM and ``persistence.load``).

Each test fails on the code before issue 16: distinct ids stay distinct or
are refused with a ValueError naming the problem, nothing is cast silently,
every output is finite for any finite ratings, a DataFrame's id columns are
read by name, and invalid parameter values are refused where they are used.
"""

import fractions
from decimal import Decimal

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_rbm import BernoulliRBM, CategoricalRBMRecommender
from sklearn_rbm.cli import main
from sklearn_rbm.recommender.ids import MAX_ID_LENGTH

FAST = dict(n_components=4, max_iter=2, early_stopping=False, random_state=0)
Y4 = np.array([1.0, 2.0, 3.0, 4.0])


def _rec(**kw):
    return CategoricalRBMRecommender(**{**FAST, **kw})


@pytest.fixture(scope="module")
def fitted():
    X = np.array([[u, i] for u in range(6) for i in range(5) if (u + i) % 3])
    y = 1.0 + (X[:, 0] + 2 * X[:, 1]) % 5
    return _rec().fit(X, y), X, y


# --------------------------------------------------------------------- ids
def test_float_ids_beyond_the_exact_float_range_are_refused():
    # 2**53 + 1 has no float of its own: as float ids, 2**53 and 2**53 + 1
    # would be one user; beyond int64 the cast gave garbage (and a warning)
    for big in (2.0**53, 1e19, -1e19):
        X = np.array([[big, 0.0], [1.0, 1.0], [2.0, 0.0], [2.0, 1.0]])
        with pytest.raises(ValueError, match=r"user id .* in row 0 .* as a float"):
            _rec().fit(X, Y4)
    # float32 ids: every integer has its own float32 only up to 2**24
    X = np.array([[2**24 + 2, 0], [1, 1], [2, 0], [2, 1]], dtype=np.float32)
    with pytest.raises(ValueError, match="as a float beyond 16777215"):
        _rec().fit(X, Y4)
    # a list mixing a large int and a float stays exact per element (np.array
    # made both floats: 2**53 + 1 and 2**53 became one user)
    X = [[2**53 + 1, 0], [2**53, 1], [1.0, 0], [1, 1]]
    rec = _rec().fit(X, Y4)
    assert rec.users_.tolist() == [1, 2**53, 2**53 + 1]


def test_float_ids_beyond_the_exact_range_are_refused_at_prediction(fitted):
    rec, _, _ = fitted
    with pytest.raises(ValueError, match="as a float"):
        rec.predict(np.array([[1e19, 0.0]]))


def test_unsigned_ids_beyond_int64_never_wrap():
    X = np.array([[2**63, 0], [2**63 + 5, 1], [1, 0], [1, 1]], dtype=np.uint64)
    with pytest.raises(ValueError, match="do not fit in 64-bit"):
        _rec().fit(X, Y4)
    # at prediction time they are unknown ids, not the int64 they wrap to
    X = np.array([[-(2**63), 0], [-(2**63), 1], [1, 0], [1, 1]], dtype=np.int64)
    rec = _rec().fit(X, Y4)
    unknown = rec.predict([[12345, 0]])
    wrapped = rec.predict(np.array([[2**63, 0]], dtype=np.uint64))
    np.testing.assert_array_equal(wrapped, unknown)
    assert rec.predict([[2**64, 0]])[0] == unknown[0]  # a Python int
    np.testing.assert_array_equal(
        rec.recommend(np.array([2**63], dtype=np.uint64), 2)[1],
        rec.recommend([12345], 2)[1],
    )


def test_string_ids_ending_in_nul_are_refused():
    # numpy's fixed-width strings drop trailing NULs: "a\x00" became "a"
    X = [["a", "x"], ["a\x00", "y"], ["b", "x"], ["b", "y"]]
    with pytest.raises(ValueError, match=r"user id 'a\\x00' in row 1 .* NUL"):
        _rec().fit(X, Y4)
    Xo = np.array(X, dtype=object)
    with pytest.raises(ValueError, match="NUL"):
        _rec().fit(Xo, Y4)
    rec = _rec().fit([["a", "x"], ["a", "y"], ["b", "x"], ["b", "y"]], Y4)
    with pytest.raises(ValueError, match="NUL"):
        rec.predict([["a\x00", "x"]])


def test_bytes_ids_are_refused_not_merged_with_strings():
    Xb = np.array([[b"a", b"x"], [b"a", b"y"], [b"b", b"x"], [b"b", b"y"]])
    with pytest.raises(ValueError, match="bytes"):
        _rec().fit(Xb, Y4)
    rec = _rec().fit(Xb.astype(str), Y4)
    with pytest.raises(ValueError, match="bytes"):
        rec.predict(np.array([[b"a", b"x"]]))  # was read as "a", "x"


def test_fraction_and_decimal_ids():
    # integral ones are integer ids; others a clear ValueError (the
    # Fractions used to fail inside numpy with a TypeError)
    X = [[fractions.Fraction(2), 0], [Decimal(3), 1], [1, 0], [1, 1]]
    rec = _rec().fit(X, Y4)
    assert rec.users_.tolist() == [1, 2, 3]
    for bad in (fractions.Fraction(1, 2), Decimal("1.5")):
        with pytest.raises(ValueError, match="non-integral number"):
            _rec().fit([[bad, 0], [1, 1], [2, 0], [2, 1]], Y4)
    with pytest.raises(ValueError, match="NaN or infinity"):
        _rec().fit([[Decimal("NaN"), 0], [1, 1], [2, 0], [2, 1]], Y4)
    with pytest.raises(ValueError, match="64-bit"):
        _rec().fit([[Decimal("1e30"), 0], [1, 1], [2, 0], [2, 1]], Y4)


def test_bool_ids_are_refused():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"user": [True, False, True, False], "item": [0, 0, 1, 1]})
    with pytest.raises(ValueError, match="booleans"):
        _rec().fit(df, Y4)
    # in a list, np.array made True the id 1 (merging it with the int 1)
    with pytest.raises(ValueError, match="booleans"):
        _rec().fit([[True, 0], [1, 1], [2, 0], [2, 1]], Y4)


def test_ids_longer_than_the_limit_are_refused_naming_the_row(fitted):
    long_id = "u" * (MAX_ID_LENGTH + 1)
    X = [["a", "x"], ["b", "x"], [long_id, "y"], ["b", "y"]]
    with pytest.raises(ValueError, match=r"user id in row 2 has 257 characters"):
        _rec().fit(X, Y4)
    with pytest.raises(ValueError, match="MAX_ID_LENGTH=256"):
        _rec().fit(np.array(X), Y4)  # a numpy str array
    rec, _, _ = fitted
    with pytest.raises(ValueError, match="item id in row 1 has"):
        rec.predict([[0, "x"], [0, long_id]])
    # a wide str array of short ids is stored at the width of its ids
    Xw = np.array([["a", "x"], ["b", "x"], ["c", "y"], ["b", "y"]], dtype="<U5000")
    rec = _rec().fit(Xw, Y4)
    assert rec.users_.dtype.itemsize == 4 and rec.items_.dtype.itemsize == 4


def test_cli_refuses_long_ids_and_huge_fields_with_the_line(tmp_path, capsys):
    lines = [f"{u},{i},{1 + (u + i) % 5}" for u in range(8) for i in range(6)]
    for name, field, expected in (
        ("long.csv", "x" * 300, "long.csv line 4: user id of 300 characters"),
        ("huge.csv", "7" * 200_000, "huge.csv line 4:"),
    ):
        rows = list(lines)
        rows[3] = f"{field},3,4"
        path = tmp_path / name
        path.write_text("\n".join(rows) + "\n")
        out = tmp_path / "m.skops"
        assert main(["fit", str(path), "-o", str(out), "--max-iter", "1"]) == 2
        err = capsys.readouterr().err
        assert expected in err and err.count("\n") == 1, err
        assert not out.exists()


# ----------------------------------------------------------------- ratings
def test_complex_and_string_ratings_are_refused_not_cast():
    R = sp.csr_matrix(np.array([[1 + 1j, 2], [3, 4]]))
    with pytest.raises(ValueError, match="real numbers; got complex"):
        _rec().fit(R)
    X = [[0, 0], [0, 1], [1, 0], [1, 1]]
    with pytest.raises(ValueError, match="real numbers; got strings"):
        _rec().fit(X, np.array(["1", "2", "3", "4"]))
    with pytest.raises(ValueError, match="real numbers; got str"):
        _rec().fit(X, np.array([1.0, "2", 3.0, 4.0], dtype=object))


def test_integer_ratings_that_float64_would_merge_are_refused():
    X = [[0, 0], [0, 1], [1, 0], [1, 1]]
    y = np.array([2**53, 2**53 + 1, 1, 2], dtype=np.int64)  # one float64
    with pytest.raises(ValueError, match="cannot represent exactly"):
        _rec().fit(X, y)
    R = sp.csr_matrix(y.reshape(2, 2))
    with pytest.raises(ValueError, match="cannot represent exactly"):
        _rec().fit(R)


@pytest.mark.parametrize(
    "params",
    [{}, {"orientation": "user"}, {"prediction": "exact"}, {"fine_tune_iter": 2}],
    ids=["item", "user", "exact", "fine_tune"],
)
@pytest.mark.parametrize(
    "y",
    [
        [1e308, -1e308, 1e308, 5e307, -1e308],
        [1.7e308, 1.6e308, 1.5e308, 1.7e308, 1.6e308],
    ],
    ids=["both_signs", "near_max"],
)
def test_huge_finite_ratings_give_finite_means_and_scores(params, y):
    # np.mean and the per-user sums of 1e308 ratings overflowed (inf means,
    # fallback predictions and popular scores); a span of 2e308 overflowed
    # in recommend and in fine-tuning's rating step
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [2, 0]])
    y = np.array(y)
    rec = _rec(**params).fit(X, y)
    assert np.isfinite(rec.global_mean_)
    assert np.all(np.isfinite(rec.user_means_))
    assert np.all(np.isfinite(rec.item_means_))
    assert np.all(np.abs(rec.item_means_) <= np.max(np.abs(y)))
    pred = rec.predict([[0, 0], [9, 9], [9, 0], [0, 9], [2, 1]])
    assert np.all(np.isfinite(pred))
    assert np.all((pred >= y.min()) & (pred <= y.max()))
    _, scores = rec.recommend([0, 1, 99], n_items=2, exclude_seen=False)
    assert np.all(np.isfinite(scores))
    assert np.isfinite(rec.score(X, y))
    assert np.all(np.isfinite(rec.predict_new_user([0, 1], y[:2], [0, 1, 7])))


def test_huge_ratings_in_partial_fit_keep_means_finite():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    y = np.array([1e308, -1e308, 1e308, -1e308])
    rec = _rec().fit(X, y)
    rec.partial_fit([[2, 0], [2, 1]], [1e308, 1e308])
    assert np.all(np.isfinite(rec.item_means_))
    assert np.all(np.isfinite(rec.recommend([77], 2)[1]))


# --------------------------------------------------------------- DataFrames
def test_dataframe_columns_are_read_by_name():
    pd = pytest.importorskip("pandas")
    users = [0, 0, 1, 1, 2, 2, 3]
    items = [10, 11, 10, 12, 11, 12, 10]
    y = [1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0]
    ref = _rec().fit(pd.DataFrame({"user": users, "item": items}), y)
    for cols in (("item", "user"), ("movieId", "userId"), ("ITEM_ID", "User_Id")):
        df = pd.DataFrame({cols[0]: items, cols[1]: users})
        rec = _rec().fit(df, y)  # was read by position: items as users
        np.testing.assert_array_equal(rec.users_, ref.users_)
        np.testing.assert_array_equal(rec.items_, ref.items_)
        assert list(rec.feature_names_in_) == list(cols)
        swapped = df[[cols[1], cols[0]]]
        np.testing.assert_array_equal(rec.predict(swapped), rec.predict(df))
        np.testing.assert_array_equal(
            rec.predict(df), ref.predict(pd.DataFrame({"user": users, "item": items}))
        )


def test_dataframe_names_given_at_fit_are_read_by_name():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"customer": [0, 0, 1, 1, 2], "product": [5, 6, 5, 6, 5]})
    y = [1.0, 2.0, 3.0, 4.0, 5.0]
    rec = _rec().fit(df, y)  # two other names: by position, user first
    assert rec.users_.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(
        rec.predict(df[["product", "customer"]]), rec.predict(df)
    )
    with pytest.raises(ValueError, match="feature names should match"):
        rec.predict(df.rename(columns={"product": "item"}))


def test_dataframe_with_one_id_name_is_refused():
    pd = pytest.importorskip("pandas")
    y = [1.0, 2.0, 3.0, 4.0]
    for cols in (("item", "customer"), ("product", "user_id"), ("user", "uid")):
        df = pd.DataFrame({cols[0]: [0, 0, 1, 1], cols[1]: [5, 6, 5, 6]})
        with pytest.raises(ValueError, match="Cannot tell the user and the item"):
            _rec().fit(df, y)


def test_dataframe_after_an_array_fit_is_read_by_name(fitted):
    pd = pytest.importorskip("pandas")
    rec, X, _ = fitted
    df = pd.DataFrame({"item": X[:6, 1], "user": X[:6, 0]})
    with pytest.warns(UserWarning, match="fitted without feature names"):
        got = rec.predict(df)
    np.testing.assert_array_equal(got, rec.predict(X[:6]))


# ---------------------------------------------------------------- coercions
def test_bools_are_not_counts_or_penalties(fitted):
    rec, _, _ = fitted
    with pytest.raises(ValueError, match="n_items"):
        rec.recommend([0], n_items=True)
    with pytest.raises(ValueError, match="n_items"):
        rec.recommend_new_user([0], n_items=True)
    with pytest.raises(ValueError, match="alpha"):
        rec.predict_new_user([0], [2.0], [1], alpha=True)
    with pytest.raises(ValueError, match="alpha"):
        rec.predict_new_user([0], [2.0], [1], alpha=np.True_)


@pytest.mark.parametrize(
    "cd_steps",
    [
        [(0, 1.5)],
        [(0.5, 1)],
        True,
        [(0, True)],
        # a review: a repeated or unsorted first epoch was accepted, and an
        # unsorted schedule ran CD-1 after its later epoch
        [(0, 1), (0, 3)],
        [(10, 3), (0, 1)],
        [(0, 1), (10, 3), (5, 5)],
    ],
)
def test_cd_steps_must_be_integers(cd_steps):
    X = [[0, 0], [0, 1], [1, 0], [1, 1]]
    with pytest.raises(ValueError, match="cd_steps"):
        _rec(cd_steps=cd_steps).fit(X, Y4)


def test_prediction_parameter_is_validated_where_used(fitted):
    rec, X, _ = fitted
    bogus = _rec().fit(X[:20], 1.0 + X[:20, 1] % 3).set_params(prediction="bogus")
    calls = {
        "predict": lambda: bogus.predict(X[:3]),
        "predict_proba": lambda: bogus.predict_proba(X[:3]),
        "score": lambda: bogus.score(X[:3], [1.0, 2.0, 3.0]),
        "recommend": lambda: bogus.recommend([0], 2),
        "predict_new_user": lambda: bogus.predict_new_user([0], [1.0], [1]),
        "transform": lambda: bogus.transform([0]),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match="'prediction' parameter of Categ"):
            call()
            pytest.fail(f"{name} accepted prediction='bogus'")
    bogus.set_params(prediction="exact", transductive="yes")
    with pytest.raises(ValueError, match="'transductive' parameter"):
        bogus.predict(X[:3])


def test_bernoulli_message_shows_a_value_just_above_one():
    # (1.0000001 is within the rounding tolerance of 16 float32 epsilons,
    # clipped: test_bernoulli.py)
    X = np.array([[1.00001, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"values in \[0, 1\.00001\]"):
        BernoulliRBM(max_iter=1).fit(X)
    with pytest.raises(ValueError, match=r"values in \[0, 255\]"):
        BernoulliRBM(max_iter=1).fit(np.array([[255.0, 0.0], [0.0, 1.0]]))
    # negated binary data: its largest value is -0.0, shown as 0
    with pytest.raises(ValueError, match=r"values in \[-1, 0\]\. "):
        BernoulliRBM(max_iter=1).fit(-np.array([[1.0, 0.0], [0.0, 1.0]]))


@pytest.mark.parametrize("trusted", [1, [1]])
def test_load_refuses_a_trusted_that_is_not_a_list_of_names(tmp_path, trusted):
    pytest.importorskip("skops.io")
    from sklearn_rbm import persistence

    path = tmp_path / "m.skops"
    persistence.save(BernoulliRBM(n_components=2, max_iter=1).fit([[0, 1]]), path)
    # scikit-learn's InvalidParameterError: a ValueError and a TypeError
    with pytest.raises(ValueError, match="trusted must"):
        persistence.load(path, trusted=trusted)
    with pytest.raises(TypeError, match="trusted must"):
        persistence.load(path, trusted=trusted)


def test_method_argument_errors_name_the_estimator_class():
    """Methods defined once on a mixin (log_partition, sample, recommend...)
    name the class they were called on in their argument errors, not the
    mixin, and skip validation under skip_parameter_validation as
    scikit-learn's validate_params does."""
    import sklearn
    from sklearn.utils._param_validation import InvalidParameterError

    from sklearn_rbm import GaussianBernoulliRBM

    rng = np.random.default_rng(0)
    bern = BernoulliRBM(2, max_iter=1, random_state=0).fit(np.eye(4))
    gauss = GaussianBernoulliRBM(2, max_iter=1, random_state=0).fit(rng.random((20, 3)))
    X = np.array([[u, i] for u in range(6) for i in range(4)])
    rec = _rec().fit(X, 1.0 + X[:, 1] % 3)
    calls = [
        (lambda: bern.log_partition("ais", n_betas=0), "BernoulliRBM.log_partition"),
        (lambda: gauss.log_partition("ais", n_betas=0), "GaussianBernoulliRBM.log_"),
        (lambda: gauss.sample(0), "GaussianBernoulliRBM.sample"),
        (lambda: bern.score_samples_raise(np.eye(4), n_runs=0), "BernoulliRBM.score_"),
        (lambda: rec.recommend([0], n_items=0), "CategoricalRBMRecommender.recommend"),
        (lambda: rec.similar_items([0], n_items=0), "CategoricalRBMRecommender.simil"),
        # a review: a string exclude_seen was read as True, n_items=2.0 gave
        # another error type than recommend's
        (
            lambda: rec.recommend_new_user([0], exclude_seen="no"),
            "CategoricalRBMRecommender.recommend_new_user",
        ),
        (
            lambda: rec.recommend_new_user([0], n_items=2.0),
            "CategoricalRBMRecommender.recommend_new_user",
        ),
    ]
    for call, name in calls:
        with pytest.raises(InvalidParameterError, match=f"parameter of {name}"):
            call()
    with sklearn.config_context(skip_parameter_validation=True):
        assert bern.sample(2, n_steps=3, random_state=0).shape == (2, 4)
