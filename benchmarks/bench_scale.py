"""Seconds per epoch and peak memory of CategoricalRBMRecommender at scale.

A synthetic Netflix-shaped problem: 480,189 users x 17,770 items with 1M, 10M
and (optionally) 100M ratings, users and items drawn with Zipf-like
popularity, duplicates removed, ratings 1..5. Each size runs in its own
subprocess, which reports the wall time of one training epoch (from the
verbose epoch line), the whole fit, and its peak resident memory
(``ru_maxrss``). The ratings are generated in chunks of 5M as int32 arrays
(never Python objects).

    python benchmarks/bench_scale.py                 # 1M and 10M
    python benchmarks/bench_scale.py --sizes 1e6 1e7 1e8
"""

import argparse
import json
import re
import subprocess
import sys
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
    # Zipf-like popularity via a power of a uniform variate
    keys = []
    have = 0
    while have < n_ratings:
        m = min(chunk, int((n_ratings - have) * 1.05) + 1000)
        u = (N_USERS * rng.random(m) ** 1.6).astype(np.int64)
        i = (N_ITEMS * rng.random(m) ** 2.5).astype(np.int64)
        keys.append(u * N_ITEMS + i)
        have += m
        if have >= n_ratings:
            k = np.unique(np.concatenate(keys))
            keys = [k]
            have = len(k)
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


def child(n_ratings, negative_visible, batch_size):
    import io
    import resource
    from contextlib import redirect_stdout

    from sklearn_rbm import CategoricalRBMRecommender

    t0 = time.perf_counter()
    u, i, r = synthetic(n_ratings)
    gen_s = time.perf_counter() - t0
    rss_gen = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    X = np.empty((len(u), 2), dtype=np.int32)
    X[:, 0], X[:, 1] = u, i
    del u, i
    buf = io.StringIO()
    t0 = time.perf_counter()
    with redirect_stdout(buf):
        params = dict(PARAMS, negative_visible=negative_visible, batch_size=batch_size)
        CategoricalRBMRecommender(**params).fit(X, r)
    fit_s = time.perf_counter() - t0
    epoch_s = float(re.search(r"time = ([0-9.]+)s", buf.getvalue()).group(1))
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        json.dumps(
            {
                "n_ratings": int(n_ratings),
                "generate_s": gen_s,
                "epoch_s": epoch_s,
                "fit_s": fit_s,
                "peak_rss_gb": rss_gb,
                "peak_rss_after_generation_gb": rss_gen,
            }
        )
    )


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
    ap.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(int(args.child), args.negative_visible, args.batch_size)
        return
    params = dict(
        PARAMS, negative_visible=args.negative_visible, batch_size=args.batch_size
    )
    print(
        f"Synthetic Netflix shape {N_USERS:,} users x {N_ITEMS:,} items; "
        f"params {params}"
    )
    print(
        "\n| ratings | epoch (s) | s per 1M ratings | fit incl. setup (s) "
        "| peak RSS (GiB) | of which data generation (GiB) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = []
    for n in args.sizes:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(n),
                "--negative-visible",
                args.negative_visible,
                "--batch-size",
                str(args.batch_size),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            print(f"| {int(n):,} | failed: {out.stderr.strip().splitlines()[-1]} |")
            continue
        res = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(res)
        print(
            f"| {res['n_ratings']:,} | {res['epoch_s']:.1f} | "
            f"{res['epoch_s'] / res['n_ratings'] * 1e6:.2f} | {res['fit_s']:.1f} | "
            f"{res['peak_rss_gb']:.2f} | {res['peak_rss_after_generation_gb']:.2f} |",
            flush=True,
        )
    if rows and max(r["n_ratings"] for r in rows) < 1e8:
        big = max(rows, key=lambda r: r["n_ratings"])
        est = big["epoch_s"] / big["n_ratings"] * 1e8
        print(f"\nLinear extrapolation to 100M ratings: {est:.0f} s per epoch.")


if __name__ == "__main__":
    main()
