"""The estimators on a real Dask cluster (two worker processes on loopback).

* ``GridSearchCV`` under ``joblib.parallel_backend("dask")`` gives the same
  ``cv_results_`` scores, best parameters and refit model as a local run.
* ``dask_ml.wrappers.Incremental`` fed with a chunked dask array equals
  ``partial_fit`` over the same chunks in order.
* Dask worker processes run BLAS single-threaded (the nanny sets
  ``OMP_NUM_THREADS=1`` etc.), so many fits at once do not oversubscribe.

Skipped when dask / distributed / dask-ml are not installed.
"""

import os

import numpy as np
import pytest
from _estimators import SPEC_IDS, SPECS, fitted_params

pytest.importorskip("dask.array")
pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

import dask.array as da  # noqa: E402
from distributed import Client, LocalCluster, get_task_stream  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def _blas_info():
    from threadpoolctl import threadpool_info

    env = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    threads = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    return env, threads


def test_dask_workers_run_blas_single_threaded(client):
    # distributed's nanny sets OMP/MKL/OPENBLAS_NUM_THREADS=1 in every worker
    # process (config distributed.nanny.pre-spawn-environ), whatever the
    # client's environment; training_threads() keeps one thread as well
    info = client.run(_blas_info)
    assert len(info) == 2
    for env, threads in info.values():
        assert env == {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        assert threads and all(t == 1 for t in threads)


def _grid(spec):
    X, y = spec.data(0)
    return (
        GridSearchCV(
            spec.make(),
            spec.param_grid,
            cv=KFold(3, shuffle=True, random_state=0),
            n_jobs=-1,
        ),
        X,
        y,
    )


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_grid_search_on_dask_equals_local(spec, client):
    spec.skip_if_missing()
    local, X, y = _grid(spec)
    local.set_params(n_jobs=1).fit(X, y)
    remote, _, _ = _grid(spec)
    with joblib.parallel_backend("dask"), get_task_stream(client) as ts:
        remote.fit(X, y)
    # the fits ran on the worker processes (joblib batches them into tasks)
    assert ts.data
    assert {t["worker"] for t in ts.data} <= set(client.scheduler_info()["workers"])
    a, b = local.cv_results_, remote.cv_results_
    assert a.keys() == b.keys()
    for key in a:
        if key.endswith("_time"):
            continue
        if key == "params":
            assert a[key] == b[key]
        else:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert np.isfinite(a["mean_test_score"]).all()
    assert local.best_params_ == remote.best_params_
    assert local.best_score_ == remote.best_score_
    pa, pb = fitted_params(local.best_estimator_), fitted_params(remote.best_estimator_)
    assert pa.keys() == pb.keys() and pa
    for key in pa:
        np.testing.assert_array_equal(pa[key], pb[key], err_msg=key)


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_incremental_from_chunked_dask_array_equals_partial_fit(spec, client):
    spec.skip_if_missing()
    if not spec.incremental:
        pytest.skip(f"{spec.name}: Incremental not applicable")
    Incremental = pytest.importorskip("dask_ml.wrappers").Incremental
    X, y = spec.data(0)
    chunk = 16
    dX = da.from_array(X, chunks=(chunk, X.shape[1]))
    assert dX.numblocks[0] > 2
    # shuffle_blocks=False: blocks in order, as partial_fit below
    inc = Incremental(spec.make(**spec.chunk_kwargs), shuffle_blocks=False)
    inc.fit(dX)
    ref = spec.make(**spec.chunk_kwargs)
    for start in range(0, X.shape[0], chunk):
        ref.partial_fit(X[start : start + chunk])
    got = inc.estimator_
    assert got.n_iter_ == ref.n_iter_ == dX.numblocks[0]
    pa, pb = fitted_params(ref), fitted_params(got)
    for key in pa:
        np.testing.assert_array_equal(pa[key], pb[key], err_msg=key)
    # score with the estimator's own methods (dask-ml's scorers are not used)
    assert got.score(X) == ref.score(X)
    # a second pass by Incremental.partial_fit continues the same training
    inc.partial_fit(dX)
    for start in range(0, X.shape[0], chunk):
        ref.partial_fit(X[start : start + chunk])
    got = inc.estimator_
    assert got.n_iter_ == ref.n_iter_ == 2 * dX.numblocks[0]
    for key, val in fitted_params(ref).items():
        np.testing.assert_array_equal(val, getattr(got, key), err_msg=key)
    # blockwise inference on the cluster through the wrapper
    np.testing.assert_array_equal(
        inc.transform(dX).compute(), ref.transform(X), strict=True
    )
