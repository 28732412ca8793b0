"""Seconds per epoch and peak memory of CategoricalRBMRecommender at scale.

A synthetic Netflix-shaped problem: 480,189 users x 17,770 items with 1M, 10M
and (optionally) 100M ratings, users and items drawn with Zipf-like
popularity, duplicates removed, ratings 1..5. Each size runs in its own
subprocess, which reports the wall time of one training epoch (from the
verbose epoch line), the whole fit, and its peak resident memory
(``ru_maxrss``, the loaded data included). The ratings are generated in chunks
of 5M as int32 arrays (never Python objects) by another subprocess and cached
as .npy files in ``--tmpdir`` (outside the repository).

    python benchmarks/bench_scale.py                 # 1M and 10M
    python benchmarks/bench_scale.py --sizes 1e6 1e7 1e8
    python benchmarks/bench_scale.py --fine-tune     # + one fine-tuning epoch
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

N_USERS, N_ITEMS = 480_189, 17_770
# the SMH (2007) setting: one case per user, 100 hidden units, minibatches of
# 1000 users, CD-1 with a sampled negative phase (T is raised later in
# training; a CD-T epoch costs about (1 + T) / 2 times a CD-1 epoch; the
# mean-field negative phase costs more, see --negative-visible)
PARAMS = {
    "n_components": 100,
    "orientation": "user",
    "batch_size": 1000,
    "learning_rate": 0.05,
    "max_iter": 1,
    "cd_steps": 1,
    "negative_visible": "sample",
    "early_stopping": False,
    "verbose": 1,
    "random_state": 0,
}


def synthetic(n_ratings, seed=0, chunk=5_000_000):
    """``(users int32, items int32, ratings int8)`` without duplicate pairs."""
    rng = np.random.default_rng(seed)
    # Zipf-like popularity via a power of a uniform variate; popular pairs
    # repeat, so each round draws what is missing divided by the observed
    # rate of new pairs per draw (few rounds of np.unique)
    keys = np.zeros(0, dtype=np.int64)
    rate = 1.0
    while len(keys) < n_ratings:
        need = int((n_ratings - len(keys)) / rate * 1.1) + 1000
        new = [keys]
        for s in range(0, need, chunk):
            m = min(chunk, need - s)
            u = (N_USERS * rng.random(m) ** 1.6).astype(np.int64)
            i = (N_ITEMS * rng.random(m) ** 2.5).astype(np.int64)
            new.append(u * N_ITEMS + i)
        before = len(keys)
        keys = np.unique(np.concatenate(new))
        del new
        rate = max((len(keys) - before) / need, 0.01)
    keys = [keys]
    key = rng.permutation(keys[0])[:n_ratings]
    users = (key // N_ITEMS).astype(np.int32)
    items = (key % N_ITEMS).astype(np.int32)
    del key, keys
    # ratings: a user offset plus an item offset, rounded to 1..5
    ub = rng.normal(0, 0.5, N_USERS).astype(np.float32)
    ib = rng.normal(0, 0.7, N_ITEMS).astype(np.float32)
    r = np.empty(n_ratings, dtype=np.int8)
    for s in range(0, n_ratings, chunk):
        sl = slice(s, s + chunk)
        z = 3.6 + ub[users[sl]] + ib[items[sl]] + rng.normal(0, 0.8, len(r[sl]))
        r[sl] = np.clip(np.rint(z), 1, 5)
    return users, items, r


def generate(n_ratings, path):
    """Subprocess: generate the ratings and save them (uncompressed .npy)."""
    import resource

    t0 = time.perf_counter()
    u, i, r = synthetic(n_ratings)
    X = np.empty((len(u), 2), dtype=np.int32)
    X[:, 0], X[:, 1] = u, i
    np.save(path + ".X.npy", X)
    np.save(path + ".y.npy", r)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps({"generate_s": time.perf_counter() - t0, "rss_gb": rss}))


def child(path, negative_visible, batch_size, fine_tune):
    """Subprocess: load the saved ratings, fit one epoch, report time and
    peak RSS (the data arrays included, the generator not)."""
    import io
    import resource
    from contextlib import redirect_stdout

    from sklearn_rbm import CategoricalRBMRecommender

    X = np.load(path + ".X.npy")
    r = np.load(path + ".y.npy")
    buf = io.StringIO()
    t0 = time.perf_counter()
    with redirect_stdout(buf):
        params = dict(
            PARAMS,
            negative_visible=negative_visible,
            batch_size=batch_size,
            fine_tune_iter=int(fine_tune),
        )
        CategoricalRBMRecommender(**params).fit(X, r)
    fit_s = time.perf_counter() - t0
    times = [float(t) for t in re.findall(r"time = ([0-9.]+)s", buf.getvalue())]
    epoch_s = times[0]
    fine_tune_s = times[1] if fine_tune else float("nan")
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        json.dumps(
            {
                "n_ratings": len(r),
                "epoch_s": epoch_s,
                "fine_tune_s": fine_tune_s,
                "fit_s": fit_s,
                "peak_rss_gb": rss_gb,
            }
        )
    )


def _run(args):
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e6, 1e7])
    ap.add_argument(
        "--negative-visible", default="sample", choices=["sample", "mean_field"]
    )
    ap.add_argument(
        "--batch-size",
        type=int,
        default=PARAMS["batch_size"],
        help="users per minibatch (fewer, larger steps amortise the update of W)",
    )
    ap.add_argument(
        "--tmpdir", default=tempfile.gettempdir(), help="where the data is cached"
    )
    ap.add_argument(
        "--fine-tune",
        action="store_true",
        help="after the CD epoch, one epoch of discriminative fine-tuning "
        "(fine_tune_iter=1), timed separately",
    )
    ap.add_argument("--generate", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.generate:
        generate(int(float(args.generate[0])), args.generate[1])
        return
    if args.child:
        child(args.child, args.negative_visible, args.batch_size, args.fine_tune)
        return
    params = dict(
        PARAMS,
        negative_visible=args.negative_visible,
        batch_size=args.batch_size,
        fine_tune_iter=int(args.fine_tune),
    )
    print(
        f"Synthetic Netflix shape {N_USERS:,} users x {N_ITEMS:,} items; "
        f"params {params}"
    )
    print(
        "\n| ratings | epoch (s) | s per 1M ratings | fine-tuning epoch (s) "
        "| fit incl. setup (s) | peak RSS of the fit (GiB) | generation (s) "
        "| peak RSS generating (GiB) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = []
    for n in args.sizes:
        path = os.path.join(args.tmpdir, f"sklearn_rbm_scale_{int(n)}")
        try:
            if os.path.exists(path + ".y.npy"):
                gen = {"generate_s": float("nan"), "rss_gb": float("nan")}
            else:
                gen = _run(["--generate", str(n), path])
            res = _run(
                [
                    "--child",
                    path,
                    "--negative-visible",
                    args.negative_visible,
                    "--batch-size",
                    str(args.batch_size),
                    *(["--fine-tune"] if args.fine_tune else []),
                ]
            )
        except RuntimeError as exc:
            print(f"| {int(n):,} | failed: {exc} |")
            continue
        rows.append(res)
        print(
            f"| {res['n_ratings']:,} | {res['epoch_s']:.1f} | "
            f"{res['epoch_s'] / res['n_ratings'] * 1e6:.2f} | "
            f"{res['fine_tune_s']:.1f} | {res['fit_s']:.1f} | "
            f"{res['peak_rss_gb']:.2f} | {gen['generate_s']:.0f} | "
            f"{gen['rss_gb']:.2f} |",
            flush=True,
        )
    if rows and max(r["n_ratings"] for r in rows) < 1e8:
        big = max(rows, key=lambda r: r["n_ratings"])
        est = big["epoch_s"] / big["n_ratings"] * 1e8
        print(f"\nLinear extrapolation to 100M ratings: {est:.0f} s per epoch.")


if __name__ == "__main__":
    main()
