"""The dense RBMs on Array API arrays (array-api-strict and PyTorch on CPU).

scikit-learn's ``array_api_dispatch`` needs ``SCIPY_ARRAY_API=1`` set before
scipy is imported, so in an ordinary test run one test re-runs this module
in a fresh interpreter with it set (:func:`test_array_api_subprocess`); the
other tests run only there. The PyTorch tests skip when torch is absent (it
is in the ``array-api`` extra); array-api-strict is in ``test``.

Checked: outputs and fitted attributes in the input's namespace, device and
dtype; the same model as the numpy path up to rounding where the random
stream is shared (array-api-strict draws numpy's numbers); statistically
equivalent likelihoods where it is not (torch); persistence to numpy; the
numpy path never imports torch; the checked and adaptive AIS of issue 18;
the clear refusal of what runs on numpy only (parallel tempering, sample
weights).
"""

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sklearn_rbm import BernoulliRBM, GaussianBernoulliRBM

REPO = Path(__file__).resolve().parents[1]
IN_SUBPROCESS = os.environ.get("SCIPY_ARRAY_API") == "1"
needs_env = pytest.mark.skipif(
    not IN_SUBPROCESS, reason="runs in the SCIPY_ARRAY_API=1 subprocess"
)


def test_numpy_path_never_imports_torch():
    code = (
        "import sys, numpy as np\n"
        "import sklearn_rbm\n"
        "X = (np.random.default_rng(0).random((50, 6)) > 0.5).astype(float)\n"
        "r = sklearn_rbm.BernoulliRBM(n_components=3, max_iter=2, random_state=0)\n"
        "r.fit(X).transform(X); r.score_samples(X); r.sample(2, n_steps=3)\n"
        "sklearn_rbm.GaussianBernoulliRBM(n_components=3, max_iter=2).fit(X)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert 'array_api_strict' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_take_rows_reads_a_shuffled_index_whose_ends_look_like_a_range():
    # a numpy index is taken as a slice only when it is one: [3, 7, 1, 6]
    # (6 - 3 == 4 - 1) is not rows 3..6 (frequency weights send shuffled
    # numpy indices, with repeats, to non-numpy X)
    xs = pytest.importorskip("array_api_strict")
    from sklearn_rbm.engine import _xp

    X = np.arange(40.0).reshape(10, 4)
    for idx in ([3, 7, 1, 6], [2, 3, 4], [5, 5, 6], [8]):
        got = _xp.take_rows(xs.asarray(X), np.array(idx))
        assert_allclose(np.asarray(got), X[idx])


@pytest.mark.skipif(IN_SUBPROCESS, reason="this is the subprocess")
def test_array_api_subprocess(request):
    """Every test below, with ``SCIPY_ARRAY_API=1`` (about 30 s; the slow
    ones only when this run selects them)."""
    pytest.importorskip("array_api_strict")
    env = dict(os.environ, SCIPY_ARRAY_API="1")
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__]
    markexpr = request.config.getoption("markexpr")
    if markexpr:
        args += ["-m", markexpr]
    res = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-3000:]


# ----------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X = load_digits().data
    Xb = (X > 7).astype(np.float64)
    Xg = (X - X.mean(0)) / (X.std(0) + 1.0)
    return Xb, Xg


def _namespaces():
    out = [pytest.param("array_api_strict", id="strict")]
    out.append(pytest.param("torch", id="torch"))
    return out


def _xp(name):
    mod = pytest.importorskip(name)
    if name == "torch":
        mod.set_num_threads(1)
    return mod


def _to_np(a):
    from sklearn.utils._array_api import move_to

    return move_to(a, xp=np, device="cpu")


def _dispatch():
    import sklearn

    return sklearn.config_context(array_api_dispatch=True)


def _assert_like(out, ref, dtype_name):
    """``out`` has the namespace, device and dtype of ``ref``."""
    from sklearn.utils._array_api import device, get_namespace

    with _dispatch():
        assert get_namespace(out)[0].__name__ == get_namespace(ref)[0].__name__
        assert device(out) == device(ref)
    assert str(out.dtype).endswith(dtype_name)


# ------------------------------------------------------------------- tests
@needs_env
@pytest.mark.parametrize("ns", _namespaces())
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_outputs_in_input_namespace_and_dtype(ns, dtype, digits):
    xp = _xp(ns)
    Xb, Xg = digits
    X = xp.asarray(Xb[:400].astype(dtype))
    with _dispatch():
        r = BernoulliRBM(n_components=10, max_iter=2, random_state=0).fit(X)
        for attr in ("components_", "intercept_hidden_", "intercept_visible_"):
            _assert_like(getattr(r, attr), X, dtype)
        H = r.transform(X)
        _assert_like(H, X, dtype)
        _assert_like(r.inverse_transform(H), X, dtype)
        _assert_like(r.score_samples(X), X, dtype)
        _assert_like(r.free_energy(X), X, dtype)
        _assert_like(r.sample(3, n_steps=4, random_state=0), X, dtype)
        _assert_like(r.gibbs(X[:5, ...], random_state=0), X, dtype)
        _assert_like(r.pseudo_likelihood(X[:5, ...]), X, dtype)
        _assert_like(r.score_samples_raise(X[:3, ...], n_betas=20), X, "float64")
        assert isinstance(r.score(X), float)
        r.partial_fit(X[:100, ...])
        _assert_like(r.components_, X, dtype)
        # the AIS check (a second run) and the adaptive schedule run too
        est = r.log_partition(method="ais", n_betas=20, n_runs=4, check_tol=1e9)
        assert est.method == "ais" and np.isfinite(est.log_z_check)
        est = r.log_partition(
            method="ais", n_betas=60, n_runs=4, schedule="adaptive", check=False
        )
        assert est.schedule == "adaptive" and np.isfinite(est.log_z)
        G = xp.asarray(Xg[:400].astype(dtype))
        g = GaussianBernoulliRBM(n_components=6, max_iter=2, random_state=0).fit(G)
        _assert_like(g.log_variance_, G, dtype)
        _assert_like(g.variances_, G, dtype)
        _assert_like(g.transform(G), G, dtype)
        _assert_like(g.score_samples(G), G, dtype)


@needs_env
@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-9), ("float32", 2e-4)])
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"persistent": False, "cd_steps": 2, "centering": False},
        {"sampler": "fpcd", "fast_learning_rate": 0.05},
    ],
    ids=["pcd-centered", "cd2", "fpcd"],
)
def test_strict_matches_numpy(dtype, rtol, kwargs, digits):
    if kwargs and dtype == "float32":
        pytest.skip("one dtype is enough for the second configuration")
    """array-api-strict draws numpy's random numbers: the same model."""
    xs = _xp("array_api_strict")
    Xb, Xg = digits
    for est, X in (
        (BernoulliRBM(n_components=12, max_iter=3, random_state=0, **kwargs), Xb),
        (GaussianBernoulliRBM(n_components=8, max_iter=3, random_state=0), Xg),
    ):
        X = X[:600].astype(dtype)
        ref = pickle.loads(pickle.dumps(est)).fit(X)
        with _dispatch():
            got = est.fit(xs.asarray(X))
            ll = _to_np(got.score_samples(xs.asarray(X[:50])))
            V = _to_np(got.sample(4, n_steps=5, random_state=1))
        for k in got._param_attrs.values():
            scale = np.abs(getattr(ref, k)).max() + 1.0
            assert_allclose(_to_np(getattr(got, k)), getattr(ref, k), atol=rtol * scale)
        assert_allclose(ll, ref.score_samples(X[:50]), rtol=rtol * 10)
        V_ref = ref.sample(4, n_steps=5, random_state=1)
        assert np.mean(np.isclose(V, V_ref, rtol=0, atol=1e-3)) > 0.9


@needs_env
def test_array_api_input_with_dispatch_off_is_named(digits):
    """The model's own kind of array passed with dispatch off: the message
    names it as what it is, not as numpy."""
    xs = _xp("array_api_strict")
    Xb, _ = digits
    with _dispatch():
        r = BernoulliRBM(n_components=4, max_iter=1, random_state=0)
        r.fit(xs.asarray(Xb[:200]))
    with pytest.raises(
        ValueError, match=r"got array_api_strict \(with array_api_dispatch"
    ):
        r.transform(xs.asarray(Xb[:5]))
    with pytest.raises(ValueError, match="transform got numpy input"):
        r.transform(Xb[:5])


@needs_env
def test_strict_ais_and_raise_match_numpy(digits):
    xs = _xp("array_api_strict")
    Xb, _ = digits
    ref = BernoulliRBM(n_components=30, max_iter=2, random_state=0).fit(Xb)
    with _dispatch():
        got = BernoulliRBM(n_components=30, max_iter=2, random_state=0)
        got.fit(xs.asarray(Xb))
        est = got.log_partition(method="ais", n_betas=100, n_runs=10, random_state=3)
        rai = _to_np(got.score_samples_raise(xs.asarray(Xb[:5]), n_betas=100))
    want = ref.log_partition(method="ais", n_betas=100, n_runs=10, random_state=3)
    assert abs(est.log_z - want.log_z) < 1e-6
    assert_allclose(rai, ref.score_samples_raise(Xb[:5], n_betas=100), atol=1e-6)


@needs_env
def test_strict_checked_and_adaptive_ais_match_numpy(digits):
    """The AIS check and the adaptive schedule (issue 18) draw numpy's
    numbers under array-api-strict: the numpy path's estimates."""
    xs = _xp("array_api_strict")
    Xb, _ = digits
    kw = dict(method="ais", n_betas=100, n_runs=10, random_state=3, check_tol=1e9)
    ref = BernoulliRBM(n_components=20, max_iter=2, random_state=0).fit(Xb)
    with _dispatch():
        got = BernoulliRBM(n_components=20, max_iter=2, random_state=0)
        got.fit(xs.asarray(Xb))
        est = got.log_partition(schedule="adaptive", **kw)
    want = ref.log_partition(schedule="adaptive", **kw)
    assert abs(est.log_z - want.log_z) < 1e-6
    assert abs(est.log_z_check - want.log_z_check) < 1e-6


@needs_env
@pytest.mark.parametrize("ns", _namespaces())
def test_numpy_only_options_are_refused(ns, digits):
    """Parallel tempering runs on numpy only for now: a clear error, and a
    fitted model left unchanged."""
    xp = _xp(ns)
    Xb, _ = digits
    X = xp.asarray(Xb[:200])
    with _dispatch():
        pt = BernoulliRBM(n_components=4, max_iter=1, sampler="pt", random_state=0)
        with pytest.raises(ValueError, match="sampler='pt' supports numpy arrays"):
            pt.fit(X)
        r = BernoulliRBM(n_components=4, max_iter=1, random_state=0).fit(X)
        W = _to_np(r.components_).copy()
        with pytest.raises(ValueError, match="method='tempering' supports numpy"):
            r.sample(2, n_steps=2, method="tempering")
        r.set_params(sampler="pt")
        with pytest.raises(ValueError, match="sampler='pt' supports numpy arrays"):
            r.partial_fit(X)
    assert_allclose(_to_np(r.components_), W, rtol=0, atol=0)


@needs_env
@pytest.mark.parametrize(
    "cls, kw, data",
    [
        (BernoulliRBM, {"centering": True}, 0),
        (BernoulliRBM, {"persistent": False, "early_stopping": True}, 0),
        (GaussianBernoulliRBM, {}, 1),
    ],
    ids=["bernoulli-centred", "bernoulli-cd-early-stopping", "gaussian"],
)
def test_sample_weight_on_array_api_input(cls, kw, data, digits):
    """Sample weights (numpy, or of another namespace or device) with an
    Array API X: on array-api-strict (numpy's random stream; X on a second
    device) fit and partial_fit give the numpy model up to rounding; torch
    weights give torch X's model with numpy weights bit for bit."""
    X = digits[data][:300]
    w = np.random.default_rng(0).integers(0, 3, 300).astype(float)
    common = dict(n_components=5, max_iter=3, random_state=0, **kw)
    ref = cls(**common).fit(X, sample_weight=w)
    ref.partial_fit(X[:100], sample_weight=w[:100] + 1)
    xs = _xp("array_api_strict")
    dev = xs.Device("device1")  # a device numpy cannot read directly
    with _dispatch():
        m = cls(**common).fit(xs.asarray(X, device=dev), sample_weight=w)
        m.partial_fit(
            xs.asarray(X[:100], device=dev), sample_weight=xs.asarray(w[:100] + 1)
        )
    for attr in ref._param_attrs.values():
        assert_allclose(_to_np(getattr(m, attr)), getattr(ref, attr), atol=1e-10)
    torch = _xp("torch")
    with _dispatch():
        a = cls(**common).fit(torch.asarray(X), sample_weight=w)
        b = cls(**common).fit(torch.asarray(X), sample_weight=torch.asarray(w))
    assert_allclose(_to_np(a.components_), _to_np(b.components_), rtol=0, atol=0)


@needs_env
def test_torch_exact_log_z_equals_numpy(digits):
    """The same parameters give the same exact log Z and likelihoods."""
    torch = _xp("torch")
    Xb, Xg = digits
    for est, X in (
        (BernoulliRBM(n_components=12, max_iter=3, random_state=0), Xb),
        (GaussianBernoulliRBM(n_components=8, max_iter=3, random_state=0), Xg),
    ):
        ref = est.fit(X)
        moved = pickle.loads(pickle.dumps(ref))
        for k in ref._param_attrs.values():
            setattr(moved, k, torch.asarray(getattr(ref, k)))
        moved._state = moved._state.copy()
        moved._state.params = {k: torch.asarray(v) for k, v in ref._params().items()}
        with _dispatch():
            lz = moved.log_partition(method="exact").log_z
            ll = _to_np(moved.score_samples(torch.asarray(X[:100])))
        assert abs(lz - ref.log_partition(method="exact").log_z) < 1e-8
        assert_allclose(ll, ref.score_samples(X[:100]), rtol=1e-10)


@needs_env
@pytest.mark.slow
def test_torch_statistically_equivalent(digits):
    """Other random streams, same quality: exact test log-likelihoods of
    numpy- and torch-fitted models agree within their seed-to-seed spread,
    and torch's AIS agrees with the exact log Z."""
    torch = _xp("torch")
    Xb, _ = digits
    train, test = Xb[:1400], Xb[1400:]
    kw = {"n_components": 16, "max_iter": 10}
    ll_np = [
        BernoulliRBM(random_state=s, **kw).fit(train).score(test) for s in range(3)
    ]
    with _dispatch():
        ll_t = [
            BernoulliRBM(random_state=s, **kw)
            .fit(torch.asarray(train))
            .score(torch.asarray(test))
            for s in range(3)
        ]
        r = BernoulliRBM(random_state=0, **kw).fit(torch.asarray(train))
        ais = r.log_partition(method="ais", n_betas=2000, n_runs=50, random_state=0)
        exact = r.log_partition(method="exact")
    spread = max(np.ptp(ll_np), np.ptp(ll_t), 0.3)
    assert abs(np.mean(ll_np) - np.mean(ll_t)) < 2 * spread
    assert abs(ais.log_z - exact.log_z) < max(5 * ais.std_err, 0.1)


@needs_env
def test_torch_reproducible_and_continues(digits):
    torch = _xp("torch")
    Xb, _ = digits
    X = torch.asarray(Xb[:500].astype(np.float32))
    with _dispatch():
        a = BernoulliRBM(n_components=8, max_iter=2, random_state=5).fit(X)
        b = BernoulliRBM(n_components=8, max_iter=2, random_state=5).fit(X)
        assert torch.equal(a.components_, b.components_)
        assert torch.equal(a.sample(3, random_state=1), b.sample(3, random_state=1))
        # early stopping and verbose monitoring run too
        c = BernoulliRBM(
            n_components=8, max_iter=3, early_stopping=True, random_state=0
        ).fit(X)
        assert len(c.validation_scores_) == 3
        # partial_fit continues the torch generator from a copied state
        a.partial_fit(X[:100, ...])
        b.partial_fit(X[:100, ...])
        assert torch.equal(a.components_, b.components_)


@needs_env
@pytest.mark.parametrize("ns", _namespaces())
def test_pickle_and_save_give_a_numpy_model(ns, digits, tmp_path):
    xp = _xp(ns)
    Xb, _ = digits
    X = xp.asarray(Xb[:300].astype(np.float32))
    with _dispatch():
        r = BernoulliRBM(n_components=6, max_iter=2, random_state=0).fit(X)
        H = _to_np(r.transform(X))
    loaded = pickle.loads(pickle.dumps(r))
    assert type(loaded.components_) is np.ndarray
    assert loaded.components_.dtype == np.float32
    assert isinstance(loaded._state.rng, np.random.Generator)
    assert_allclose(loaded.transform(Xb[:300].astype(np.float32)), H, rtol=1e-6)
    loaded.partial_fit(Xb[:50])  # continues as a numpy model
    assert type(r.components_) is not np.ndarray  # the live model is untouched
    pytest.importorskip("skops")
    from sklearn_rbm import persistence

    persistence.save(r, tmp_path / "m.skops")
    back = persistence.load(tmp_path / "m.skops")
    assert type(back.components_) is np.ndarray
    assert_allclose(back.components_, _to_np(r.components_))


@needs_env
def test_mixed_namespaces_are_refused(digits):
    import scipy.sparse as sp

    torch = _xp("torch")
    Xb, _ = digits
    with _dispatch():
        r = BernoulliRBM(n_components=4, max_iter=1, random_state=0)
        r.fit(torch.asarray(Xb[:200]))
        with pytest.raises(ValueError, match="same namespace"):
            r.transform(Xb[:5])
        with pytest.raises(ValueError, match="same namespace"):
            r.transform(sp.csr_matrix(Xb[:5]))
        with pytest.raises(ValueError, match="same namespace"):
            r.partial_fit(Xb[:5])
    with pytest.raises(ValueError, match="fitted on torch arrays"):
        r.transform(Xb[:5])  # dispatch off: numpy input to a torch model
    with pytest.raises(ValueError, match="fitted on torch arrays"):
        r.inverse_transform(np.zeros((2, 4)))
    # sparse input with dispatch on and a numpy model stays numpy
    with _dispatch():
        m = BernoulliRBM(n_components=4, max_iter=1, random_state=0)
        H = m.fit(sp.csr_matrix(Xb[:200])).transform(sp.csr_matrix(Xb[:5]))
    assert type(H) is np.ndarray


@needs_env
def test_moved_model_serves_inference_only(digits):
    """A numpy model moved by sklearn's ``move_estimator_to`` scores and
    samples on the device; continuing its training is refused clearly."""
    from sklearn.utils._array_api import get_namespace_and_device, move_estimator_to

    torch = _xp("torch")
    Xb, _ = digits
    ref = BernoulliRBM(n_components=6, max_iter=2, random_state=0).fit(Xb[:300])
    X = torch.asarray(Xb[:300])
    with _dispatch():
        xp, _, device = get_namespace_and_device(X)
        moved = move_estimator_to(ref, xp, device)
        assert_allclose(_to_np(moved.transform(X)), ref.transform(Xb[:300]))
        assert abs(moved.score(X) - ref.score(Xb[:300])) < 1e-8
        with pytest.raises(ValueError, match="torch arrays but the training state"):
            moved.partial_fit(X)


@needs_env
@pytest.mark.parametrize("ns", _namespaces())
def test_sklearn_array_api_checks(ns):
    """scikit-learn's own Array API checks (GaussianBernoulliRBM accepts the
    generic check data; BernoulliRBM runs the same code on [0, 1] data),
    mixed namespaces of X and the sample weights included."""
    from sklearn.utils.estimator_checks import (
        check_array_api_input,
        check_array_api_mixed_inputs,
        check_array_api_same_namespace,
    )

    _xp(ns)
    est = GaussianBernoulliRBM(n_components=4, max_iter=2, random_state=0)
    for dtype in ("float32", "float64"):
        check_array_api_input(
            "GaussianBernoulliRBM", est, array_namespace=ns, dtype_name=dtype
        )
    check_array_api_same_namespace("GaussianBernoulliRBM", est, array_namespace=ns)
    # X in one namespace, sample weights in another (scikit-learn's CPU pair)
    from sklearn.utils._array_api import NamespaceAndDevice

    other = "torch" if ns == "array_api_strict" else "array_api_strict"
    _xp(other)
    devices = {"torch": "cpu", "array_api_strict": "device1"}
    check_array_api_mixed_inputs(
        "GaussianBernoulliRBM",
        est,
        X_ns_and_device=NamespaceAndDevice(ns, devices[ns]),
        other_ns_and_device=NamespaceAndDevice(other, devices[other]),
    )
