"""Loading never trusts content (issue 16, item 1).

A model file is data: a skops file holds only trusted types, but their values
are whatever the file says, and a pickle from a trusted source may still be
corrupt. Every estimator validates its state when it is loaded (pickle,
joblib, skops: ``VersionedStateMixin.__setstate__``) and raises a
``ValueError`` naming the attribute and the problem, before anything uses
it. Here every check is exercised by a corruption that only it catches
(the expected message is specific to it): ``MUTATIONS`` edits a fitted
model and saves it with pickle and with ``persistence.save``; the
``_tamper_skops`` tests edit the ``.npy`` files inside a skops zip, one of
them in a subprocess whose interpreter used to crash in ``predict``. The
command line never unpickles without ``--trusted-pickle``.
"""

import copy
import io
import json
import operator
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest

from sklearn_rbm import (
    BernoulliRBM,
    CategoricalRBMRecommender,
    GaussianBernoulliRBM,
    LogPartition,
)
from sklearn_rbm._compat import LegacyTrainState
from sklearn_rbm.cli import load_model, main
from sklearn_rbm.datasets import make_ratings
from sklearn_rbm.training.optimizers import AdamState, MomentumState
from sklearn_rbm.training.state import DenseState, TrainState

skops_io = pytest.importorskip("skops.io")
from sklearn_rbm import persistence  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ models
@pytest.fixture(scope="module")
def models():
    rng = np.random.default_rng(0)
    Xb = (rng.random((64, 10)) < 0.4).astype(np.float64)
    bern = BernoulliRBM(
        n_components=4, max_iter=2, batch_size=16, centering=True, random_state=0
    )
    bern.fit(Xb)
    bern.score(Xb)  # caches log Z
    Xg = rng.standard_normal((64, 6))
    gauss = GaussianBernoulliRBM(
        n_components=3, max_iter=2, batch_size=16, random_state=0
    ).fit(Xg)
    X, y = make_ratings(40, 20, density=0.3, random_state=0)
    rec = CategoricalRBMRecommender(
        n_components=4, max_iter=2, fine_tune_iter=1, batch_size=4, random_state=0
    ).fit(X, y)
    factored = CategoricalRBMRecommender(
        n_components=4,
        max_iter=2,
        rank=2,
        conditional=True,
        orientation="user",
        batch_size=4,
        random_state=0,
    ).fit(X, y)
    assert (len(rec.users_), len(rec.items_)) == (40, 20)
    return {"bern": bern, "gauss": gauss, "rec": rec, "factored": factored, "X": X}


def _pickle_load(est, tmp_path):
    return pickle.loads(pickle.dumps(est))


def _skops_load(est, tmp_path):
    path = tmp_path / "m.skops"
    persistence.save(est, path)
    return persistence.load(path)


def _joblib_load(est, tmp_path):
    path = tmp_path / "m.joblib"
    joblib.dump(est, path)
    return joblib.load(path)


LOADS = {"pickle": _pickle_load, "skops": _skops_load}


# --------------------------------------------------------------- mutations
def _set(obj, name, value):
    setattr(obj, name, value)


def _del(obj, name):
    delattr(obj, name)


def _item(a, index, value):
    operator.setitem(a, index, value)


def _set_param(e, name, value):
    e._state.params[name] = value


def _permute_bad(idx):
    idx.order = idx.order.copy()
    idx.order[1] = idx.order[0]


def _unsorted_ids(idx):
    # consistent with sorted == ids[order] and a permutation, but not sorted
    idx.ids = idx.ids[::-1].copy()
    idx.order = np.arange(len(idx.ids))
    idx.sorted = idx.ids.copy()


def _duplicate_id(idx):
    ids = idx.ids.copy()
    ids[1] = ids[0]
    idx.ids = ids
    idx.order = np.argsort(ids, kind="stable")
    idx.sorted = ids[idx.order]


def _ptr(store, fn):
    store.ptr = store.ptr.copy()
    fn(store.ptr)


def _ptr_not_monotone(p):
    p[1], p[2] = p[2], p[1]


def _pair_log_z(e, value):
    fp, est = e._state.cache["log_z"]
    e._state.cache["log_z"] = (fp, value)


def _lz(**kw):
    return LogPartition(**{"log_z": 1.0, "std_err": 0.0, "method": "exact", **kw})


def _legacy_state(e):
    old = e._state
    e._state = LegacyTrainState(
        params=old.params, velocity={}, rng=old.rng, lazy="not a dict"
    )


def _last_behind(st):
    st.coef = None
    st.last = st.last.copy()
    st.last[0] = st.t - 1


def _ids_float(idx):
    idx.ids = idx.ids.astype(np.float64)
    idx.sorted = idx.ids[idx.order]


# (model, mutation of a deep copy, regex of the message): one per check
MUTATIONS = {
    # ---------------------------------------------- the recommender's store
    "store.var too large": (
        "rec",
        lambda e: _item(e._store.var, 0, 9999),
        r"_store\.var has index 9999 >= 40 users",
    ),
    "store.var negative": (
        "rec",
        lambda e: _item(e._store.var, 3, -1),
        r"_store\.var has index -1 < 0",
    ),
    "store.var float": (
        "rec",
        lambda e: _set(e._store, "var", e._store.var.astype(np.float64)),
        r"_store\.var has dtype <f8, expected an integer dtype",
    ),
    "store.k too large": (
        "rec",
        lambda e: _item(e._store.k, 0, 5),
        r"_store\.k has index 5 >= 5 rating values",
    ),
    "store.k length": (
        "rec",
        lambda e: _set(e._store, "k", e._store.k[:-1].copy()),
        r"_store\.k has shape \(\d+,\), expected \(\d+,\)",
    ),
    "store.ptr length": (
        "rec",
        lambda e: _set(e._store, "ptr", e._store.ptr[:-1].copy()),
        r"_store\.ptr has shape \(20,\), expected \(21,\)",
    ),
    "store.ptr start": (
        "rec",
        lambda e: _ptr(e._store, lambda p: _item(p, 0, 1)),
        r"_store\.ptr starts at 1, not 0",
    ),
    "store.ptr end": (
        "rec",
        lambda e: _ptr(e._store, lambda p: _item(p, -1, p[-1] + 100)),
        r"_store\.ptr ends at \d+, not \d+ \(entries\)",
    ),
    "store.ptr not monotone": (
        "rec",
        lambda e: _ptr(e._store, _ptr_not_monotone),
        r"_store\.ptr is not monotone",
    ),
    "store.n_cases": (
        "rec",
        lambda e: _set(e._store, "n_cases", 21),
        r"_store\.n_cases is 21, not 20 \(items\)",
    ),
    "store missing field": (
        "rec",
        lambda e: _del(e._store, "k"),
        r"_store\.k is missing",
    ),
    "store wrong type": (
        "rec",
        lambda e: _set(e, "_store", e._users),
        r"_store must be of type RatingStore, got IdIndex",
    ),
    "store missing": (
        "rec",
        lambda e: _del(e, "_store"),
        r"_store is missing \(the model is fitted\)",
    ),
    # ------------------------------------------------------------ id tables
    "ids.order out of range": (
        "rec",
        lambda e: _item(e._users.order, 0, 40),
        r"_users\.order has index 40 >= 40 ids",
    ),
    "ids.order not a permutation": (
        "rec",
        lambda e: _permute_bad(e._items),
        r"_items\.order is not a permutation",
    ),
    "ids.sorted differs": (
        "rec",
        lambda e: _set(e._users, "sorted", e._users.sorted[::-1].copy()),
        r"_users\.sorted differs from _users\.ids\[order\]",
    ),
    "ids duplicate": (
        "rec",
        lambda e: _duplicate_id(e._items),
        r"_items\.ids has the duplicate id 0",
    ),
    "ids not sorted": (
        "rec",
        lambda e: _unsorted_ids(e._items),
        r"_items\.sorted is not sorted",
    ),
    "ids float": (
        "rec",
        lambda e: _ids_float(e._users),
        r"_users\.ids has dtype <f8, expected integer or str ids",
    ),
    "ids missing field": (
        "rec",
        lambda e: _del(e._users, "sorted"),
        r"_users\.sorted is missing",
    ),
    "ids wrong type": (
        "rec",
        lambda e: _set(e, "_items", e._store),
        r"_items must be of type IdIndex, got RatingStore",
    ),
    "users_ differs": (
        "rec",
        lambda e: _set(e, "users_", e.users_ + 1),
        r"users_ differs from _users\.ids",
    ),
    # ------------------------------------------------- classes and fallback
    "classes unsorted": (
        "rec",
        lambda e: _set(e, "classes_", e.classes_[::-1].copy()),
        r"classes_ is not sorted and unique",
    ),
    "classes NaN": (
        "rec",
        lambda e: _item(e.classes_, 0, np.nan),
        r"classes_ has non-finite values",
    ),
    "classes empty": (
        "rec",
        lambda e: _set(e, "classes_", e.classes_[:0].copy()),
        r"classes_ is empty",
    ),
    "classes vs b": (
        "rec",
        lambda e: _set(e, "classes_", e.classes_[:4].copy()),
        r"_state\.params\['b'\] has shape \(40, 5\), expected \(40, 4\)",
    ),
    "global mean NaN": (
        "rec",
        lambda e: _set(e, "global_mean_", float("nan")),
        r"global_mean_ is nan \(not finite\)",
    ),
    "user means length": (
        "rec",
        lambda e: _set(e, "user_means_", e.user_means_[:-1].copy()),
        r"user_means_ has shape \(39,\), expected \(40,\)",
    ),
    "item counts negative": (
        "rec",
        lambda e: _item(e._item_cnt, 0, -1.0),
        r"_item_cnt has negative counts",
    ),
    "n_features_in_": (
        "rec",
        lambda e: _set(e, "n_features_in_", 3),
        r"n_features_in_ is 3, above 2",
    ),
    "feature names": (
        "rec",
        lambda e: _set(e, "feature_names_in_", np.array(["a"], dtype=object)),
        r"feature_names_in_ must be an array of 2 names",
    ),
    "rec n_iter_": (
        "rec",
        lambda e: _set(e, "n_iter_", -1),
        r"n_iter_ is -1, below 0",
    ),
    # ---------------------------------------------- structure vs parameters
    "structure not a dict": (
        "rec",
        lambda e: _set(e, "_structure", {"orientation": "item"}),
        r"_structure must be a dict of",
    ),
    "structure orientation": (
        "rec",
        lambda e: operator.setitem(e._structure, "orientation", "diagonal"),
        r"_structure\['orientation'\] is 'diagonal'",
    ),
    "structure dtype": (
        "rec",
        lambda e: operator.setitem(e._structure, "dtype", "float16"),
        r"_structure\['dtype'\] is 'float16'",
    ),
    "structure n_components": (
        "rec",
        lambda e: operator.setitem(e._structure, "n_components", 0),
        r"_structure\['n_components'\] is 0, below 1",
    ),
    "structure rank": (
        "factored",
        lambda e: operator.setitem(e._structure, "rank", 0),
        r"_structure\['rank'\] is 0, below 1",
    ),
    "structure conditional": (
        "factored",
        lambda e: operator.setitem(e._structure, "conditional", "yes"),
        r"_structure\['conditional'\] must be a bool",
    ),
    "structure vs W3": (
        "rec",
        lambda e: operator.setitem(e._structure, "rank", 2),
        r"_state\.params has parameters \['W3', 'b', 'c'\], expected "
        r"\['A', 'B', 'b', 'c'\]",
    ),
    "structure vs dtype": (
        "rec",
        lambda e: operator.setitem(e._structure, "dtype", "float64"),
        r"_state\.params have dtype float32, fitted as float64",
    ),
    "factored B shape": (
        "factored",
        lambda e: _set_param(e, "B", e._state.params["B"][:, :3].copy()),
        r"_state\.params\['B'\] has shape \(2, 3\), expected \(2, 4\)",
    ),
    # ------------------------------------------------------------ parameters
    "NaN weight": (
        "rec",
        lambda e: _item(e._state.params["W3"], (0, 0, 0), np.nan),
        r"_state\.params\['W3'\] has non-finite values",
    ),
    "params not a dict": (
        "rec",
        lambda e: _set(e._state, "params", [1, 2]),
        r"_state\.params must be a dict, got list",
    ),
    "params mixed dtypes": (
        "rec",
        lambda e: _set_param(e, "c", e._state.params["c"].astype(np.float64)),
        r"_state\.params mixes dtypes \['float32', 'float64'\]",
    ),
    "params integer": (
        "rec",
        lambda e: _set_param(e, "c", e._state.params["c"].astype(np.int32)),
        r"_state\.params\['c'\] has dtype <i4, expected float32 or float64",
    ),
    "params big-endian": (
        "rec",
        lambda e: _set_param(e, "c", e._state.params["c"].astype(">f4")),
        r"_state\.params\['c'\] has dtype >f4, expected float32 or float64",
    ),
    "params not contiguous": (
        "rec",
        lambda e: _set_param(e, "b", np.asfortranarray(e._state.params["b"])),
        r"_state\.params\['b'\] is not C-contiguous",
    ),
    "params not an array": (
        "rec",
        lambda e: _set_param(e, "c", [0.0] * 4),
        r"_state\.params\['c'\] must be a numpy array, got list",
    ),
    # -------------------------------------------------- training state
    "state wrong type": (
        "rec",
        lambda e: _set(e, "_state", DenseState(params={}, rng=e._state.rng)),
        r"_state must be of type RatingState, got DenseState",
    ),
    "state params missing": (
        "rec",
        lambda e: _del(e._state, "params"),
        r"_state\.params is missing",
    ),
    "state rng": (
        "rec",
        lambda e: _set(e._state, "rng", "seed"),
        r"_state\.rng must be a numpy Generator, got str",
    ),
    "state n_updates": (
        "rec",
        lambda e: _set(e._state, "n_updates", 1.5),
        r"_state\.n_updates must be an integer, got float",
    ),
    "state lr_factor": (
        "rec",
        lambda e: _set(e._state, "lr_factor", "1"),
        r"_state\.lr_factor must be a real number, got str",
    ),
    "state lr_factor negative": (
        "rec",
        lambda e: _set(e._state, "lr_factor", -1.0),
        r"_state\.lr_factor is -1\.0, below 0\.0",
    ),
    "state cache": (
        "rec",
        lambda e: _set(e._state, "cache", []),
        r"_state\.cache must be a dict, got list",
    ),
    "state cache entry": (
        "rec",
        lambda e: _set(e._state, "cache", {"other": 1}),
        r"_state\.cache has unexpected entries \['other'\]",
    ),
    "opt not a dict": (
        "rec",
        lambda e: _set(e._state, "opt", []),
        r"_state\.opt must be a dict, got list",
    ),
    "opt unknown phase": (
        "rec",
        lambda e: operator.setitem(e._state.opt, "sgd", e._state.opt["cd"]),
        r"_state\.opt has unknown phases \['sgd'\]",
    ),
    "legacy state": (
        "rec",
        _legacy_state,
        r"loaded model is invalid: AttributeError",
    ),
    # -------------------------------------------- lazy momentum (cd) state
    "lazy wrong type": (
        "rec",
        lambda e: operator.setitem(e._state.opt, "cd", MomentumState({})),
        r"_state\.opt\['cd'\] must be of type LazyMomentumState, got MomentumState",
    ),
    "lazy last missing": (
        "rec",
        lambda e: _del(e._state.opt["cd"], "last"),
        r"_state\.opt\['cd'\]\.last is missing",
    ),
    "lazy last length": (
        "rec",
        lambda e: _set(e._state.opt["cd"], "last", e._state.opt["cd"].last[:-1]),
        r"_state\.opt\['cd'\]\.last has shape \(39,\), expected \(40,\)",
    ),
    "lazy last above t": (
        "rec",
        lambda e: _item(e._state.opt["cd"].last, 0, e._state.opt["cd"].t + 1),
        r"_state\.opt\['cd'\]\.last has step count \d+ > t = \d+",
    ),
    "lazy last negative": (
        "rec",
        lambda e: _item(e._state.opt["cd"].last, 0, -1),
        r"_state\.opt\['cd'\]\.last has step count -1 < 0",
    ),
    "lazy behind without coef": (
        "rec",
        lambda e: _last_behind(e._state.opt["cd"]),
        r"has rows behind t = \d+ but no pending \(lr, momentum\)",
    ),
    "lazy t negative": (
        "rec",
        lambda e: _set(e._state.opt["cd"], "t", -2),
        r"_state\.opt\['cd'\]\.t is -2, below 0",
    ),
    "lazy t huge": (
        "rec",
        lambda e: _set(e._state.opt["cd"], "t", 2**63),
        r"_state\.opt\['cd'\]\.t is 9223372036854775808, above",
    ),
    "lazy coef shape": (
        "rec",
        lambda e: _set(e._state.opt["cd"], "coef", (0.1,)),
        r"_state\.opt\['cd'\]\.coef must be None or an \(lr, momentum\) pair",
    ),
    "lazy coef momentum": (
        "rec",
        lambda e: _set(e._state.opt["cd"], "coef", (0.1, 1.0)),
        r"_state\.opt\['cd'\]\.coef\[1\] is 1\.0, not below 1\.0",
    ),
    "lazy coef NaN": (
        "rec",
        lambda e: _set(e._state.opt["cd"], "coef", (float("nan"), 0.5)),
        r"_state\.opt\['cd'\]\.coef\[0\] is nan \(not finite\)",
    ),
    "lazy velocity shape": (
        "rec",
        lambda e: operator.setitem(
            e._state.opt["cd"].velocity, "b", np.zeros((40, 4), np.float32)
        ),
        r"_state\.opt\['cd'\]\.velocity\['b'\] has shape \(40, 4\), expected "
        r"\(40, 5\)",
    ),
    "lazy velocity dtype": (
        "rec",
        lambda e: operator.setitem(
            e._state.opt["cd"].velocity, "c", np.zeros(4, np.float64)
        ),
        r"_state\.opt\['cd'\]\.velocity\['c'\] has dtype float64, expected "
        r"float32 \(the parameters'\)",
    ),
    "lazy velocity names": (
        "rec",
        lambda e: operator.delitem(e._state.opt["cd"].velocity, "W3"),
        r"_state\.opt\['cd'\]\.velocity has entries \['b', 'c'\], expected",
    ),
    "lazy velocity not a dict": (
        "rec",
        lambda e: _set(e._state.opt["cd"], "velocity", None),
        r"_state\.opt\['cd'\]\.velocity must be a dict, got NoneType",
    ),
    # ------------------------------------------------ Adam (fine-tuning)
    "adam wrong type": (
        "rec",
        lambda e: operator.setitem(e._state.opt, "fine_tune", e._state.opt["cd"]),
        r"_state\.opt\['fine_tune'\] must be of type AdamState, got LazyMomentumState",
    ),
    "adam m missing": (
        "rec",
        lambda e: _del(e._state.opt["fine_tune"], "m"),
        r"_state\.opt\['fine_tune'\]\.m is missing",
    ),
    "adam t negative": (
        "rec",
        lambda e: _set(e._state.opt["fine_tune"], "t", -1),
        r"_state\.opt\['fine_tune'\]\.t is -1, below 0",
    ),
    "adam unknown parameter": (
        "rec",
        lambda e: operator.setitem(
            e._state.opt["fine_tune"].m, "Z", np.zeros(4, np.float32)
        ),
        r"_state\.opt\['fine_tune'\]\.m has entries .*'Z'.*, expected",
    ),
    "adam m and v differ": (
        "rec",
        lambda e: operator.delitem(e._state.opt["fine_tune"].v, "c"),
        r"_state\.opt\['fine_tune'\] has moments m of .* but v of",
    ),
    "adam negative v": (
        "rec",
        lambda e: _item(e._state.opt["fine_tune"].v["c"], 0, -1.0),
        r"_state\.opt\['fine_tune'\]\.v\['c'\] has negative second moments",
    ),
    "adam moment shape": (
        "rec",
        lambda e: operator.setitem(
            e._state.opt["fine_tune"].m, "c", np.zeros(3, np.float32)
        ),
        r"_state\.opt\['fine_tune'\]\.m\['c'\] has shape \(3,\), expected \(4,\)",
    ),
    # --------------------------------------------------------- dense RBMs
    "dense NaN weight": (
        "bern",
        lambda e: _item(e.components_, (0, 0), np.nan),
        r"components_ has non-finite values",
    ),
    "dense infinite bias": (
        "bern",
        lambda e: _set(e, "intercept_hidden_", np.full(4, np.inf)),
        r"intercept_hidden_ has non-finite values",
    ),
    "dense no units": (
        "bern",
        lambda e: _set(e, "components_", np.zeros((0, 10))),
        r"components_ has shape \(0, 10\): no units",
    ),
    "dense bias shape": (
        "bern",
        lambda e: _set(e, "intercept_visible_", np.zeros(9)),
        r"intercept_visible_ has shape \(9,\), expected \(10,\)",
    ),
    "dense public dtype": (
        "bern",
        lambda e: _set(e, "intercept_visible_", np.zeros(10, np.float32)),
        r"intercept_visible_ has dtype float32, components_ float64",
    ),
    "dense missing attribute": (
        "bern",
        lambda e: _del(e, "intercept_hidden_"),
        r"intercept_hidden_ is missing \(the model is fitted\)",
    ),
    "dense missing state": (
        "bern",
        lambda e: _del(e, "_state"),
        r"_state is missing \(the model is fitted\)",
    ),
    "dense n_features_in_": (
        "bern",
        lambda e: _set(e, "n_features_in_", 9),
        r"n_features_in_ is 9, below 10",
    ),
    "dense feature names": (
        "bern",
        lambda e: _set(e, "feature_names_in_", np.array(["a", "b"], dtype=object)),
        r"feature_names_in_ must be an array of 10 names",
    ),
    "dense batch_size_": (
        "bern",
        lambda e: _set(e, "batch_size_", 0),
        r"batch_size_ is 0, below 1",
    ),
    "dense n_iter_": (
        "bern",
        lambda e: _set(e, "n_iter_", -3),
        r"n_iter_ is -3, below 0",
    ),
    "dense state wrong type": (
        "bern",
        lambda e: _set(e, "_state", e._state.opt),
        r"_state must be of type DenseState, got MomentumState",
    ),
    "dense state params shape": (
        "bern",
        lambda e: operator.setitem(e._state.params, "c", np.zeros(5)),
        r"_state\.params\['c'\] has shape \(5,\), expected \(4,\)",
    ),
    "dense state params dtype": (
        "bern",
        lambda e: _set(
            e._state,
            "params",
            {k: v.astype(np.float32) for k, v in e._state.params.items()},
        ),
        r"_state\.params have dtype float32, components_ float64",
    ),
    "dense velocity missing": (
        "bern",
        lambda e: _del(e._state.opt, "velocity"),
        r"_state\.opt\.velocity is missing",
    ),
    "dense velocity shape": (
        "bern",
        lambda e: operator.setitem(e._state.opt.velocity, "W", np.zeros((4, 9))),
        r"_state\.opt\.velocity\['W'\] has shape \(4, 9\), expected \(4, 10\)",
    ),
    "dense opt wrong type": (
        "bern",
        lambda e: _set(e._state, "opt", AdamState()),
        r"_state\.opt must be of type MomentumState, got AdamState",
    ),
    "dense chains width": (
        "bern",
        lambda e: _set(e._state, "chains", np.zeros((16, 5))),
        r"_state\.chains has shape \(16, 5\), expected \(\*, 4\)",
    ),
    "dense chains empty": (
        "bern",
        lambda e: _set(e._state, "chains", np.zeros((0, 4))),
        r"_state\.chains has no chains",
    ),
    "dense chains dtype": (
        "bern",
        lambda e: _set(e._state, "chains", np.zeros((16, 4), np.float32)),
        r"_state\.chains have dtype float32, the model float64",
    ),
    "dense chains values": (
        "bern",
        lambda e: _item(e._state.chains, (0, 0), 2.0),
        r"_state\.chains has hidden states outside \[0, 1\]",
    ),
    "dense offsets pair": (
        "bern",
        lambda e: _set(e._state, "offsets", (e._state.offsets[0],)),
        r"_state\.offsets must be None or a \(visible, hidden\) pair",
    ),
    "dense offsets shape": (
        "bern",
        lambda e: _set(e._state, "offsets", (e._state.offsets[0], np.zeros(3))),
        r"_state\.offsets\[1\] has shape \(3,\), expected \(4,\)",
    ),
    "dense offsets dtype": (
        "bern",
        lambda e: _set(
            e._state, "offsets", (np.zeros(10, np.float32), e._state.offsets[1])
        ),
        r"_state\.offsets\[0\] has dtype float32, the model float64",
    ),
    "dense moments triple": (
        "bern",
        lambda e: _set(e._state, "moments", None),
        r"_state\.moments must be an \(n, sums, sums of squares\) triple",
    ),
    "dense moments n": (
        "bern",
        lambda e: _set(e._state, "moments", (0, *e._state.moments[1:])),
        r"_state\.moments\[0\] is 0(\.0)?, below 0\.99",
    ),
    "dense moments shape": (
        "bern",
        lambda e: _set(e._state, "moments", (64, np.zeros(3), e._state.moments[2])),
        r"_state\.moments\[1\] has shape \(3,\), expected \(10,\)",
    ),
    "dense moments negative squares": (
        "bern",
        lambda e: _item(e._state.moments[2], 0, -1.0),
        r"_state\.moments\[2\] has negative sums of squares",
    ),
    "bernoulli moments range": (
        "bern",
        lambda e: _item(e._state.moments[1], 0, 1e6),
        r"_state\.moments\[1\] has column sums outside \[0, 64\]",
    ),
    "gaussian log-variance": (
        "gauss",
        lambda e: _item(e.log_variance_, 0, 50.0),
        r"log_variance_ has log-variances outside",
    ),
    "gaussian state log-variance": (
        "gauss",
        lambda e: operator.setitem(e._state.params, "log_var", np.full(6, -40.0)),
        r"_state\.params\['log_var'\] has log-variances outside",
    ),
    "log_z not a pair": (
        "bern",
        lambda e: operator.setitem(e._state.cache, "log_z", 3.0),
        r"_state\.cache\['log_z'\] must be a \(fingerprint, LogPartition\) pair",
    ),
    "log_z fingerprint": (
        "bern",
        lambda e: operator.setitem(e._state.cache, "log_z", (1, _lz())),
        r"_state\.cache\['log_z'\] has a fingerprint of type int, not str",
    ),
    "log_z type": (
        "bern",
        lambda e: _pair_log_z(e, 1.0),
        r"_state\.cache\['log_z'\]\[1\] must be of type LogPartition, got float",
    ),
    "log_z value": (
        "bern",
        lambda e: _pair_log_z(e, _lz(log_z=float("nan"))),
        r"_state\.cache\['log_z'\]\[1\]\.log_z is nan \(not finite\)",
    ),
    "log_z std_err": (
        "bern",
        lambda e: _pair_log_z(e, _lz(std_err=-1.0)),
        r"_state\.cache\['log_z'\]\[1\]\.std_err is -1\.0, below 0\.0",
    ),
}


#: pickle makes a big-endian array native: only a skops file keeps it
SKOPS_ONLY = {"params big-endian"}
#: a training state pickles only the log Z of its cache: these write the
#: whole state, as a crafted file could
RAW_STATE = {"state cache", "state cache entry"}


@pytest.mark.parametrize(
    "case, how",
    [
        (case, how)
        for case in MUTATIONS
        for how in LOADS
        if how == "skops" or case not in SKOPS_ONLY
    ],
)
def test_corrupt_state_is_refused_on_load(models, case, how, tmp_path, monkeypatch):
    key, mutate, message = MUTATIONS[case]
    if case in RAW_STATE:
        monkeypatch.setattr(TrainState, "__getstate__", lambda self: vars(self).copy())
    est = copy.deepcopy(models[key])
    mutate(est)
    with pytest.raises(ValueError, match="loaded model is invalid: ") as info:
        LOADS[how](est, tmp_path)
    assert info.match(message), str(info.value)


@pytest.mark.parametrize("how", [*LOADS, "joblib"])
@pytest.mark.parametrize("key", ["bern", "gauss", "rec", "factored"])
def test_valid_models_load(models, key, how, tmp_path):
    load = {**LOADS, "joblib": _joblib_load}[how]
    est = models[key]
    restored = load(est, tmp_path)
    assert type(restored) is type(est)
    if key in ("rec", "factored"):
        X = models["X"][:20]
        np.testing.assert_array_equal(restored.predict(X), est.predict(X))


@pytest.mark.parametrize("how", LOADS)
@pytest.mark.parametrize(
    "est",
    [
        BernoulliRBM(n_components="many"),  # parameters are checked by fit
        GaussianBernoulliRBM(),
        CategoricalRBMRecommender(orientation="diagonal"),
    ],
    ids=["bernoulli", "gaussian", "recommender"],
)
def test_unfitted_models_load_without_state_checks(est, how, tmp_path):
    restored = LOADS[how](est, tmp_path)
    assert restored.get_params() == est.get_params()


def test_derived_buffers_are_dropped_on_load(models, monkeypatch):
    # our own files never hold them (__getstate__ drops them); a crafted one
    # may: the lazy optimiser's work buffers and the serving cache
    from sklearn_rbm.recommender.cache import ServingCache
    from sklearn_rbm.training.optimizers import LazyMomentumState
    from sklearn_rbm.training.state import RatingState

    monkeypatch.setattr(LazyMomentumState, "__getstate__", lambda s: vars(s).copy())
    monkeypatch.setattr(RatingState, "__getstate__", lambda s: vars(s).copy())
    est = copy.deepcopy(models["rec"])
    est._state.opt["cd"].scratch = {"W3": (np.zeros(1), np.zeros(1))}
    est._state.serving = ServingCache(item_hidden=np.zeros((1, 1)))
    raw = pickle.dumps(est)
    monkeypatch.undo()
    restored = pickle.loads(raw)
    assert restored._state.opt["cd"].scratch == {}
    assert restored._state.serving is None
    X = models["X"][:5]
    np.testing.assert_array_equal(restored.predict(X), models["rec"].predict(X))


def test_unexpected_errors_become_value_errors(models, monkeypatch):
    import sklearn_rbm.recommender.estimator as estimator

    def boom(est):
        raise KeyError("surprise")

    monkeypatch.setattr(estimator, "check_recommender", boom)
    with pytest.raises(ValueError, match="loaded model is invalid: KeyError"):
        pickle.loads(pickle.dumps(models["rec"]))


# ------------------------------------------- tampering inside a skops file
def _tamper_skops(src, dst, attr_path, edit):
    """Rewrite the ``.npy`` of the array at ``attr_path`` (attribute names
    from the estimator down) in the skops zip ``src``; ``edit(array)``
    returns the new array."""
    with zipfile.ZipFile(src) as zin:
        files = {n: zin.read(n) for n in zin.namelist()}
    node = json.loads(files["schema.json"])
    for name in attr_path:
        node = node["content"]
        while "content" in node and name not in node:
            node = node["content"]
        node = node[name]
    arr = np.load(io.BytesIO(files[node["file"]]), allow_pickle=False)
    buf = io.BytesIO()
    np.save(buf, edit(arr), allow_pickle=False)
    files[node["file"]] = buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zout:
        for n, b in files.items():
            zout.writestr(n, b)
    Path(dst).write_bytes(out.getvalue())


def _edited(fn):
    def edit(a):
        a = a.copy()
        fn(a)
        return a

    return edit


TAMPERED = {
    "var": (
        ("_store", "var"),
        _edited(lambda a: _item(a, 0, 9999)),
        r"_store\.var has index 9999 >= 40 users",
    ),
    "ptr": (
        ("_store", "ptr"),
        _edited(lambda a: _item(a, slice(1, None), a[1:] + 1000)),
        r"_store\.ptr ends at",
    ),
    "k": (
        ("_store", "k"),
        _edited(lambda a: _item(a, 0, 100)),
        r"_store\.k has index 100 >= 5 rating values",
    ),
    "order": (
        ("_items", "order"),
        _edited(lambda a: _item(a, 0, 10**6)),
        r"_items\.order has index 1000000 >= 20 ids",
    ),
    "NaN weight": (
        ("_state", "params", "W3"),
        _edited(lambda a: _item(a, (1, 2, 3), np.nan)),
        r"_state\.params\['W3'\] has non-finite values",
    ),
}


@pytest.mark.parametrize("case", TAMPERED)
def test_tampered_skops_file_is_refused(models, case, tmp_path):
    attr_path, edit, message = TAMPERED[case]
    good = tmp_path / "good.skops"
    persistence.save(models["rec"], good)
    persistence.load(good)
    bad = tmp_path / "bad.skops"
    _tamper_skops(good, bad, attr_path, edit)
    # the file holds only trusted types: skops itself accepts it
    assert set(skops_io.get_untrusted_types(file=bad)) <= set(
        persistence.trusted_types()
    )
    with pytest.raises(ValueError, match=message):
        persistence.load(bad)


_CHILD = """
import sys
from sklearn_rbm import persistence
try:
    est = persistence.load(sys.argv[1])
except ValueError as exc:
    print("refused:", exc)
    sys.exit(0)
est.predict([[0, 1], [1, 2], [2, 3]])
est.recommend([0, 1], n_items=3)
print("used")
"""


def test_tampered_store_never_reaches_sparse_products(models, tmp_path):
    """The file of the report: an out-of-range stored index used to crash
    the interpreter in a sparse product of ``predict``; in a subprocess, so
    that a crash fails this test instead of the test run."""
    good = tmp_path / "good.skops"
    persistence.save(models["rec"], good)
    bad = tmp_path / "bad.skops"
    _tamper_skops(good, bad, ("_store", "var"), lambda a: np.full_like(a, 2**30))
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    res = subprocess.run(
        [sys.executable, "-c", _CHILD, str(bad)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": path},
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.startswith("refused: loaded model is invalid: _store.var")


# ------------------------------------------------ persistence.load(trusted)
@pytest.mark.parametrize(
    "trusted", [1, 0.5, "fractions.Fraction", b"x", [1], ["ok.Type", None]]
)
def test_load_trusted_must_be_a_sequence_of_str(models, trusted, tmp_path):
    path = tmp_path / "m.skops"
    persistence.save(models["bern"], path)
    with pytest.raises(TypeError, match="trusted"):
        persistence.load(path, trusted=trusted)


def test_load_trusted_true_is_refused_and_sequences_work(models, tmp_path):
    path = tmp_path / "m.skops"
    persistence.save(models["bern"], path)
    with pytest.raises(ValueError, match="trusted=True"):
        persistence.load(path, trusted=True)
    for trusted in ((), ("fractions.Fraction",), {"fractions.Fraction"}, None):
        assert type(persistence.load(path, trusted=trusted)) is BernoulliRBM


# ------------------------------------------------------- the command line
class _Evil:
    """Unpickling it creates ``marker`` (any code could run instead)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


@pytest.fixture
def pairs(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("0,1\n1,2\n")
    return path


@pytest.mark.parametrize("suffix", [".joblib", ".pkl", ".skops", ""])
@pytest.mark.parametrize("command", ["predict", "recommend"])
def test_cli_never_unpickles_without_the_flag(tmp_path, pairs, capsys, suffix, command):
    marker = tmp_path / "marker"
    model = tmp_path / f"model{suffix}"
    model.write_bytes(pickle.dumps(_Evil(marker)))
    args = [str(pairs)] if command == "predict" else ["--users", "0"]
    assert main([command, str(model), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--trusted-pickle" in err
    assert "Traceback" not in err
    assert not marker.exists()
    # the flag says the file is trusted: then it is unpickled
    assert main([command, str(model), *args, "--trusted-pickle"]) == 2
    assert marker.exists()
    assert "not a CategoricalRBMRecommender" in capsys.readouterr().err


def test_cli_help_documents_the_flag(capsys):
    for command in ("predict", "recommend"):
        assert main([command, "--help"]) == 0
        out = " ".join(capsys.readouterr().out.split())
        assert "--trusted-pickle" in out and "only for a file you trust" in out


def test_cli_loads_skops_by_content_and_joblib_with_the_flag(models, tmp_path):
    rec = models["rec"]
    X = models["X"][:5]
    skops_named_pkl = tmp_path / "model.pkl"
    persistence.save(rec, skops_named_pkl)  # a skops zip, whatever its name
    np.testing.assert_array_equal(
        load_model(skops_named_pkl).predict(X), rec.predict(X)
    )
    jl = tmp_path / "model.joblib"
    joblib.dump(rec, jl)
    from sklearn_rbm.cli.io import CLIError

    with pytest.raises(CLIError, match="--trusted-pickle"):
        load_model(jl)
    np.testing.assert_array_equal(
        load_model(jl, allow_pickle=True).predict(X), rec.predict(X)
    )


def test_cli_reports_an_invalid_model_in_one_line(models, tmp_path, capsys, pairs):
    good = tmp_path / "good.skops"
    persistence.save(models["rec"], good)
    bad = tmp_path / "bad.skops"
    _tamper_skops(good, bad, ("_store", "ptr"), lambda a: a[::-1].copy())
    assert main(["predict", str(bad), str(pairs)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot load the model" in err
    assert "loaded model is invalid: _store.ptr" in err
