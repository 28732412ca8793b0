"""Checks of a loaded recommender before it is used.

Called from ``VersionedStateMixin.__setstate__`` through
``CategoricalRBMRecommender._check_loaded_state``; the helpers and the
checks of the training and optimiser states are in
:mod:`sklearn_rbm.training.checks`. Stored indices reach sparse products
(``scipy.sparse`` does not check them: an index out of range crashes the
interpreter), so everything that indexes is bounded here: the rating store
(``ptr``, ``var``, ``k``) and the id tables (``order``). An unfitted
recommender (no training state) is not checked.
"""

import numpy as np

from ..training import checks
from ..training.state import RatingState
from . import ranking
from .ids import IdIndex
from .store import RatingStore
from .trainer import STRUCTURAL


def check_recommender(est):
    """Validate the fitted state of a recommender; raise ValueError."""
    d = vars(est)
    if "estimators_" in d or d.get("_structure", {}).get("orientation") == "both":
        return _check_both(est)
    if "_state" not in d:
        return  # unfitted
    for attr in ("_store", "_users", "_items", "classes_", "users_", "items_"):
        if attr not in d:
            checks.invalid(attr, "is missing (the model is fitted)")
    structure = _check_structure(est)
    n_users = _check_ids("_users", d["_users"], d["users_"], "users_")
    n_items = _check_ids("_items", d["_items"], d["items_"], "items_")
    if structure["orientation"] == "user":
        n_cases, n_vars, cases, variables = n_users, n_items, "users", "items"
    else:
        n_cases, n_vars, cases, variables = n_items, n_users, "items", "users"
    classes = checks.array("classes_", d["classes_"], (None,), kind="n")
    K = len(classes)
    if K == 0:
        checks.invalid("classes_", "is empty")
    if K > 1 and not np.all(classes[1:] > classes[:-1]):
        checks.invalid("classes_", "is not sorted and unique")

    H, rank = structure["n_components"], structure["rank"]
    shapes = {"b": (n_vars, K), "c": (H,)}
    if rank is None:
        shapes["W3"] = (n_vars, K, H)
    else:
        shapes.update(A=(n_vars, K, rank), B=(rank, H))
    if structure["conditional"]:
        shapes["D"] = (n_vars, H)
    state = d["_state"]
    checks.train_state("_state", state, RatingState, shapes)
    p = state.params
    if p["b"].dtype != np.dtype(structure["dtype"]):
        checks.invalid(
            "_state.params",
            f"have dtype {p['b'].dtype}, fitted as {structure['dtype']}",
        )
    _check_opt(state.opt, p, n_vars)
    state.serving = None  # derived values: never saved, rebuilt on use

    _check_store(d["_store"], n_cases, n_vars, K, cases, variables)
    _check_fallback(d, n_users, n_items)
    if "n_features_in_" in d:
        checks.integer("n_features_in_", d["n_features_in_"], low=2, high=2)
    names = d.get("feature_names_in_")
    if names is not None and (not isinstance(names, np.ndarray) or names.shape != (2,)):
        checks.invalid("feature_names_in_", "must be an array of 2 names")
    if "n_iter_" in d:
        checks.integer("n_iter_", d["n_iter_"])
    if d.get("feedback_", "explicit") not in ("explicit", "implicit"):
        checks.invalid("feedback_", "must be 'explicit' or 'implicit'")
    if "_ranking" in d:
        ranking.check_state("_ranking", d["_ranking"], n_items, structure["dtype"])
    if "_ranking_lateral" in d:
        if "_ranking" not in d:
            checks.invalid("_ranking_lateral", "is present without _ranking")
        ranking.check_lateral(
            "_ranking_lateral", d["_ranking_lateral"], n_items, structure["dtype"]
        )


def _check_structure(est, both=False):
    """The structural parameters of the fit (``_structure``, or the
    constructor's for models saved before it was recorded)."""
    fitted = est.__dict__.get("_structure")
    if fitted is not None and (
        not isinstance(fitted, dict) or set(fitted) != set(STRUCTURAL)
    ):
        checks.invalid("_structure", f"must be a dict of {list(STRUCTURAL)}")
    s = est._fit_structure()
    where = "_structure" if fitted is not None else "the structural parameters"
    allowed = ("user", "item", "both") if both else ("user", "item")
    if s["orientation"] not in allowed:
        checks.invalid(f"{where}['orientation']", f"is {s['orientation']!r}")
    if s["dtype"] not in ("float32", "float64"):
        checks.invalid(f"{where}['dtype']", f"is {s['dtype']!r}")
    checks.integer(f"{where}['n_components']", s["n_components"], low=1)
    if s["rank"] is not None:
        checks.integer(f"{where}['rank']", s["rank"], low=1)
    if not isinstance(s["conditional"], bool | np.bool_):
        checks.invalid(f"{where}['conditional']", "must be a bool")
    return s


def _check_both(est):
    """``orientation="both"``: two fitted models, item- then user-based (each
    checked when it was loaded), sharing the classes and ids published by
    the estimator; no single-model state."""
    d = vars(est)
    if not isinstance(d.get("_structure"), dict):
        checks.invalid("_structure", "is missing (orientation='both')")
    if _check_structure(est, both=True)["orientation"] != "both":
        checks.invalid("estimators_", "is only fitted with orientation='both'")
    parts = d.get("estimators_")
    if not isinstance(parts, list) or len(parts) != 2:
        checks.invalid("estimators_", "must be a list of two models")
    for i, (part, orientation) in enumerate(zip(parts, ("item", "user"))):
        where = f"estimators_[{i}]"
        checks.instance(where, part, type(est))
        if "_state" not in vars(part):
            checks.invalid(where, "is not fitted")
        if part._fit_structure()["orientation"] != orientation:
            checks.invalid(where, f"is not {orientation}-based")
    for attr in ("_state", "_store"):
        if attr in d:
            checks.invalid(attr, "is set on a model with orientation='both'")
    for attr in ("classes_", "users_", "items_"):
        mine = d.get(attr)
        for i, part in enumerate(parts):
            theirs = vars(part).get(attr)
            if not (
                isinstance(mine, np.ndarray)
                and isinstance(theirs, np.ndarray)
                and mine.dtype == theirs.dtype
                and np.array_equal(mine, theirs)
            ):
                checks.invalid(attr, f"differs from estimators_[{i}].{attr}")
    for attr, public in (("_users", "users_"), ("_items", "items_")):
        if attr not in d:
            checks.invalid(attr, "is missing (the model is fitted)")
        _check_ids(attr, d[attr], d[public], public)
    _check_fallback(d, len(d["users_"]), len(d["items_"]))


def _check_ids(where, index, public, public_name):
    """An :class:`IdIndex`: 1-d int or str ids, ``order`` a permutation that
    sorts them, ``sorted == ids[order]`` strictly increasing (no duplicate
    ids); the public ``users_`` / ``items_`` equal to its ids. O(n)."""
    checks.instance(where, index, IdIndex)
    for name in ("ids", "order", "sorted"):
        if name not in vars(index):
            checks.invalid(f"{where}.{name}", "is missing")
    ids = checks.array(f"{where}.ids", index.ids, (None,), kind="id")
    n = len(ids)
    order = checks.indices(f"{where}.order", index.order, n, "ids")
    checks.array(f"{where}.order", order, (n,), kind="i")
    if n and not np.all(np.bincount(order.astype(np.int64), minlength=n) == 1):
        checks.invalid(f"{where}.order", "is not a permutation")
    srt = checks.array(f"{where}.sorted", index.sorted, (n,), kind="id")
    if srt.dtype != ids.dtype or not np.array_equal(srt, ids[order]):
        checks.invalid(f"{where}.sorted", f"differs from {where}.ids[order]")
    if n > 1:
        step = srt[1:] > srt[:-1]
        if not step.all():
            i = int(np.flatnonzero(~step)[0])
            if srt[i] == srt[i + 1]:
                dup = srt[i : i + 1].tolist()[0]
                checks.invalid(f"{where}.ids", f"has the duplicate id {dup!r}")
            checks.invalid(f"{where}.sorted", "is not sorted")
    if not (
        isinstance(public, np.ndarray)
        and public.dtype == ids.dtype
        and np.array_equal(public, ids)
    ):
        checks.invalid(public_name, f"differs from {where}.ids")
    return n


def _check_store(store, n_cases, n_vars, K, cases, variables):
    """The :class:`RatingStore`: ``ptr`` (n_cases + 1,) monotone from 0 to
    the number of entries, ``var`` in [0, n_vars), ``k`` in [0, K)."""
    where = "_store"
    checks.instance(where, store, RatingStore)
    for name in ("var", "k", "ptr", "n_cases"):
        if name not in vars(store):
            checks.invalid(f"{where}.{name}", "is missing")
    if checks.integer(f"{where}.n_cases", store.n_cases) != n_cases:
        checks.invalid(
            f"{where}.n_cases", f"is {store.n_cases}, not {n_cases} ({cases})"
        )
    var = checks.indices(f"{where}.var", store.var, n_vars, variables)
    checks.array(f"{where}.k", store.k, (len(var),), kind="i")
    checks.indices(f"{where}.k", store.k, K, "rating values")
    ptr = checks.array(f"{where}.ptr", store.ptr, (n_cases + 1,), kind="i")
    if ptr[0] != 0:
        checks.invalid(f"{where}.ptr", f"starts at {ptr[0]}, not 0")
    if ptr[-1] != len(var):
        checks.invalid(f"{where}.ptr", f"ends at {ptr[-1]}, not {len(var)} (entries)")
    if n_cases and np.any(ptr[1:] < ptr[:-1]):
        checks.invalid(f"{where}.ptr", "is not monotone")


def _check_fallback(d, n_users, n_items):
    """The statistics of the fallback for unknown ids."""
    if "global_mean_" in d:
        checks.real("global_mean_", d["global_mean_"])
    for attr, n in (
        ("user_means_", n_users),
        ("_user_sum", n_users),
        ("_user_cnt", n_users),
        ("item_means_", n_items),
        ("_item_sum", n_items),
        ("_item_cnt", n_items),
    ):
        if attr in d:
            a = checks.array(attr, d[attr], (n,))
            if attr.endswith("_cnt") and a.size and a.min() < 0:
                checks.invalid(attr, "has negative counts")


def _check_opt(opt, params, n_vars):
    """One optimiser state per phase: lazy momentum (``cd``), Adam
    (``fine_tune``)."""
    if not isinstance(opt, dict):
        checks.invalid("_state.opt", f"must be a dict, got {type(opt).__name__}")
    extra = sorted(map(str, set(opt) - {"cd", "fine_tune"}))
    if extra:
        checks.invalid("_state.opt", f"has unknown phases {extra}")
    if "cd" in opt:
        checks.lazy_momentum_state("_state.opt['cd']", opt["cd"], params, n_vars)
    if "fine_tune" in opt:
        checks.adam_state("_state.opt['fine_tune']", opt["fine_tune"], params)
