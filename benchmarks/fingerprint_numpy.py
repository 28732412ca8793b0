"""Fingerprint of the numpy path: hashes of fitted models and their outputs.

Fits BernoulliRBM and GaussianBernoulliRBM on the digits (binarised /
standardised) in float64 and float32 with several option sets, then hashes
their parameters and the outputs of ``transform``, ``score_samples``,
``sample``, ``gibbs``, ``inverse_transform``, ``partial_fit``, AIS (fixed and
adaptive schedules, with the check) and RAISE, and of fits with sample
weights and ``sampler="pt"``.
Run it at two commits and compare the JSON files: identical hashes mean
bit-identical numpy results (how the Array API change was checked)::

    python benchmarks/fingerprint_numpy.py before.json   # at the old commit
    python benchmarks/fingerprint_numpy.py after.json
    diff before.json after.json && echo IDENTICAL

It also prints whether torch was imported (it must not be).
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

from sklearn_rbm import BernoulliRBM, GaussianBernoulliRBM


def h(*arrs):
    m = hashlib.sha256()
    for a in arrs:
        a = np.ascontiguousarray(np.asarray(a))
        m.update(str(a.dtype).encode())
        m.update(a.tobytes())
    return m.hexdigest()[:16]


out = {}
X = load_digits().data
Xb = (X > 7).astype(np.float64)
Xg = (X - X.mean(0)) / (X.std(0) + 1)
with threadpool_limits(1):
    for dt in (np.float64, np.float32):
        for kw in (
            {},
            dict(persistent=False, cd_steps=2, centering=False),
            dict(early_stopping=True, batch_size=20),
            dict(learning_rate_schedule="constant", momentum_schedule="constant"),
        ):
            r = BernoulliRBM(n_components=12, max_iter=3, random_state=0, **kw).fit(
                Xb.astype(dt)
            )
            key = f"B-{dt.__name__}-{sorted(kw.items())}"
            out[key] = h(
                r.components_,
                r.intercept_hidden_,
                r.intercept_visible_,
                r.transform(Xb[:50].astype(dt)),
                r.score_samples(Xb[:50].astype(dt)),
                r.sample(5, n_steps=10, random_state=1),
                r.gibbs(Xb[:5].astype(dt), random_state=2),
                r.inverse_transform(r.transform(Xb[:5].astype(dt))),
            )
            r.partial_fit(Xb[:300].astype(dt))
            out[key + "-pf"] = h(
                r.components_, r.intercept_hidden_, r.intercept_visible_
            )
        # issue 18's options: sample weights, PT-PCD, tempering samples
        sw = np.random.default_rng(0).uniform(0.0, 2.0, Xb.shape[0])
        for kw in (dict(sampler="pt", n_temperatures=3), dict(early_stopping=True)):
            r = BernoulliRBM(n_components=12, max_iter=2, random_state=0, **kw)
            r.fit(Xb.astype(dt), sample_weight=sw)
            r.partial_fit(Xb[:300].astype(dt), sample_weight=sw[:300])
            out[f"B-sw-{dt.__name__}-{sorted(kw.items())}"] = h(
                r.components_,
                r.intercept_hidden_,
                r.intercept_visible_,
                r.sample(5, n_steps=10, method="tempering", random_state=1),
            )
        g = GaussianBernoulliRBM(n_components=10, max_iter=2, random_state=0)
        g.fit(Xg.astype(dt), sample_weight=sw)
        out[f"G-sw-{dt.__name__}"] = h(g.components_, g.log_variance_)
        r = BernoulliRBM(n_components=30, max_iter=2, random_state=0).fit(Xb.astype(dt))
        lz = r.log_partition(method="ais", n_betas=200, n_runs=10, random_state=0)
        out[f"ais-{dt.__name__}"] = repr((lz.log_z, lz.std_err, lz.log_z_check))
        lz = r.log_partition(
            method="ais", n_betas=200, n_runs=10, schedule="adaptive", random_state=0
        )
        out[f"ais-adaptive-{dt.__name__}"] = repr((lz.log_z, lz.log_z_check))
        out[f"raise-{dt.__name__}"] = h(
            r.score_samples_raise(
                Xb[:10].astype(dt), n_betas=100, n_runs=2, random_state=0
            )
        )
        for kw in ({}, dict(learn_variance=False), dict(persistent=False)):
            g = GaussianBernoulliRBM(
                n_components=10, max_iter=3, random_state=0, **kw
            ).fit(Xg.astype(dt))
            key = f"G-{dt.__name__}-{sorted(kw.items())}"
            out[key] = h(
                g.components_,
                g.intercept_hidden_,
                g.intercept_visible_,
                g.log_variance_,
                g.transform(Xg[:50].astype(dt)),
                g.score_samples(Xg[:50].astype(dt)),
                g.sample(5, n_steps=10, random_state=1),
            )
        g = GaussianBernoulliRBM(n_components=30, max_iter=2, random_state=0).fit(
            Xg.astype(dt)
        )
        lz = g.log_partition(method="ais", n_betas=200, n_runs=10, random_state=0)
        out[f"G-ais-{dt.__name__}"] = repr((lz.log_z, lz.std_err, lz.log_z_check))
        out[f"G-raise-{dt.__name__}"] = h(
            g.score_samples_raise(
                Xg[:10].astype(dt), n_betas=100, n_runs=2, random_state=0
            )
        )
Path(sys.argv[1]).write_text(json.dumps(out, indent=1))
print(len(out), "entries; torch imported:", "torch" in sys.modules)
