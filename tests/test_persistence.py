"""pickle / joblib / skops round trips of every public estimator.

A restored model must give bit-identical outputs and continue training
(``partial_fit``) bit-identically, also when saved in mid-training; a model
written by another sklearn_rbm version must warn on load.
"""

import io
import json
import pickle
import warnings
import zipfile

import joblib
import numpy as np
import pytest
from _estimators import SPEC_IDS, SPECS, fitted_params, public_estimator_names

import sklearn_rbm
from sklearn_rbm.exceptions import InconsistentVersionWarning

skops_io = pytest.importorskip("skops.io")
from sklearn_rbm import persistence  # noqa: E402


def _pickle_rt(est, tmp_path):
    return pickle.loads(pickle.dumps(est))


def _joblib_rt(est, tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    return joblib.load(path)


def _skops_rt(est, tmp_path):
    path = tmp_path / "model.skops"
    persistence.save(est, path)
    return persistence.load(path)


ROUND_TRIPS = {"pickle": _pickle_rt, "joblib": _joblib_rt, "skops": _skops_rt}


def _assert_same_model(a, b, X):
    pa, pb = fitted_params(a), fitted_params(b)
    assert pa.keys() == pb.keys()
    for k in pa:
        np.testing.assert_array_equal(pa[k], pb[k], err_msg=k, strict=True)
    np.testing.assert_array_equal(a._spec.output(a, X), b._spec.output(b, X))


def test_registry_covers_all_public_estimators():
    assert set(public_estimator_names()) <= set(SPEC_IDS)


@pytest.mark.parametrize("how", ROUND_TRIPS)
@pytest.mark.parametrize("mid_training", [False, True], ids=["fit", "partial_fit"])
@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_round_trip_predicts_and_continues_bit_identically(
    spec, mid_training, how, tmp_path
):
    spec.skip_if_missing()
    X, y = spec.data(0)
    X2, y2 = spec.data(1)
    est = spec.make()
    if mid_training:
        n = X.shape[0] // 2
        est.partial_fit(X[:n], None if y is None else y[:n])
        est.partial_fit(X[n:], None if y is None else y[n:])
    else:
        est.fit(X, y)
    if hasattr(est, "score"):
        est.score(X, y)  # fills caches (log Z) that must survive too
    if hasattr(est, "recommend"):
        # fills serving caches (a user x item CSR: not a type skops trusts),
        # which are left out of the saved state and rebuilt
        est.recommend(np.asarray(X)[:2, 0], n_items=3)
    restored = ROUND_TRIPS[how](est, tmp_path)
    assert type(restored) is type(est)
    assert restored.get_params() == est.get_params()
    for e in (est, restored):
        e._spec = spec
    _assert_same_model(est, restored, X)
    if hasattr(est, "score"):
        assert restored.score(X, y) == est.score(X, y)
    # continued training: same chains, momentum and random stream
    est.partial_fit(X2, y2)
    restored.partial_fit(X2, y2)
    _assert_same_model(est, restored, X2)


@pytest.mark.parametrize("how", ROUND_TRIPS)
@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_unfitted_round_trip(spec, how, tmp_path):
    spec.skip_if_missing()
    est = spec.make()
    restored = ROUND_TRIPS[how](est, tmp_path)
    assert restored.get_params() == est.get_params()
    X, y = spec.data(0)
    restored._spec = est._spec = spec
    _assert_same_model(est.fit(X, y), restored.fit(X, y), X)


def _other_version_pickle(est):
    state = est.__getstate__()
    assert state["_sklearn_rbm_version"] == sklearn_rbm.__version__
    raw = pickle.dumps(est)
    old = sklearn_rbm.__version__.encode()
    new = b"0.0.1-old"[: len(old)].ljust(len(old), b"x")
    assert raw.count(old) == 1
    return raw.replace(old, new), new.decode()


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_pickle_from_other_version_warns(spec):
    spec.skip_if_missing()
    est, X, _ = _fit(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = pickle.loads(pickle.dumps(est))  # same version: silent
    assert "_sklearn_rbm_version" not in vars(same)
    raw, other = _other_version_pickle(est)
    with pytest.warns(InconsistentVersionWarning, match=other) as rec:
        restored = pickle.loads(raw)
    w = rec[0].message
    assert w.original_version == other
    assert w.current_version == sklearn_rbm.__version__
    assert w.estimator_name == spec.name
    restored._spec = est._spec = spec
    _assert_same_model(est, restored, X)  # still usable


def _edit_skops_version(src, dst, version):
    """Rewrite the stored ``_sklearn_rbm_version`` in a skops zip file."""
    with zipfile.ZipFile(src) as zin:
        files = {n: zin.read(n) for n in zin.namelist()}
    schema = json.loads(files["schema.json"])
    hits = []

    def walk(node):
        if isinstance(node, dict):
            if (
                "_sklearn_rbm_version" in node
                and isinstance(node["_sklearn_rbm_version"], dict)
                and "content" in node["_sklearn_rbm_version"]
            ):
                node["_sklearn_rbm_version"]["content"] = json.dumps(version)
                hits.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    assert hits, "no stored _sklearn_rbm_version in the skops file"
    files["schema.json"] = json.dumps(schema).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zout:
        for n, b in files.items():
            zout.writestr(n, b)
    dst.write_bytes(buf.getvalue())


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_skops_from_other_version_warns(spec, tmp_path):
    spec.skip_if_missing()
    est, X, _ = _fit(spec)
    path = tmp_path / "m.skops"
    persistence.save(est, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        persistence.load(path)
    _edit_skops_version(path, tmp_path / "old.skops", "0.0.1")
    with pytest.warns(InconsistentVersionWarning, match="0.0.1"):
        restored = persistence.load(tmp_path / "old.skops")
    restored._spec = est._spec = spec
    _assert_same_model(est, restored, X)


def test_trusted_list_is_explicit(tmp_path):
    names = persistence.trusted_types()
    assert all(isinstance(n, str) and "." in n for n in names)
    for name in public_estimator_names():
        cls = getattr(sklearn_rbm, name)
        assert f"{cls.__module__}.{cls.__qualname__}" in names
    est, X, _ = _fit(SPECS[0])
    path = tmp_path / "m.skops"
    persistence.save(est, path)
    # every type in a saved file is on the list (nothing trusted implicitly)
    assert set(skops_io.get_untrusted_types(file=path)) <= set(names)
    with pytest.raises(ValueError, match="trusted"):
        persistence.load(path, trusted=True)


def test_foreign_types_are_refused_unless_trusted(tmp_path):
    from fractions import Fraction

    from skops.io.exceptions import UntrustedTypesFoundException

    est, X, _ = _fit(SPECS[0])
    est.foreign_ = Fraction(1, 3)  # a type that is on no allow-list
    path = tmp_path / "foreign.skops"
    persistence.save(est, path)
    with pytest.raises(UntrustedTypesFoundException, match="Fraction"):
        persistence.load(path)
    restored = persistence.load(path, trusted=["fractions.Fraction"])
    assert restored.foreign_ == Fraction(1, 3)
    np.testing.assert_array_equal(restored.transform(X), est.transform(X))


def _fit(spec):
    est, X, y = None, *spec.data(0)
    est = spec.make().fit(X, y)
    return est, X, y
