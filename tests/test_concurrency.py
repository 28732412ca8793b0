"""Threads: fitting methods of one instance serialise, serving runs
concurrently, and BLAS thread limits never leak out of a call."""

import copy
import pickle
import threading

import numpy as np
import pytest
from sklearn.base import clone
from threadpoolctl import threadpool_info, threadpool_limits

from sklearn_rbm import (
    BernoulliRBM,
    CategoricalRBMRecommender,
    GaussianBernoulliRBM,
)
from sklearn_rbm.datasets import make_ratings
from sklearn_rbm.estimators._common import fit_lock
from sklearn_rbm.training.threads import (
    blas_controller,
    single_blas_thread,
    training_threads,
)


def _run_threads(target, args_list):
    """Run ``target(*args)`` in one thread per ``args``, started together;
    re-raise the first error."""
    errors = []
    start = threading.Barrier(len(args_list))

    def run(*args):
        try:
            start.wait(30)
            target(*args)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=a) for a in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]


# ------------------------------------------------------------- fitting
@pytest.mark.parametrize("cls", [BernoulliRBM, GaussianBernoulliRBM])
def test_partial_fit_from_two_threads_loses_no_update(cls):
    rng = np.random.default_rng(0)
    X = (rng.random((4000, 60)) < 0.4).astype(float)
    est = cls(n_components=40, batch_size=20, random_state=0).partial_fit(X[:200])
    n_calls = 8

    def train(offset):
        for k in range(n_calls):
            batch = X[(offset + k) * 200 : (offset + k + 1) * 200]
            est.partial_fit(batch)

    _run_threads(train, [(1,), (1 + n_calls,)])
    # every call's pass is in the model: none continued from a stale copy
    assert est.n_iter_ == 1 + 2 * n_calls
    assert est._state.n_epochs == 1 + 2 * n_calls


def test_recommender_partial_fit_from_two_threads_keeps_every_user():
    X, y = make_ratings(n_users=60, n_items=30, density=0.3, random_state=0)
    est = CategoricalRBMRecommender(
        n_components=8, max_iter=2, early_stopping=False, random_state=0
    ).fit(X, y)
    n_before = est.n_iter_
    rng = np.random.default_rng(1)
    n_calls = 6

    def add_users(prefix):
        for k in range(n_calls):
            items = rng.choice(30, 10, replace=False)
            batch = np.array([(10_000 * prefix + k, i) for i in items])
            est.partial_fit(batch, rng.choice(np.unique(y), 10))

    _run_threads(add_users, [(1,), (2,)])
    new = {10_000 * p + k for p in (1, 2) for k in range(n_calls)}
    assert new <= set(est.users_.tolist())
    assert len(est.users_) == len(np.unique(X[:, 0])) + 2 * n_calls
    assert est.n_iter_ == n_before + 2 * n_calls
    assert np.isfinite(est.predict(X[:20])).all()


def test_fit_and_partial_fit_from_two_threads_serialise():
    rng = np.random.default_rng(0)
    X = (rng.random((2000, 40)) < 0.4).astype(float)
    est = BernoulliRBM(n_components=20, max_iter=3, random_state=0)
    inside = []
    real = type(est)._new_state

    def spy(self, *args, **kwargs):  # fit and a first partial_fit pass here
        inside.append(threading.get_ident())
        assert len(inside) == 1, "two fitting calls ran at once"
        try:
            return real(self, *args, **kwargs)
        finally:
            inside.remove(threading.get_ident())

    type(est)._new_state = spy
    try:
        _run_threads(lambda: est.fit(X), [(), (), ()])
    finally:
        type(est)._new_state = real
    assert est.n_iter_ == 3


def test_the_lock_is_not_part_of_the_estimator(tmp_path):
    X, y = make_ratings(n_users=20, n_items=10, density=0.5, random_state=0)
    est = CategoricalRBMRecommender(
        n_components=4, max_iter=2, early_stopping=False, random_state=0
    ).fit(X, y)
    lock = fit_lock(est)
    assert not any(isinstance(v, type(lock)) for v in vars(est).values())
    assert clone(est).get_params() == est.get_params()
    for other in (
        pickle.loads(pickle.dumps(est)),
        copy.deepcopy(est),
        clone(est),
    ):
        assert fit_lock(other) is not lock
    pytest.importorskip("skops")
    from sklearn_rbm.persistence import load, save

    save(est, tmp_path / "m.skops")
    loaded = load(tmp_path / "m.skops")
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert fit_lock(loaded) is not lock
    # a lock held by another thread makes partial_fit wait, not fail
    held, release = threading.Event(), threading.Event()

    def hold():
        with fit_lock(est):
            held.set()
            release.wait(30)

    t = threading.Thread(target=hold)
    t.start()
    assert held.wait(30)
    done = threading.Event()
    worker = threading.Thread(
        target=lambda: (est.partial_fit(X[:5], y[:5]), done.set())
    )
    worker.start()
    assert not done.wait(0.3)  # waiting for the lock
    release.set()
    t.join(30)
    worker.join(30)
    assert done.is_set()


# ---------------------------------------------------------- BLAS threads
def _blas_counts():
    return sorted(
        (i["filepath"], i["num_threads"])
        for i in threadpool_info()
        if i["user_api"] == "blas"
    )


@pytest.fixture
def two_blas_threads():
    """BLAS at two threads in this thread, not held by it (threadpoolctl
    >= 3.8 lets one "controlling" thread set a shared OpenBLAS pool)."""
    libs = blas_controller().lib_controllers
    with threadpool_limits(limits=2, user_api="blas"):
        if {lib.num_threads for lib in libs} != {2}:
            pytest.skip("BLAS cannot be given 2 threads here")
        for lib in libs:
            clear = getattr(type(lib), "clear_controlling_thread", None)
            if clear is not None:
                clear(force=True)
        yield _blas_counts()


def test_overlapping_single_blas_thread_restores_the_counts(two_blas_threads):
    """A enters, B enters, A leaves, B leaves: afterwards the counts are
    those from before (a plain threadpoolctl limit left them at one)."""
    events = {k: threading.Event() for k in ("A in", "B in", "A out")}
    inside = {}

    def call(name):
        with single_blas_thread():
            inside[name] = _blas_counts()
            events[f"{name} in"].set()
            if name == "A":
                assert events["B in"].wait(30)
            else:
                assert events["A out"].wait(30)
                inside["B after A"] = _blas_counts()
        if name == "A":
            events["A out"].set()

    a = threading.Thread(target=call, args=("A",))
    b = threading.Thread(target=call, args=("B",))
    a.start()
    assert events["A in"].wait(30)
    b.start()
    a.join(30)
    b.join(30)
    ones = [(path, 1) for path, _ in two_blas_threads]
    assert inside["A"] == inside["B"] == inside["B after A"] == ones
    assert _blas_counts() == two_blas_threads


def test_training_and_serving_limits_nest(two_blas_threads, monkeypatch):
    monkeypatch.setenv("SKLEARN_RBM_BLAS_THREADS", "2")
    libs = blas_controller().lib_controllers
    with training_threads():
        training = _blas_counts()
        with single_blas_thread():
            serving = _blas_counts()
        assert _blas_counts() == training
    assert _blas_counts() == two_blas_threads
    assert {n for _, n in serving} == {1}
    if len(libs) > 1:  # numpy's BLAS at 2, scipy's at 1 while training
        assert {n for _, n in training} == {1, 2}


def test_many_threads_serving_leave_the_counts_as_they_were(two_blas_threads):
    X, y = make_ratings(n_users=80, n_items=40, density=0.3, random_state=0)
    rec = CategoricalRBMRecommender(
        n_components=16, max_iter=2, early_stopping=False, random_state=0
    ).fit(X, y)
    V = (np.random.default_rng(0).random((300, 30)) < 0.5).astype(float)
    rbm = BernoulliRBM(n_components=10, max_iter=1, random_state=0).fit(V)
    expected = rec.predict(X), rec.recommend(rec.users_[:5], n_items=3)

    def serve(k):
        for _ in range(15):
            np.testing.assert_array_equal(rec.predict(X), expected[0])
            items, _ = rec.recommend(rec.users_[:5], n_items=3)
            np.testing.assert_array_equal(items, expected[1][0])
            if k % 4 == 0:  # training in other threads at the same time
                BernoulliRBM(n_components=5, max_iter=1, random_state=k).fit(V)
            rbm.transform(V)

    _run_threads(serve, [(k,) for k in range(8)])
    assert _blas_counts() == two_blas_threads


@pytest.mark.parametrize("call", ["log_partition", "raise", "sample"])
def test_ais_and_sampling_run_blas_single_threaded(two_blas_threads, monkeypatch, call):
    """AIS, RAISE and sampling chains are thousands of thin products: with
    OpenBLAS's two threads beside busy jobs, AIS took up to 5.7 times longer
    (benchmarks/bench_ais_threads.py). They run with one BLAS thread, and
    the counts are restored afterwards."""
    import sklearn_rbm.engine.gibbs as gibbs
    import sklearn_rbm.engine.partition as partition

    V = (np.random.default_rng(0).random((200, 12)) < 0.5).astype(float)
    rbm = BernoulliRBM(n_components=30, max_iter=1, random_state=0).fit(V)
    seen = []
    hidden_field = gibbs.hidden_field

    def spy(*args, **kwargs):
        seen.append(_blas_counts())
        return hidden_field(*args, **kwargs)

    monkeypatch.setattr(gibbs, "hidden_field", spy)
    monkeypatch.setattr(partition, "hidden_field", spy)
    if call == "log_partition":
        rbm.log_partition("ais", n_betas=20, n_runs=4, check=False)
    elif call == "raise":
        rbm.score_samples_raise(V[:3], n_betas=20)
    else:
        rbm.sample(3, n_steps=5, random_state=0)
    ones = [(path, 1) for path, _ in two_blas_threads]
    assert seen and all(counts == ones for counts in seen)
    assert _blas_counts() == two_blas_threads


@pytest.mark.parametrize("value", ["abc", "-1"])
def test_bad_thread_variable_is_named(monkeypatch, value):
    monkeypatch.setenv("SKLEARN_RBM_BLAS_THREADS", value)
    V = (np.random.default_rng(0).random((50, 6)) < 0.5).astype(float)
    with pytest.raises(ValueError, match="SKLEARN_RBM_BLAS_THREADS must be"):
        BernoulliRBM(n_components=3, max_iter=1).fit(V)
