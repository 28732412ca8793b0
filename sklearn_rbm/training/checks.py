"""Checks of a loaded model's state: the shared helpers, the training state
and the optimiser states.

A model file (pickle, joblib or skops) is data: a skops file holds only
trusted types, but their contents are whatever the file says. Every
estimator validates its state when it is unpickled
(``VersionedStateMixin.__setstate__`` calls the estimator's
``_check_loaded_state``), before any of it is used: types, shapes that agree
with each other, dtypes, finite values, index bounds. A violation raises a
``ValueError`` that names the attribute and the problem, e.g. ``loaded model
is invalid: _store.var has index 9999 >= 30 variables``. The checks are
vectorised and linear in the size of the model (no sorting).

The per-estimator checks live with the estimators
(``estimators/_checks.py``, ``recommender/checks.py``).
"""

from numbers import Integral, Real

import numpy as np

from .optimizers import AdamState, LazyMomentumState, MomentumState
from .state import _KEPT_CACHE

PREFIX = "loaded model is invalid: "


def invalid(where, problem):
    """Raise the ``ValueError`` of an invalid loaded model."""
    raise ValueError(f"{PREFIX}{where} {problem}")


def _type_name(x):
    return type(x).__name__


# ------------------------------------------------------------------ scalars
def integer(where, x, low=0, high=None):
    """``x`` as an int in ``[low, high]`` (bools are refused)."""
    if not isinstance(x, Integral) or isinstance(x, bool | np.bool_):
        invalid(where, f"must be an integer, got {_type_name(x)}")
    x = int(x)
    if x < low:
        invalid(where, f"is {x}, below {low}")
    if high is not None and x > high:
        invalid(where, f"is {x}, above {high}")
    return x


def real(where, x, low=None, high=None, high_open=False):
    """``x`` as a finite float in ``[low, high]`` (``high`` excluded with
    ``high_open``)."""
    if not isinstance(x, Real) or isinstance(x, bool | np.bool_):
        invalid(where, f"must be a real number, got {_type_name(x)}")
    x = float(x)
    if not np.isfinite(x):
        invalid(where, f"is {x} (not finite)")
    if low is not None and x < low:
        invalid(where, f"is {x}, below {low}")
    if high is not None and (x >= high if high_open else x > high):
        invalid(where, f"is {x}, {'not below' if high_open else 'above'} {high}")
    return x


def instance(where, x, cls):
    """``x`` must be an instance of ``cls`` (exactly, for state classes)."""
    if type(x) is not cls:
        invalid(where, f"must be of type {cls.__name__}, got {_type_name(x)}")
    return x


# ------------------------------------------------------------------- arrays
#: dtypes of the parameters (native byte order)
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def array(where, a, shape, kind="f", finite=True, contiguous=False):
    """A numpy array of ``shape`` (``None``: any length on that axis).

    ``kind``: ``"f"`` float32 or float64, ``"i"`` any integer, ``"n"`` any
    real number (integer or float), ``"id"`` integers or str (ids). Non
    native byte orders are refused. Float arrays must be finite unless
    ``finite=False``.
    """
    if not isinstance(a, np.ndarray):
        invalid(where, f"must be a numpy array, got {_type_name(a)}")
    if a.ndim != len(shape) or any(
        want is not None and got != want for got, want in zip(a.shape, shape)
    ):
        expected = ", ".join("*" if s is None else str(s) for s in shape)
        expected = f"({expected},)" if len(shape) == 1 else f"({expected})"
        invalid(where, f"has shape {a.shape}, expected {expected}")
    dt = a.dtype
    ok = {
        "f": dt in FLOAT_DTYPES,
        "i": dt.kind in "iu" and dt.isnative,
        "n": (dt.kind in "iu" or dt in FLOAT_DTYPES) and dt.isnative,
        "id": dt.kind in "iuU" and dt.isnative,
    }[kind]
    if not ok:
        want = {
            "f": "float32 or float64",
            "i": "an integer dtype",
            "n": "a numeric dtype",
            "id": "integer or str ids",
        }[kind]
        invalid(where, f"has dtype {dt.str}, expected {want}")
    if finite and dt.kind == "f" and not np.isfinite(a).all():
        invalid(where, "has non-finite values (NaN or infinity)")
    if contiguous and not a.flags.c_contiguous:
        invalid(where, "is not C-contiguous")
    return a


def indices(where, a, n, what):
    """An integer array with values in ``[0, n)`` (``what``: the name of
    the things indexed, for the message)."""
    array(where, a, (None,), kind="i")
    if a.size:
        lo, hi = int(a.min()), int(a.max())
        if lo < 0:
            invalid(where, f"has index {lo} < 0")
        if hi >= n:
            invalid(where, f"has index {hi} >= {n} {what}")
    return a


def like(where, a, ref):
    """An array of the shape and dtype of ``ref``, finite."""
    array(where, a, ref.shape, contiguous=True)
    if a.dtype != ref.dtype:
        invalid(where, f"has dtype {a.dtype}, expected {ref.dtype} (the parameters')")
    return a


def array_dict(where, d, params, exact=True):
    """A dict of arrays shaped like ``params`` (the same names if ``exact``,
    else some of them)."""
    if not isinstance(d, dict):
        invalid(where, f"must be a dict, got {_type_name(d)}")
    names, known = set(d), set(params)
    if (exact and names != known) or not names <= known:
        got = sorted(map(str, names))
        invalid(where, f"has entries {got}, expected {sorted(known)}")
    for name in d:
        like(f"{where}[{name!r}]", d[name], params[name])
    return d


def params(where, p, shapes):
    """The parameter dict: exactly the names of ``shapes`` (name -> shape),
    float32 or float64 (all the same), finite, C-contiguous."""
    if not isinstance(p, dict):
        invalid(where, f"must be a dict, got {_type_name(p)}")
    if set(p) != set(shapes):
        invalid(
            where, f"has parameters {sorted(map(str, p))}, expected {sorted(shapes)}"
        )
    for name, shape in shapes.items():
        array(f"{where}[{name!r}]", p[name], shape, contiguous=True)
    dtypes = sorted({p[name].dtype.name for name in shapes})
    if len(dtypes) > 1:
        invalid(where, f"mixes dtypes {dtypes}; all parameters must have one")
    return p


# ----------------------------------------------------------- training state
def train_state(where, state, cls, shapes):
    """The fields every :class:`~.state.TrainState` has, and the parameters
    (``shapes``: name -> shape)."""
    instance(where, state, cls)
    fields = vars(state)
    for name in ("params", "rng"):
        if name not in fields:
            invalid(f"{where}.{name}", "is missing")
    params(f"{where}.params", state.params, shapes)
    if not isinstance(state.rng, np.random.Generator):
        got = _type_name(state.rng)
        invalid(f"{where}.rng", f"must be a numpy Generator, got {got}")
    integer(f"{where}.n_updates", state.n_updates)
    integer(f"{where}.n_epochs", state.n_epochs)
    real(f"{where}.lr_factor", state.lr_factor, low=0.0)
    if not hasattr(state, "cache"):  # only DenseState keeps a log Z cache
        return
    cache = state.cache
    if not isinstance(cache, dict):
        invalid(f"{where}.cache", f"must be a dict, got {_type_name(cache)}")
    extra = sorted(map(str, set(cache) - set(_KEPT_CACHE)))
    if extra:
        invalid(f"{where}.cache", f"has unexpected entries {extra}")
    if "log_z" in cache:
        log_z_cache(f"{where}.cache['log_z']", cache["log_z"])


def log_z_cache(where, entry):
    """``(fingerprint, LogPartition)`` with a finite estimate."""
    from ..engine.partition import LogPartition

    if not (isinstance(entry, tuple) and len(entry) == 2):
        invalid(where, "must be a (fingerprint, LogPartition) pair")
    if not isinstance(entry[0], str):
        invalid(where, f"has a fingerprint of type {_type_name(entry[0])}, not str")
    est = instance(f"{where}[1]", entry[1], LogPartition)
    real(f"{where}[1].log_z", getattr(est, "log_z", None))
    real(f"{where}[1].std_err", getattr(est, "std_err", None), low=0.0)


# --------------------------------------------------------- optimiser states
def _fields(where, st, names):
    for name in names:
        if name not in vars(st):
            invalid(f"{where}.{name}", "is missing")


def momentum_state(where, st, params):
    """:class:`MomentumState`: one velocity per parameter, of its shape."""
    instance(where, st, MomentumState)
    _fields(where, st, ("velocity",))
    array_dict(f"{where}.velocity", st.velocity, params)


def lazy_momentum_state(where, st, params, n_rows):
    """:class:`LazyMomentumState`: velocities like the parameters, ``last``
    one step count per row in ``[0, t]``, ``coef`` a valid ``(lr,
    momentum)`` or None (then no row is behind). The work buffers are
    dropped (they are rebuilt on demand)."""
    instance(where, st, LazyMomentumState)
    _fields(where, st, ("velocity", "last", "t", "coef"))
    array_dict(f"{where}.velocity", st.velocity, params)
    t = integer(f"{where}.t", st.t, high=np.iinfo(np.int64).max)
    last = array(f"{where}.last", st.last, (n_rows,), kind="i")
    if last.size:
        lo, hi = int(last.min()), int(last.max())
        if lo < 0:
            invalid(f"{where}.last", f"has step count {lo} < 0")
        if hi > t:
            invalid(f"{where}.last", f"has step count {hi} > t = {t}")
    coef = st.coef
    if coef is None:
        if last.size and int(last.min()) != t:
            invalid(
                f"{where}.last",
                f"has rows behind t = {t} but no pending (lr, momentum) (coef)",
            )
    else:
        if not (isinstance(coef, tuple | list) and len(coef) == 2):
            invalid(f"{where}.coef", "must be None or an (lr, momentum) pair")
        real(f"{where}.coef[0]", coef[0], low=0.0)
        real(f"{where}.coef[1]", coef[1], low=0.0, high=1.0, high_open=True)
    st.scratch = {}


def adam_state(where, st, params):
    """:class:`AdamState`: step count, moments of some parameters (the same
    names in both), second moments non-negative."""
    instance(where, st, AdamState)
    _fields(where, st, ("t", "m", "v"))
    integer(f"{where}.t", st.t)
    array_dict(f"{where}.m", st.m, params, exact=False)
    array_dict(f"{where}.v", st.v, params, exact=False)
    if set(st.m) != set(st.v):
        invalid(where, f"has moments m of {sorted(st.m)} but v of {sorted(st.v)}")
    for name, v in st.v.items():
        if v.size and float(v.min()) < 0:
            invalid(f"{where}.v[{name!r}]", "has negative second moments")
