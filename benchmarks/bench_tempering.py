"""Mixing of parallel tempering against plain Gibbs on a trained MNIST RBM.

Trains a 500-hidden BernoulliRBM on thresholded MNIST (the recipe of
``bench_bernoulli.py`` for ``--epochs`` epochs, one BLAS thread; with
``--defaults``, the package's defaults with ``n_components=500``), then runs,
for the same number of chains at the model's temperature:

* plain block Gibbs (``engine.gibbs.gibbs_chain``), and
* parallel tempering (``engine.tempering.ParallelTempering``) with
  ``--temperatures`` replicas per chain, its ladder adapted during burn-in
  and fixed while measuring,

each for ``--seconds`` of wall-clock time after its burn-in. It prints the
effective sample size per second (summed over chains; Geyer's initial
positive sequence estimator of each chain's autocorrelation time) of three
statistics of the ``beta = 1`` states: the free energy, the number of pixels
on, the mean of the 28 pixels of the middle row, and the digit class (a
logistic regression fitted on 10,000 training images gives each state's
class probabilities; the ESS is the mean over the ten classes of the ESS of
``P(class k)``: the statistic that tracks switches between modes); and PT's
ratio to Gibbs. Observables are computed after the run from the stored states (the
timing covers the sampler only).

Usage::

    python benchmarks/bench_tempering.py [--epochs 20] [--chains 20]
        [--seconds 30] [--temperatures 5 10 20] [--defaults]
        [--override JSON] [--swap-every N] [--swap-states marginal joint]
        [--model FILE] [--data DIR]
    python benchmarks/bench_tempering.py --swap-cost [--temperatures 3 5 10]
"""

import argparse
import json
import os
import pickle
import platform
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_bernoulli import RECIPE, find_mnist, load  # noqa: E402

from sklearn_rbm import BernoulliRBM  # noqa: E402
from sklearn_rbm.engine.gibbs import DenseChain, free_energy, gibbs_chain  # noqa: E402
from sklearn_rbm.engine.tempering import ParallelTempering  # noqa: E402


def ess_ips(x):
    """Effective sample size of one chain ``x`` (Geyer 1992, initial positive
    sequence): ``T / tau`` with ``tau = -1 + 2 sum_m Gamma_m`` over the leading
    positive pair sums ``Gamma_m = rho_{2m} + rho_{2m+1}`` of the
    autocorrelations."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    x = x - x.mean()
    var = x.var()
    if var == 0:
        return 0.0
    f = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(f * np.conj(f))[:n] / (n * var)
    tau = -1.0
    for m in range(n // 2):
        gamma = acf[2 * m] + acf[2 * m + 1]
        if gamma <= 0:
            break
        tau += 2.0 * gamma
    return n / max(tau, 1.0)


def observables(model, states, classifier):
    """(T, n_chains) arrays of the statistics of the stored states (the
    digit class: (T, n_chains, 10) class probabilities)."""
    T, n, d = states.shape
    flat = states.reshape(T * n, d).astype(model.components_.dtype)
    energy = free_energy(model._family(), flat, model._params()).reshape(T, n)
    on = flat.sum(axis=1).reshape(T, n)
    row = flat[:, 14 * 28 : 15 * 28].mean(axis=1).reshape(T, n)
    proba = np.concatenate(
        [classifier.predict_proba(flat[s : s + 20000]) for s in range(0, T * n, 20000)]
    ).reshape(T, n, -1)
    return {
        "free energy": energy,
        "pixels on": on,
        "middle row": row,
        "digit class": proba,
    }


def ess_chains(o):
    """ESS summed over the chains (the columns of ``o``); for class
    probabilities ``(T, n, K)``, the mean over the K classes."""
    if o.ndim == 3:
        return float(np.mean([ess_chains(o[:, :, k]) for k in range(o.shape[2])]))
    return sum(ess_ips(o[:, j]) for j in range(o.shape[1]))


def run_gibbs(model, v0, seconds, burn_in, rng):
    chain = DenseChain(model._family(), model._params())
    h = chain.sample_hidden(chain.hidden_proba(v0), rng)
    for _ in range(burn_in):
        _, _, h = gibbs_chain(chain, h, 1, rng)
    states = []
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        v, _, h = gibbs_chain(chain, h, 1, rng)
        states.append(v.astype(bool))
    return np.array(states), time.perf_counter() - t0


def run_pt(
    model, base_b, v0, k, seconds, burn_in, rng, swap_every=1, swap_states="marginal"
):
    pt = ParallelTempering(
        model._family(),
        model._params(),
        base_b,
        v0.shape[0],
        k,
        rng,
        v0=v0,
        swap_states=swap_states,
    )
    for t in range(burn_in):
        pt.sweep(rng, adapt=True, adapt_rate=0.5 / np.sqrt(1.0 + t))
    pt.reset_rates()
    states = []
    t0 = time.perf_counter()
    t = 0
    while time.perf_counter() - t0 < seconds:
        pt.sweep(rng, swap=t % swap_every == 0)
        states.append(pt.top().astype(bool))
        t += 1
    return np.array(states), time.perf_counter() - t0, pt


def swap_cost(temperatures, n_chains=20, n_sweeps=200):
    """Print the share of a PT sweep that the swap round takes (a random
    784 x 500 float32 model: the timing does not depend on the weights)."""
    from sklearn_rbm.engine.families import Bernoulli

    rng = np.random.default_rng(0)
    prm = {
        "W": rng.normal(0, 0.05, (500, 784)).astype(np.float32),
        "b": rng.normal(-1, 1, 784).astype(np.float32),
        "c": rng.normal(0, 1, 500).astype(np.float32),
    }
    base_b = np.full(784, -1.0, np.float32)
    print("| swaps | temperatures | ms per sweep without / with swaps | swap share |")
    print("| --- | ---: | ---: | ---: |")
    with threadpool_limits(1, user_api="blas"):
        for mode in ("marginal", "joint"):
            for k in temperatures:
                pt = ParallelTempering(
                    Bernoulli(), prm, base_b, n_chains, k, rng, swap_states=mode
                )
                for _ in range(20):
                    pt.sweep(rng)
                times = {}
                for swap in (False, True, False, True):  # best of two each
                    t0 = time.perf_counter()
                    for _ in range(n_sweeps):
                        pt.sweep(rng, swap=swap)
                    t = (time.perf_counter() - t0) / n_sweeps * 1e3
                    times[swap] = min(times.get(swap, np.inf), t)
                share = (times[True] - times[False]) / times[True]
                print(
                    f"| {mode} | {k} | {times[False]:.2f} / {times[True]:.2f} | "
                    f"{share:.0%} |"
                )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--chains", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--burn-in", type=int, default=500)
    ap.add_argument("--temperatures", type=int, nargs="+", default=[5, 10, 20])
    ap.add_argument(
        "--defaults",
        action="store_true",
        help="train BernoulliRBM(n_components=500, max_iter=EPOCHS) with the "
        "package's defaults (the model a user gets) instead of the recipe",
    )
    ap.add_argument(
        "--override",
        default="{}",
        help="JSON object of settings that replace the recipe's (or the "
        "defaults'), e.g. '{\"persistent\": false}' for a CD-1-trained model",
    )
    ap.add_argument(
        "--swap-every",
        type=int,
        default=1,
        help="PT proposes swaps every this many sweeps while measuring "
        "(every sweep during burn-in, where the ladder adapts)",
    )
    ap.add_argument(
        "--swap-states",
        nargs="+",
        choices=["marginal", "joint"],
        default=["marginal"],
        help="what PT's swaps compare: visible states with the hidden units "
        "summed out, or the sweep's (v, h); several run one after the other",
    )
    ap.add_argument(
        "--model",
        help="pickle file of the trained model: loaded if it exists (no "
        "training), else written after training; the settings must match",
    )
    ap.add_argument(
        "--swap-cost",
        action="store_true",
        help="only time the swap round against the sweep (a random model, "
        "no data), for marginal and joint swaps",
    )
    args = ap.parse_args()
    if args.swap_cost:
        return swap_cost(args.temperatures)
    os.environ["SKLEARN_RBM_BLAS_THREADS"] = "1"
    X, _ = load(find_mnist(args.data))
    labels = np.load(find_mnist(args.data))["y_train"]
    print(
        f"# bench_tempering ({platform.machine()}, {os.cpu_count()} cores, "
        f"numpy {np.__version__}, one BLAS thread, load average "
        f"{os.getloadavg()[0]:.1f}; thresholded MNIST)\n"
    )
    with threadpool_limits(1, user_api="blas"):
        t0 = time.perf_counter()
        settings = dict(n_components=500) if args.defaults else RECIPE
        settings = dict(settings, **json.loads(args.override))
        model = BernoulliRBM(**dict(settings, max_iter=args.epochs), random_state=0)
        saved = Path(args.model) if args.model else None
        if saved is not None and saved.exists():
            with saved.open("rb") as f:
                loaded = pickle.load(f)
            if loaded.get_params() != model.get_params():
                sys.exit(f"{saved} holds a model of other settings")
            model = loaded
            print(f"model: {settings}, {args.epochs} epochs, loaded from {saved}\n")
        else:
            model.fit(X)
            fit_s = time.perf_counter() - t0
            print(f"model: {settings}, {args.epochs} epochs, fit {fit_s:.0f} s\n")
            if saved is not None:
                with saved.open("wb") as f:
                    pickle.dump(model, f)
        classifier = LogisticRegression(max_iter=200).fit(X[:10000], labels[:10000])
        p = model._params()
        base_b = model._family().base_params(
            model._state.moments, p["W"].shape[0], p["W"].dtype
        )["b"]
        # every sampler starts from the same training images
        v0 = X[: args.chains].astype(p["W"].dtype)
        runs = {}
        states, secs = run_gibbs(
            model, v0, args.seconds, args.burn_in, np.random.default_rng(0)
        )
        runs["Gibbs"] = (states, secs, "")
        for mode, k in [(m, k) for m in args.swap_states for k in args.temperatures]:
            states, secs, pt = run_pt(
                model,
                base_b,
                v0,
                k,
                args.seconds,
                args.burn_in,
                np.random.default_rng(0),
                args.swap_every,
                mode,
            )
            ladder = (
                f"betas {pt.betas.min():.3f}..1, swap rates "
                f"{pt.swap_rates.min():.2f}-{pt.swap_rates.max():.2f}"
            )
            every = (
                f", swaps every {args.swap_every} sweeps" if args.swap_every > 1 else ""
            )
            joint = ", joint swaps" if mode == "joint" else ""
            runs[f"PT, {k} temperatures{joint}{every}"] = (states, secs, ladder)
    rows, gibbs_rate = [], None
    for label, (states, secs, ladder) in runs.items():
        obs = observables(model, states, classifier)
        ess = {name: ess_chains(o) for name, o in obs.items()}
        rate = {name: e / secs for name, e in ess.items()}
        if gibbs_rate is None:
            gibbs_rate = rate
        rows.append((label, states.shape[0], secs, rate, ladder))
    names = list(gibbs_rate)
    print(
        "| sampler | sweeps | s | "
        + " | ".join(f"ESS/s {n} (x Gibbs)" for n in names)
        + " | ladder after burn-in |"
    )
    print("| --- | ---: | ---: | " + " | ".join("---:" for _ in names) + " | --- |")
    for label, sweeps, secs, rate, ladder in rows:
        cells = " | ".join(
            f"{rate[n]:.1f} ({rate[n] / max(gibbs_rate[n], 1e-12):.2f}x)" for n in names
        )
        print(f"| {label} | {sweeps} | {secs:.0f} | {cells} | {ladder} |")
    print(f"\n(load average at the end {os.getloadavg()[0]:.1f}; {args.chains} chains)")


if __name__ == "__main__":
    main()
