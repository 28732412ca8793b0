"""Generate the saved-model fixtures of ``tests/test_legacy_models.py``.

Run with the sklearn_rbm code of commit f48247a (version 0.1.0.dev0), from
the repository root of a checkout of that commit::

    git worktree add /tmp/legacy f48247a
    cd /tmp/legacy
    PYTHONPATH=. python tests/data/legacy_0_1_0/make_fixtures.py

It fits small seeded models and writes each of them, next to this script, in
three formats: ``<name>.pkl`` (``pickle``, protocol 4), ``<name>.joblib``
(``joblib.dump``) and ``<name>.skops`` (``sklearn_rbm.persistence.save``,
needs skops; the zip it writes is then recompressed with deflate, members
unchanged, to keep the files small). ``expected.npz`` holds the fixed inputs
(``in.<group>.<key>``), which group each model uses (``<name>.inputs``) and
the outputs each model gave right after fitting (``<name>.<key>``), including
those after one more ``partial_fit`` of a deep copy (``<name>.more.<key>``),
so that training is checked to continue bit-identically. The test recomputes
these outputs with the checked-out code; it does not import this script,
which only documents how the files were made and must never be rerun with
newer code (the point is to keep files written by 0.1.0.dev0).

The functions computing the outputs (:func:`rbm_outputs`,
:func:`recommender_outputs`) are duplicated in the test module on purpose;
running the test against the code that wrote the files checks they agree.
"""

import copy
import pickle
import sys
import zipfile
from pathlib import Path

import joblib
import numpy as np

HERE = Path(__file__).resolve().parent

#: ids that no fixture model has seen
UNKNOWN = 999


# ---------------------------------------------------------------- outputs
def _rbm_params(est):
    names = ["components_", "intercept_visible_", "intercept_hidden_"]
    if hasattr(est, "log_variance_"):
        names.append("log_variance_")
    out = {n: getattr(est, n) for n in names}
    out["n_iter_"] = np.asarray(est.n_iter_)
    return out


def rbm_outputs(est, inputs):
    """Outputs of a fitted BernoulliRBM / GaussianBernoulliRBM."""
    more = copy.deepcopy(est)  # before anything fills a cache
    out = _rbm_params(est)
    cached = est.log_partition_  # the log Z saved with the model, if any
    out["cached_log_z"] = np.asarray(np.nan if cached is None else cached.log_z)
    X = inputs["X_eval"]
    out["transform"] = est.transform(X)
    out["free_energy"] = est.free_energy(X)
    out["score_samples"] = est.score_samples(X)
    out["sample"] = est.sample(3, n_steps=5, random_state=1)
    more.partial_fit(inputs["X_more"])
    for k, v in _rbm_params(more).items():
        out[f"more.{k}"] = v
    out["more.transform"] = more.transform(X)
    return out


def _rec_params(est):
    out = {
        n: getattr(est, n)
        for n in (
            "components_",
            "intercept_visible_",
            "intercept_hidden_",
            "classes_",
            "users_",
            "items_",
            "user_means_",
            "item_means_",
        )
    }
    for n in ("global_mean_", "n_iter_", "best_validation_rmse_"):
        out[n] = np.asarray(getattr(est, n))
    scores = est.validation_scores_
    out["validation_scores_"] = np.asarray([] if scores is None else scores, float)
    return out


def recommender_outputs(est, inputs):
    """Outputs of a fitted CategoricalRBMRecommender."""
    more = copy.deepcopy(est)
    out = _rec_params(est)
    pairs = inputs["pairs"]
    out["predict"] = est.predict(pairs)
    out["predict_proba"] = est.predict_proba(pairs)
    items, scores = est.recommend(inputs["rec_users"], n_items=5)
    out["recommend.items"] = items
    out["recommend.scores"] = scores
    cases = inputs["users"] if est.orientation == "user" else inputs["items"]
    out["transform"] = est.transform(cases)
    out["predict_new_user"] = est.predict_new_user(
        inputs["hist_items"], inputs["hist_ratings"], inputs["query_items"]
    )
    more.partial_fit(inputs["X_more"], inputs["y_more"])
    for k, v in _rec_params(more).items():
        out[f"more.{k}"] = v
    out["more.predict"] = more.predict(pairs)
    return out


# ----------------------------------------------------------------- models
def _digits():
    from sklearn.datasets import load_digits

    X = load_digits().data
    return (X / 16.0 > 0.5).astype(np.float64)


def _wine():
    from sklearn.datasets import load_wine

    X = load_wine().data
    return (X - X.mean(axis=0)) / X.std(axis=0)


def _ratings():
    from sklearn_rbm.datasets import make_ratings

    return make_ratings(n_users=40, n_items=30, random_state=0)


def _recommender_inputs(X, y):
    """Fixed queries; ``X, y`` are the ratings the model was trained on."""
    rated = {(int(u), int(i)) for u, i in X}
    users = np.unique(X[:, 0])
    items = np.unique(X[:, 1])
    # a small batch of new (user, item) pairs of known users and items
    rng = np.random.default_rng(7)
    new = []
    while len(new) < 8:
        pair = (int(rng.choice(users)), int(rng.choice(items)))
        if pair not in rated and pair not in new:
            new.append(pair)
    X_more = np.array(new, dtype=np.int64)
    y_more = rng.integers(1, 6, len(new)).astype(np.float64)
    pairs = np.array(
        [
            X[0],  # rated in training
            X[len(X) // 2],
            new[0],  # known user and item, not rated
            new[1],
            (UNKNOWN, X[0, 1]),  # unknown user
            (X[0, 0], UNKNOWN),  # unknown item
            (UNKNOWN, UNKNOWN),
        ],
        dtype=np.int64,
    )
    return {
        "pairs": pairs,
        "rec_users": np.array([users[0], users[1], users[-1], UNKNOWN]),
        "users": np.array([users[0], users[2], users[-1], UNKNOWN]),
        "items": np.array([items[0], items[2], items[-1], UNKNOWN]),
        "hist_items": np.array([items[0], items[1], items[3], items[4]]),
        "hist_ratings": np.array([5.0, 3.0, 4.0, 1.0]),
        "query_items": np.array([items[0], items[2], items[5], UNKNOWN]),
        "X_more": X_more,
        "y_more": y_more,
    }


def make_models():
    """The fixtures: ``{name: (fitted estimator, input group)}`` and the
    fixed inputs ``{input group: {key: array}}``."""
    from sklearn_rbm import (
        BernoulliRBM,
        CategoricalRBMRecommender,
        GaussianBernoulliRBM,
    )

    Xd = _digits()
    Xw = _wine()
    X, y = _ratings()
    groups = {
        "digits": {"X_eval": Xd[1000:1010], "X_more": Xd[200:232]},
        "wine": {"X_eval": Xw[:8], "X_more": Xw[150:]},
        "ratings": _recommender_inputs(X, y),
    }
    models = {}
    kw = dict(n_components=4, max_iter=3, random_state=0)
    models["bernoulli_fit"] = (BernoulliRBM(**kw).fit(Xd[:200]), "digits")
    est = BernoulliRBM(**kw).partial_fit(Xd[:100]).partial_fit(Xd[100:200])
    # the saved state holds a cached log Z: an AIS estimate, not the exact
    # value that score_samples computes when no estimate is cached
    est.log_partition(method="ais", n_betas=100, n_runs=4, random_state=0)
    models["bernoulli_partial_fit_logz"] = (est, "digits")

    est = GaussianBernoulliRBM(n_components=3, max_iter=3, random_state=0)
    models["gaussian_fit"] = (est.fit(Xw[:150]), "wine")

    base = dict(n_components=4, max_iter=3, random_state=0)
    variants = {
        "recommender_fit": {},
        "recommender_user_conditional": dict(orientation="user", conditional=True),
        "recommender_rank2": dict(rank=2),
        "recommender_fine_tune": dict(fine_tune_iter=2, fine_tune_learning_rate=3e-3),
    }
    for name, extra in variants.items():
        est = CategoricalRBMRecommender(**base, **extra).fit(X, y)
        models[name] = (est, "ratings")

    est = CategoricalRBMRecommender(**base).fit(X, y)
    # new ratings of a new user, of a new item and of a known unrated pair
    users, items = np.unique(X[:, 0]), np.unique(X[:, 1])
    new_user, new_item = int(users.max()) + 1, int(items.max()) + 1
    rated = {(int(u), int(i)) for u, i in X}
    known = next((int(u), int(i)) for u in users for i in items if (u, i) not in rated)
    X_new = np.array(
        [
            (new_user, items[0]),
            (new_user, items[1]),
            (new_user, new_item),
            (users[0], new_item),
            (users[1], new_item),
            known,
        ],
        dtype=np.int64,
    )
    y_new = np.array([4.0, 2.0, 5.0, 3.0, 1.0, 4.0])
    est.partial_fit(X_new, y_new)
    models["recommender_partial_fit"] = (est, "ratings_grown")
    groups["ratings_grown"] = _recommender_inputs(
        np.concatenate([X, X_new]), np.concatenate([y, y_new])
    )
    return models, groups


def _deflate(path):
    """Recompress the zip written by ``persistence.save`` (stored, not
    compressed) with deflate: same members, same bytes, a fifth of the size.
    skops reads either."""
    with zipfile.ZipFile(path) as z:
        members = [(info, z.read(info)) for info in z.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for info, data in members:
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)


def main():
    import sklearn
    import skops

    import sklearn_rbm
    from sklearn_rbm import persistence

    assert sklearn_rbm.__version__ == "0.1.0.dev0", sklearn_rbm.__version__
    expected = {
        "meta.sklearn_rbm_version": np.asarray(sklearn_rbm.__version__),
        "meta.numpy_version": np.asarray(np.__version__),
        "meta.python_version": np.asarray(sys.version.split()[0]),
        "meta.sklearn_version": np.asarray(sklearn.__version__),
        "meta.joblib_version": np.asarray(joblib.__version__),
        "meta.skops_version": np.asarray(skops.__version__),
    }
    models, groups = make_models()
    for group, inputs in groups.items():
        for k, v in inputs.items():
            expected[f"in.{group}.{k}"] = np.asarray(v)
    for name, (est, group) in models.items():
        # save first: computing the outputs fills caches (an exact log Z)
        with open(HERE / f"{name}.pkl", "wb") as f:
            pickle.dump(est, f, protocol=4)
        joblib.dump(est, HERE / f"{name}.joblib")
        persistence.save(est, HERE / f"{name}.skops")
        _deflate(HERE / f"{name}.skops")
        outputs = recommender_outputs if name.startswith("rec") else rbm_outputs
        expected[f"{name}.inputs"] = np.asarray(group)
        for k, v in outputs(est, groups[group]).items():
            expected[f"{name}.{k}"] = np.asarray(v)
    np.savez_compressed(HERE / "expected.npz", **expected)
    print(f"wrote {len(expected)} arrays to {HERE / 'expected.npz'}")


if __name__ == "__main__":
    main()
