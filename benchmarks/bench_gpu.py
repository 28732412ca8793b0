"""BernoulliRBM on PyTorch arrays (Array API dispatch) against the numpy path.

Prints, in one run, as ratios:

1. seconds per epoch (500 hidden, batch 100, PCD-1, float32, thresholded
   MNIST): numpy on this machine's CPU (one BLAS thread) against
   ``BernoulliRBM`` fitted on torch tensors on ``--device``, and against the
   ``rbms`` package's PCD loop (PyTorch) on the same device when it is
   importable;
2. AIS seconds (14,500 temperatures x 100 runs) and the AIS test
   log-likelihood of the 10,000 test images, for one model (fitted by
   numpy) scored by numpy and by torch: the two estimates must agree within
   their standard errors;
3. with ``--recipe``: the 15-minute recipe (``BernoulliRBM(n_components=500)``
   with as many epochs as fill 90% of the budget) on torch, and its AIS test
   log-likelihood; the numpy recipe's figure is that of
   ``bench_bernoulli.py --recipe`` (``benchmarks/README.md``), rerun here with
   ``--recipe-numpy``.

Usage::

    python benchmarks/bench_gpu.py [--device cuda] [--quick] [--recipe]
                                   [--recipe-numpy] [--data DIR]

``--device cpu`` runs the torch side on the CPU (``torch.set_num_threads``
= ``--threads``); ``--quick`` shrinks every size (a smoke test, not a
measurement). Needs ``SCIPY_ARRAY_API=1`` (set here before scipy is
imported) and torch. Data: ``mnist/mnist.npz`` under ``--data``,
``$SKLEARN_RBM_DATA`` or ``../shared/data``.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # before numpy/scipy/sklearn

import argparse
import pickle
import platform
import time
import types

import numpy as np
import sklearn
from bench_bernoulli import find_mnist, load
from threadpoolctl import threadpool_limits

from sklearn_rbm import BernoulliRBM

#: the numpy recipe's test log-likelihoods (benchmarks/README.md, session 3)
#: (epochs, fit seconds, AIS test LL, std err of log Z)
README_RECIPE = {5.0: (76, 266, -71.84, 0.58), 15.0: (228, 766, -68.39, 0.21)}


def sync(torch, device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def to_torch_model(est, torch, device):
    """A copy of a numpy-fitted model with its parameters on ``device``."""
    moved = pickle.loads(pickle.dumps(est))
    for attr in est._param_attrs.values():
        setattr(moved, attr, torch.asarray(getattr(est, attr), device=device))
    moved._state = moved._state.copy()
    moved._state.params = {
        k: torch.asarray(v, device=device) for k, v in est._params().items()
    }
    return moved


def epoch_seconds(make, X, epochs):
    """Seconds per epoch: the difference of a 1-epoch and a
    ``1 + epochs``-epoch fit over ``epochs`` (set-up excluded)."""
    t0 = time.perf_counter()
    make(1).fit(X)
    t1 = time.perf_counter()
    model = make(1 + epochs).fit(X)
    t2 = time.perf_counter()
    return ((t2 - t1) - (t1 - t0)) / epochs, t1 - t0, model


def rbms_epoch_seconds(torch, device, X, n_hidden, batch, epochs):
    """The PCD-1 loop of ``rbms`` (``training/pcd.py``'s ``fit_batch_pcd``
    and its SGD step, without its per-update HDF5 logging): seconds per
    pass of ``len(X) / batch`` updates."""
    from rbms.bernoulli_bernoulli import BBRBM

    Xt = torch.asarray(X, device=device)
    data = types.SimpleNamespace(data=Xt)
    p = BBRBM.init_parameters(
        num_hiddens=n_hidden, dataset=data, device=device, dtype=torch.float32
    )
    p.init_grad()
    chains = p.sample_state(chains=p.init_chains(batch), n_steps=1)
    opt = torch.optim.SGD(p.parameters(), lr=0.01, maximize=True)
    ones = torch.ones(batch, device=device)
    n_updates = len(X) // batch

    def one_epoch():
        nonlocal chains
        for _ in range(n_updates):
            idx = torch.randperm(len(X), device=device)[:batch]
            cur = p.init_chains(batch, weights=ones, start_v=Xt[idx])
            chains = p.sample_state(chains=chains, n_steps=1)
            opt.zero_grad(set_to_none=False)
            p.compute_gradient(data=cur, chains=chains, centered=True)
            p.normalize_grad()
            opt.step()

    with torch.no_grad():
        one_epoch()  # warm-up (kernels, allocator)
        sync(torch, device)
        t0 = time.perf_counter()
        for _ in range(epochs):
            one_epoch()
        sync(torch, device)
    return (time.perf_counter() - t0) / epochs


def ais_scored(est, X_test, n_betas, n_runs, convert=None):
    """(seconds, AIS test LL, std err of log Z) of ``est`` on ``X_test``."""
    t0 = time.perf_counter()
    lz = est.log_partition(method="ais", n_betas=n_betas, n_runs=n_runs)
    ll = est.score(X_test if convert is None else convert(X_test))
    return time.perf_counter() - t0, ll, lz.std_err


def recipe(make, X, X_test, minutes, n_betas, n_runs, convert):
    """Train ``make(epochs)`` for as many epochs as fill 90% of the budget
    (two probes of 1 and 3 epochs, as ``bench_bernoulli.py --recipe``)."""
    t0 = time.perf_counter()
    make(1).fit(convert(X))
    t1 = time.perf_counter()
    make(3).fit(convert(X))
    t2 = time.perf_counter()
    per_epoch = ((t2 - t1) - (t1 - t0)) / 2
    setup = max((t1 - t0) - per_epoch, 0.0)
    epochs = max(int((0.9 * minutes * 60 - setup) / per_epoch), 1)
    t3 = time.perf_counter()
    est = make(epochs).fit(convert(X))
    fit_s = time.perf_counter() - t3
    _, ll, err = ais_scored(est, X_test, n_betas, n_runs, convert)
    return epochs, fit_s, ll, err


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", help="torch device (cuda, cpu)")
    ap.add_argument("--data", default=None)
    ap.add_argument("--threads", type=int, default=1, help="CPU threads, each side")
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    ap.add_argument("--skip-numpy", action="store_true", help="no numpy timings")
    ap.add_argument("--skip-ais", action="store_true")
    ap.add_argument("--recipe", action="store_true", help="the torch recipe")
    ap.add_argument("--recipe-numpy", action="store_true", help="numpy recipe too")
    ap.add_argument("--recipe-minutes", type=float, default=15.0)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    X, X_test = load(find_mnist(args.data))
    n_hidden, n_betas, n_runs = 500, 14500, 100
    if args.quick:
        X, X_test = X[:2000], X_test[:1000]
        n_hidden, n_betas, n_runs = 50, 200, 10
        args.recipe_minutes = min(args.recipe_minutes, 0.25)
    print(
        f"# bench_gpu: torch {torch.__version__} on {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
        + f"; numpy on {platform.processor() or platform.machine()}, "
        f"{args.threads} thread(s); load average {os.getloadavg()}"
    )
    print(
        f"# data: {X.shape[0]} train, {X_test.shape[0]} test images; {n_hidden} hidden"
    )
    convert = lambda a: torch.asarray(a, device=device)

    def make(epochs, seed=0):
        return BernoulliRBM(
            n_components=n_hidden, batch_size=100, max_iter=epochs, random_state=seed
        )

    rows = []
    np_epoch = None
    model = None
    if not args.skip_numpy:
        with threadpool_limits(args.threads):
            np_epoch, _, model = epoch_seconds(make, X, args.epochs)
        rows.append(("numpy (CPU)", np_epoch))
    with sklearn.config_context(array_api_dispatch=True):
        make(1).fit(convert(X[:500]))  # warm-up (kernels, allocator)
        t_epoch, _, _ = epoch_seconds(
            make, convert(X), args.epochs
        )  # each fit syncs: check_finite reads the parameters every epoch
    rows.append((f"sklearn_rbm torch ({device})", t_epoch))
    try:
        rb = rbms_epoch_seconds(torch, device, X, n_hidden, 100, args.epochs)
        rows.append((f"rbms PCD loop ({device})", rb))
    except ImportError as exc:
        print(f"# rbms not importable ({exc}); its row is left out")
    print("\n## Seconds per epoch (500 hidden, batch 100, PCD-1, float32)\n")
    print("| implementation | s / epoch | numpy / this |")
    print("| --- | ---: | ---: |")
    for name, t in rows:
        ratio = f"{np_epoch / t:.2f}x" if np_epoch else "-"
        print(f"| {name} | {t:.3f} | {ratio} |")
    if len(rows) >= 2 and rows[-1][0].startswith("rbms"):
        print(f"\nrbms / sklearn_rbm torch: {rows[-1][1] / t_epoch:.2f}x per epoch")

    if not args.skip_ais:
        if model is None:
            with threadpool_limits(args.threads):
                model = make(args.epochs + 1).fit(X)
        print(f"\n## AIS ({n_betas} temperatures x {n_runs} runs) + test scoring\n")
        print("| backend | seconds | test LL (nats) | std err log Z |")
        print("| --- | ---: | ---: | ---: |")
        res = {}
        if not args.skip_numpy:
            with threadpool_limits(args.threads):
                res["numpy"] = ais_scored(model, X_test, n_betas, n_runs)
        moved = to_torch_model(model, torch, device)
        with sklearn.config_context(array_api_dispatch=True):
            res["torch"] = ais_scored(moved, X_test, n_betas, n_runs, convert)
        for name, (sec, ll, err) in res.items():
            print(f"| {name} | {sec:.2f} | {ll:.3f} | {err:.3f} |")
        if "numpy" in res:
            (s0, l0, e0), (s1, l1, e1) = res["numpy"], res["torch"]
            n_err = abs(l1 - l0) / max(np.hypot(e0, e1), 1e-12)
            print(
                f"\nAIS speed-up numpy / torch: {s0 / s1:.2f}x; test LL difference "
                f"{l1 - l0:+.3f} nats ({n_err:.1f} combined std errs)"
            )

    if args.recipe or args.recipe_numpy:
        m = args.recipe_minutes
        print(f"\n## The {m:g}-minute recipe (BernoulliRBM(n_components={n_hidden}))\n")
        print("| backend | epochs | fit (s) | AIS test LL | std err log Z |")
        print("| --- | ---: | ---: | ---: | ---: |")
        if args.recipe_numpy:
            with threadpool_limits(args.threads):
                r = recipe(make, X, X_test, m, n_betas, n_runs, lambda a: a)
            print(f"| numpy (CPU) | {r[0]} | {r[1]:.0f} | {r[2]:.2f} | {r[3]:.3f} |")
        elif m in README_RECIPE:
            e, f, ll, err = README_RECIPE[m]
            print(f"| numpy (CPU, benchmarks/README.md) | {e} | {f} | {ll} | {err} |")
        if args.recipe:
            with sklearn.config_context(array_api_dispatch=True):
                r = recipe(make, X, X_test, m, n_betas, n_runs, convert)
            print(
                f"| torch ({device}) | {r[0]} | {r[1]:.0f} | {r[2]:.2f} | {r[3]:.3f} |"
            )


if __name__ == "__main__":
    main()
