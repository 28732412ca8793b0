"""fit(X, sample_weight=...) of the dense RBMs: weights are frequencies, a
row of weight k acting as k repeated rows (scikit-learn's definition)."""

import warnings

import numpy as np
import pytest
from sklearn.utils import estimator_checks

from sklearn_rbm import BernoulliRBM, GaussianBernoulliRBM

# one minibatch holding every row, persistent chains of a fixed number, no
# shuffling: the order of the rows does not matter, so scikit-learn's
# equivalence check (which shuffles the weighted rows) passes here too
EXACT = dict(
    n_components=6,
    batch_size=1000,
    n_chains=10,
    shuffle=False,
    max_iter=5,
    learning_rate=0.05,
    random_state=0,
)


def _data(rng, n=40, d=9):
    return (rng.random((n, d)) < rng.random(d)).astype(np.float64)


@pytest.mark.parametrize("Est", [BernoulliRBM, GaussianBernoulliRBM])
def test_integer_weights_equal_repeated_rows(Est):
    rng = np.random.default_rng(0)
    X = _data(rng)
    w = rng.integers(0, 4, X.shape[0])
    kw = dict(EXACT)  # base rates (s + 0.5) / (n + 1): n is the weight total
    weighted = Est(**kw).fit(X, sample_weight=w)
    repeated = Est(**kw).fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(weighted.components_, repeated.components_, atol=1e-10)
    np.testing.assert_allclose(
        weighted.intercept_visible_, repeated.intercept_visible_, atol=1e-10
    )
    # weights matter: the unweighted fit is different
    plain = Est(**kw).fit(X)
    assert not np.allclose(plain.components_, weighted.components_)


def test_zero_weights_equal_dropped_rows_and_scale_is_repetition():
    rng = np.random.default_rng(1)
    X = _data(rng)
    w = np.where(np.arange(X.shape[0]) % 3 == 0, 0.0, 1.0)
    kw = dict(EXACT, visible_bias_init="zeros")
    a = BernoulliRBM(**kw).fit(X, sample_weight=w)
    b = BernoulliRBM(**kw).fit(X[w > 0])
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-10)
    # frequencies: three times every weight is every row three times, so
    # three times the updates of an epoch (shuffled minibatches of 10 rows)
    kw = dict(n_components=6, batch_size=10, max_iter=3, random_state=0)
    a = BernoulliRBM(**kw).fit(X, sample_weight=w)
    c = BernoulliRBM(**kw).fit(X, sample_weight=3 * w)
    r = BernoulliRBM(**kw).fit(np.repeat(X[w > 0], 3, axis=0))
    np.testing.assert_allclose(c.components_, r.components_, atol=1e-10)
    np.testing.assert_allclose(c.intercept_visible_, r.intercept_visible_, atol=1e-10)
    assert not np.allclose(a.components_, c.components_, atol=1e-3)
    # default initialisation: the base rates are the weighted ones too
    d = BernoulliRBM(**dict(EXACT)).fit(X, sample_weight=w)
    e = BernoulliRBM(**dict(EXACT)).fit(X[w > 0])
    np.testing.assert_allclose(
        d._state.moments[1] / d._state.moments[0],
        e._state.moments[1] / e._state.moments[0],
    )


@pytest.mark.parametrize("Est", [BernoulliRBM, GaussianBernoulliRBM])
def test_zero_weight_rows_are_dropped_under_the_defaults(Est):
    # shuffled minibatches of the "auto" size, base-rate start: rows of
    # weight 0 make no minibatch and no base rate, so the fit is the fit on
    # the other rows (before, they were batched and smoothed the base rates)
    rng = np.random.default_rng(5)
    X = _data(rng, n=300)
    w = np.where(rng.random(300) < 0.5, 0.0, 1.0)
    kw = dict(n_components=4, max_iter=3, random_state=0)
    a = Est(**kw).fit(X, sample_weight=w)
    b = Est(**kw).fit(X[w > 0])
    np.testing.assert_allclose(a.components_, b.components_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.intercept_visible_, b.intercept_visible_, atol=1e-12)
    c = Est(**kw).partial_fit(X, sample_weight=w)
    d = Est(**kw).partial_fit(X[w > 0])
    np.testing.assert_allclose(c.components_, d.components_, rtol=1e-9, atol=1e-12)


def test_partial_fit_weights_and_ones_change_nothing():
    rng = np.random.default_rng(2)
    X = _data(rng)
    kw = dict(EXACT, visible_bias_init="zeros")
    w = rng.integers(1, 3, X.shape[0])
    a = BernoulliRBM(**kw).partial_fit(X, sample_weight=w)
    b = BernoulliRBM(**kw).partial_fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-10)
    ones = BernoulliRBM(**dict(EXACT)).fit(X, sample_weight=np.ones(X.shape[0]))
    none = BernoulliRBM(**dict(EXACT)).fit(X)
    np.testing.assert_allclose(ones.components_, none.components_, atol=1e-12)


def test_bad_sample_weight_is_refused_and_leaves_model_alone():
    rng = np.random.default_rng(3)
    X = _data(rng)
    rbm = BernoulliRBM(**EXACT).fit(X)
    W = rbm.components_.copy()
    for bad, match in (
        (-np.ones(X.shape[0]), "(?i)negative"),
        (np.zeros(X.shape[0]), "non-zero|positive"),
        (np.ones(3), "shape|length|samples"),
    ):
        with pytest.raises(ValueError, match=match):
            rbm.fit(X, sample_weight=bad)
        with pytest.raises(ValueError, match=match):
            rbm.partial_fit(X, sample_weight=bad)
    np.testing.assert_array_equal(rbm.components_, W)


def test_early_stopping_score_is_weighted():
    rng = np.random.default_rng(4)
    X = _data(rng, n=60)
    kw = dict(EXACT, early_stopping=True, validation_fraction=0.3)
    a = BernoulliRBM(**kw).fit(X, sample_weight=np.r_[np.ones(30), 5 * np.ones(30)])
    b = BernoulliRBM(**kw).fit(X)
    assert a.validation_scores_ is not None
    assert not np.allclose(a.validation_scores_, b.validation_scores_)


SKLEARN_CHECKS = [
    "check_sample_weights_pandas_series",
    "check_sample_weights_not_an_array",
    "check_sample_weights_list",
    "check_sample_weights_shape",
    "check_sample_weights_not_overwritten",
    "check_all_zero_sample_weights_error",
    "check_sample_weight_equivalence_on_dense_data",
]


@pytest.mark.parametrize("check", SKLEARN_CHECKS)
@pytest.mark.parametrize(
    "est",
    [
        GaussianBernoulliRBM(**dict(EXACT, n_components=8)),
        BernoulliRBM(**dict(EXACT, n_components=8, visible_bias_init="zeros")),
    ],
    ids=["GaussianBernoulliRBM", "BernoulliRBM"],
)
def test_sklearn_sample_weight_checks(est, check):
    """scikit-learn's sample-weight checks, in the deterministic setting
    (tests/test_common.py runs the default BernoulliRBM, whose generic check
    data is out of range and whose training shuffles)."""
    if est.__class__ is BernoulliRBM and check != (
        "check_sample_weight_equivalence_on_dense_data"
    ):
        pytest.skip("generic check data out of [0, 1] for BernoulliRBM")
    getattr(estimator_checks, check)(type(est).__name__, est)


def test_rows_of_zero_weight_are_not_checked_as_training_data():
    # a row that the training-data checks would refuse (a variance too
    # large for the Gaussian's base model) is dropped, not refused
    X = np.random.default_rng(0).normal(size=(50, 4))
    X[0] = 1e6
    w = np.ones(50)
    w[0] = 0
    kw = dict(n_components=3, max_iter=2, random_state=0)
    with pytest.raises(ValueError, match="variance"):
        GaussianBernoulliRBM(**kw).fit(X)
    a = GaussianBernoulliRBM(**kw).fit(X, sample_weight=w)
    b = GaussianBernoulliRBM(**kw).fit(X[1:])
    np.testing.assert_allclose(a.components_, b.components_, rtol=1e-9, atol=1e-12)
    c = GaussianBernoulliRBM(**kw).partial_fit(X, sample_weight=w)
    d = GaussianBernoulliRBM(**kw).partial_fit(X[1:])
    np.testing.assert_allclose(c.components_, d.components_, rtol=1e-9, atol=1e-12)


def test_early_stopping_counts_the_rows_of_positive_weight():
    # rows of weight 0 are dropped first: the validation split is made of
    # weighted rows, and one weighted row is too few to split
    rng = np.random.default_rng(0)
    X = _data(rng, n=20)
    w = np.zeros(20)
    w[3] = 1.0
    rbm = BernoulliRBM(3, max_iter=2, early_stopping=True, random_state=0)
    with pytest.raises(
        ValueError, match="at least 2 samples of positive weight; got n_samples=1"
    ):
        rbm.fit(X, sample_weight=w)
    w[[5, 9]] = 2.0
    for seed in range(4):  # any split has weight on both sides
        rbm.set_params(random_state=seed, validation_fraction=0.5).fit(
            X, sample_weight=w
        )
        assert np.isfinite(rbm.validation_scores_).all()


@pytest.mark.parametrize("Est", [BernoulliRBM, GaussianBernoulliRBM])
def test_integer_weights_equal_repeated_rows_under_the_defaults(Est):
    # shuffled minibatches, batch_size="auto", base-rate start (and the
    # Gaussian's max_iter="auto"): all follow the repeated rows, so the
    # weighted fit is the fit on np.repeat(X, w) up to rounding -- counts of
    # duplicated rows are the common case (deduplicated binary data)
    rng = np.random.default_rng(6)
    kw = dict(n_components=4, random_state=0)
    if Est is BernoulliRBM:
        X = _data(rng, n=400, d=6)
        kw["max_iter"] = 4
    else:  # standardised real data; binary rows would collapse the variances
        X = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
        X = (X - X.mean(axis=0)) / X.std(axis=0)
    w = rng.integers(0, 5, X.shape[0])
    a = Est(**kw).fit(X, sample_weight=w)
    b = Est(**kw).fit(np.repeat(X, w, axis=0))
    assert a.batch_size_ == b.batch_size_ and a.n_iter_ == b.n_iter_
    # the weighted and the repeated sums round differently (real data)
    np.testing.assert_allclose(a.components_, b.components_, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(
        a.intercept_visible_, b.intercept_visible_, rtol=1e-7, atol=1e-8
    )


def test_fractional_weights_visit_rows_at_their_frequency():
    from sklearn_rbm.training.loop import frequency_rows, minibatches

    w = np.array([0.0, 0.25, 1.0, 1.5, 3.0])
    rng = np.random.default_rng(0)
    counts = np.array(
        [np.bincount(frequency_rows(w, rng), minlength=5) for _ in range(4000)]
    )
    # the integer part always, one more with the fractional part's chance
    assert counts[:, 0].max() == 0 and (counts[:, 2] == 1).all()
    assert set(counts[:, 3]) == {1, 2} and (counts[:, 4] == 3).all()
    # binomial means: standard errors 0.0068 (0.25) and 0.0079 (0.5)
    np.testing.assert_allclose(counts.mean(axis=0), w, atol=0.03)
    # integer weights draw nothing: the stream is that of the repeated rows
    r1, r2 = np.random.default_rng(1), np.random.default_rng(1)
    batches = minibatches(5, 2, r1, np.array([1.0, 0.0, 2.0, 1.0, 1.0]))
    order = np.array([0, 2, 2, 3, 4])[r2.permutation(5)]
    np.testing.assert_array_equal(np.concatenate(batches), order)


def test_normalised_weights_are_refused_or_warned_about():
    # weights normalised to sum to 1 round to a hair above or below it: below
    # is refused as less than one row only beyond rounding, and any total
    # under a tenth of the rows warns that the weights are frequencies
    X = _data(np.random.default_rng(8), n=100)
    rbm = BernoulliRBM(3, max_iter=1, random_state=0)
    for seed in range(5):
        r = np.random.default_rng(seed).random(100)
        with pytest.warns(UserWarning, match="frequencies.*relative.*mean 1") as rec:
            rbm.fit(X, sample_weight=r / r.sum())
        assert [w.filename for w in rec] == [__file__]  # the caller's line
    with pytest.warns(UserWarning, match="sums to 1 over 100 rows"):
        rbm.fit(X, sample_weight=np.full(100, 1 / 100))  # 0.9999999999999999
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rbm.fit(X, sample_weight=np.full(100, 0.5))  # half the rows: no warning


def test_weights_within_rounding_of_integers_draw_nothing():
    rng = np.random.default_rng(9)
    X = _data(rng, n=40)
    counts = rng.integers(0, 4, 40)
    w = (counts * 0.1) * 10  # 3.0000000000000004 and the like
    assert not np.array_equal(w, counts)
    kw = dict(n_components=4, batch_size=10, max_iter=3, random_state=0)
    a = BernoulliRBM(**kw).fit(X, sample_weight=w)
    b = BernoulliRBM(**kw).fit(np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(a.components_, b.components_, rtol=0, atol=1e-12)


def test_gaussian_variance_check_counts_the_weights_as_rows():
    # partial_fit pools the variance of the data seen so far; the new rows
    # count as their weights say, whatever the scale of the weights
    rng = np.random.default_rng(10)
    X1 = rng.normal(size=(200, 3))
    X2 = rng.normal(size=(200, 3)) + 5e4  # pooled variance 6.25e8: too large
    for scale in (1.0, 1000.0):
        g = GaussianBernoulliRBM(3, random_state=0)
        g.partial_fit(X1, sample_weight=np.full(200, scale))
        with pytest.raises(ValueError, match="variance 6.2.e\\+08, too large"):
            g.partial_fit(X2, sample_weight=np.full(200, scale))
    # fit: the weighted variance (two far groups, one of weight 0 is dropped)
    X = np.vstack([X1, X2])
    w = np.r_[np.ones(200), np.zeros(200)]
    GaussianBernoulliRBM(3, max_iter=1, random_state=0).fit(X, sample_weight=w)


def test_a_model_fitted_on_normalised_weights_round_trips(tmp_path):
    # weights normalised to sum to 1 can total a hair below it: the stored
    # count of rows is that total, and loading must accept it
    import pickle

    from sklearn_rbm import persistence

    X = _data(np.random.default_rng(11), n=100)
    with pytest.warns(UserWarning, match="frequencies"):
        rbm = BernoulliRBM(3, max_iter=1, random_state=0).fit(
            X, sample_weight=np.full(100, 1 / 100)
        )
    assert rbm._state.moments[0] < 1
    back = pickle.loads(pickle.dumps(rbm))
    np.testing.assert_array_equal(back.components_, rbm.components_)
    back.partial_fit(X)  # and it trains on
    persistence.save(rbm, tmp_path / "model.skops")
    loaded = persistence.load(tmp_path / "model.skops")
    np.testing.assert_array_equal(loaded.components_, rbm.components_)


def test_fractional_weights_whose_column_sums_round_above_the_total_load():
    # w @ X and sum(w) round differently: a column of ones can sum a few
    # ulps above the weight total, which the load check refused (a review
    # found it on a quarter to a half of random weight vectors)
    import copy
    import pickle

    X = np.ones((10, 1))
    rbm = BernoulliRBM(2, max_iter=2, random_state=0)
    rbm.fit(X, sample_weight=np.full(10, 0.7))  # s1 > n with OpenBLAS
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(rbm)).components_, rbm.components_
    )
    copy.deepcopy(rbm)
    # the rounding itself, whatever this BLAS gives: a few ulps above n
    n, s1, s2 = rbm._state.moments
    rbm._state.moments = (n, np.nextafter(np.full(1, n), np.inf) * (1 + 4e-16), s2)
    assert rbm._state.moments[1][0] > n
    pickle.loads(pickle.dumps(rbm))
    rng = np.random.default_rng(1)
    X = (rng.random((100, 8)) < 0.5).astype(float)
    X[:, 0] = 1
    rbm = BernoulliRBM(2, random_state=0)
    for _ in range(5):  # cumulative partial_fit sums too
        rbm.partial_fit(X, sample_weight=rng.random(100) * 2)
        pickle.loads(pickle.dumps(rbm))
    # beyond rounding it is still refused
    n, s1, s2 = rbm._state.moments
    rbm._state.moments = (n, np.r_[n * (1 + 1e-6), s1[1:]], s2)
    with pytest.raises(ValueError, match="column sums outside"):
        pickle.loads(pickle.dumps(rbm))


def test_weights_that_make_no_whole_row_are_refused():
    X = _data(np.random.default_rng(7))
    rbm = BernoulliRBM(3, max_iter=1, random_state=0)
    # weights normalised to sum to 1 would train on less than one row an epoch
    w = np.full(X.shape[0], 1.0 / X.shape[0]) * 0.5
    with pytest.raises(ValueError, match="frequencies.*less than one row.*mean 1"):
        rbm.fit(X, sample_weight=w)
    with pytest.raises(ValueError, match="that many rows"):
        rbm.partial_fit(X, sample_weight=np.full(X.shape[0], 1e9))
    assert not hasattr(rbm, "components_")
    rbm.fit(X, sample_weight=w * X.shape[0] / w.sum())  # mean 1: fine


def test_centering_turned_on_in_partial_fit_takes_weighted_offsets():
    X = np.vstack([np.ones((50, 4)), np.zeros((50, 4))])
    w = np.r_[np.full(50, 9.0), np.full(50, 1.0)]
    rbm = BernoulliRBM(3, centering=False, random_state=0)
    rbm.partial_fit(X, sample_weight=w)
    rbm.set_params(centering=True).partial_fit(X, sample_weight=w)
    start = BernoulliRBM(3, centering=True, random_state=0).partial_fit(
        X, sample_weight=w
    )
    # both near the weighted mean 0.9 (the running offset moves a little)
    np.testing.assert_allclose(
        rbm._state.offsets[0], start._state.offsets[0], atol=0.05
    )
    assert np.all(np.abs(rbm._state.offsets[0] - 0.9) < 0.05)


def test_deduplicated_rows_with_counts_train_as_the_full_data():
    # binary data repeats rows: the unique rows weighted by their counts are
    # the same data set, so they must train as well (exact log-likelihood,
    # 12 pixels); before weights were frequencies, an epoch over the 706
    # unique rows made 40% of the updates and scored 0.52 nats lower
    from sklearn.datasets import load_digits

    X = (load_digits().data > 7).astype(float)
    X = X[:, np.argsort(-X.var(axis=0), kind="stable")[:12]]
    U, counts = np.unique(X, axis=0, return_counts=True)
    kw = dict(
        n_components=8,
        learning_rate=0.05,
        momentum=0.9,
        centering=True,
        learning_rate_schedule="linear",
        max_iter=10,
    )
    weighted = [
        BernoulliRBM(random_state=s, **kw).fit(U, sample_weight=counts).score(X)
        for s in range(4)
    ]
    full = [BernoulliRBM(random_state=s, **kw).fit(X).score(X) for s in range(4)]
    # seeds spread by about 0.04 nats: the means agree within 0.05
    assert abs(np.mean(weighted) - np.mean(full)) < 0.05, (weighted, full)
