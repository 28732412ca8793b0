"""The array-namespace layer of the dense engine (Array API support).

The dense engine is written once over an array namespace ``xp``: numpy by
default, or any Array API library (PyTorch, CuPy, array-api-strict) that
scikit-learn's ``array_api_dispatch`` hands it, through ``array-api-compat``
(:func:`sklearn.utils._array_api.get_namespace`). numpy arrays always get
the ``numpy`` module itself, so the numpy path keeps its in-place kernels,
its speed and its exact results; the other libraries are imported only when
their arrays arrive. Scalars multiplying arrays go through :func:`scalar`
(a numpy scalar of the array's dtype on numpy, a Python float elsewhere),
and random numbers through :class:`ArrayRandom`, a generator of the array
library on the array's device. The sparse recommender kernels stay
numpy/scipy.
"""

import copy as copy_module
import dataclasses

import numpy as np
import scipy.sparse as sp

from .numerics import uniform as _np_uniform


def get_xp(*arrays):
    """The namespace of ``arrays``: ``numpy`` for numpy arrays, scipy sparse
    matrices and Python scalars, else the ``array-api-compat`` namespace that
    scikit-learn uses (whatever ``array_api_dispatch`` says: a model fitted
    on torch keeps computing with torch)."""
    others = [
        a
        for a in arrays
        if a is not None
        and not isinstance(a, np.ndarray | np.generic | int | float)
        and not sp.issparse(a)
    ]
    if not others:
        return np
    kind = type(others[0])
    if all(type(a) is kind for a in others) and kind in _NAMESPACES:
        return _NAMESPACES[kind]
    from sklearn.externals.array_api_compat import get_namespace

    xp = get_namespace(*others)
    if all(type(a) is kind for a in others):
        _NAMESPACES[kind] = xp  # one namespace per array type: a cache
    return xp


#: array type -> its array-api-compat namespace (get_xp runs on every call)
_NAMESPACES = {}


def input_xp(X):
    """The namespace of input ``X`` when scikit-learn's ``array_api_dispatch``
    is on and ``X`` is an array of another Array API library, else None."""
    if isinstance(X, np.ndarray) or sp.issparse(X):
        return None
    from sklearn import get_config
    from sklearn.externals.array_api_compat import is_array_api_obj

    if not (get_config()["array_api_dispatch"] and is_array_api_obj(X)):
        return None
    return get_xp(X)


def is_numpy(x):
    """True for numpy arrays and scipy sparse matrices (the default path)."""
    return isinstance(x, np.ndarray) or sp.issparse(x)


def device_of(x):
    """The device of array ``x`` (``"cpu"`` for numpy)."""
    if is_numpy(x):
        return "cpu"
    from sklearn.utils._array_api import device

    return device(x)


def to_numpy(x):
    """``x`` as a numpy array on the host (numpy arrays unchanged)."""
    if x is None or is_numpy(x) or isinstance(x, np.generic | int | float):
        return x
    from sklearn.utils._array_api import move_to

    return move_to(x, xp=np, device="cpu")


def like(x, ref, dtype=None):
    """``x`` (numpy or of ``ref``'s namespace) as an array of ``ref``'s
    namespace and device, in ``dtype`` (default: ``ref``'s dtype)."""
    dtype = ref.dtype if dtype is None else dtype
    if is_numpy(ref):
        return np.asarray(x, dtype=dtype)
    xp = get_xp(ref)
    if is_numpy(x):
        x = np.asarray(x, dtype=numpy_dtype(dtype, xp))
        return xp.asarray(x, device=device_of(ref))
    return xp.astype(x, dtype)


def dict_like(arrays, ref):
    """Every array of the dict ``arrays`` moved like :func:`like` (own dtypes
    kept, in ``ref``'s float precision)."""
    if is_numpy(ref):
        return arrays
    return {k: like(v, ref) for k, v in arrays.items()}


def numpy_dtype(dtype, xp=None):
    """The numpy float dtype matching the array dtype ``dtype``."""
    if isinstance(dtype, np.dtype) or dtype is np.float32 or dtype is np.float64:
        return np.dtype(dtype)
    # torch.float32, array-api-strict's float32, ...: compared by name (a
    # comparison across libraries is undefined)
    return np.dtype(np.float32 if str(dtype).endswith("float32") else np.float64)


def float64_dtype(ref):
    """float64 in the namespace of ``ref``."""
    return np.float64 if is_numpy(ref) else get_xp(ref).float64


def scalar(value, ref):
    """``value`` as a scalar of ``ref``'s dtype on numpy (numpy's exact
    arithmetic), a Python float elsewhere (a weak scalar keeps the dtype)."""
    if is_numpy(ref):
        return ref.dtype.type(value)
    return float(value)


def scalars(values, ref):
    """Iterate over a numpy 1-d array of floats: numpy scalars on the numpy
    path, Python floats for other namespaces (numpy scalars do not mix with
    their arrays)."""
    return values if is_numpy(ref) else values.tolist()


def copy(x):
    """A copy of array ``x``."""
    if is_numpy(x):
        return x.copy()
    return get_xp(x).asarray(x, copy=True)


def sum_rows(x):
    """Sum over axis 1."""
    if is_numpy(x):
        return x.sum(axis=1)
    return get_xp(x).sum(x, axis=1)


def take_rows(X, idx):
    """Rows ``idx`` of ``X`` (``X[idx]`` on numpy and sparse)."""
    if is_numpy(X):
        return X[idx]
    xp = get_xp(X)
    if isinstance(idx, np.ndarray):  # unshuffled minibatches: a range
        if idx.size and (np.diff(idx) == 1).all():
            return X[int(idx[0]) : int(idx[-1]) + 1, ...]
        idx = xp.asarray(idx, device=device_of(X))
    return xp.take(X, idx, axis=0)


def broadcast_rows(row, n):
    """``n`` copies of the 1-d ``row`` as an (n, d) array (read-only on numpy)."""
    if is_numpy(row):
        return np.repeat(row[None, :], n, axis=0)
    xp = get_xp(row)
    return xp.broadcast_to(row[None, :], (n, row.shape[0]))


def repeat_rows(V, k):
    """``np.repeat(V, k, axis=0)`` in ``V``'s namespace."""
    if is_numpy(V):
        return np.repeat(V, k, axis=0)
    xp = get_xp(V)
    n, d = V.shape
    return xp.reshape(xp.broadcast_to(V[:, None, :], (n, k, d)), (n * k, d))


def expit(x):
    """Logistic function in a new array (``scipy.special.expit`` on numpy);
    elsewhere from ``exp(-|x|)``: never overflows, keeps tiny probabilities."""
    if is_numpy(x):
        from scipy.special import expit as _expit

        return _expit(x)
    xp = get_xp(x)
    if hasattr(xp, "sigmoid"):  # the library's own (torch): stable and fused
        return xp.sigmoid(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(x):
    """``log(1 + exp(x))`` for a non-numpy array (see ``numerics.softplus``)."""
    xp = get_xp(x)
    return xp.clip(x, min=0.0) + xp.log1p(xp.exp(-xp.abs(x)))


def sigmoid(x):
    """``(1 + tanh(x / 2)) / 2`` for a non-numpy array (``numerics.sigmoid``;
    the library's own sigmoid where it has one)."""
    xp = get_xp(x)
    if hasattr(xp, "sigmoid"):
        return xp.sigmoid(x)
    return 0.5 * xp.tanh(0.5 * x) + 0.5


def momentum_step(vel, W, left, right, step, momentum, decay):
    """``vel = momentum vel + step left' right - decay W; W += vel`` in place
    for non-numpy arrays (one fused GEMM where the library has ``addmm_``)."""
    if hasattr(vel, "addmm_"):  # torch
        vel.addmm_(left.T, right, beta=momentum, alpha=step)
        if decay:
            vel.add_(W, alpha=-decay)
        W.add_(vel)
        return
    vel *= momentum
    vel += step * (left.T @ right)
    if decay:
        vel -= decay * W
    W += vel


def norm(x):
    """Euclidean (Frobenius) norm of all of ``x`` as a Python float
    (``numpy.linalg.norm`` on numpy)."""
    if is_numpy(x):
        return float(np.linalg.norm(x))
    return float(get_xp(x).linalg.vector_norm(x))


def logsumexp(x, axis=None):
    """log-sum-exp of a non-numpy array."""
    from sklearn.utils._array_api import _logsumexp

    return _logsumexp(x, axis=axis, xp=get_xp(x))


def all_finite_below(x, limit):
    """True when every value of ``x`` is finite and ``|x| <= limit``."""
    if is_numpy(x):
        return bool((np.abs(x) <= limit).all())
    xp = get_xp(x)
    return bool(xp.all(xp.abs(x) <= float(limit)))


def finfo_max(dtype, ref):
    """Largest finite value of the float ``dtype`` of ``ref``'s namespace."""
    if is_numpy(ref):
        return float(np.finfo(dtype).max)
    return float(get_xp(ref).finfo(dtype).max)


class ArrayRandom:
    """The random generator of an Array API library, on a device.

    PyTorch arrays draw from a ``torch.Generator`` on their device, seeded
    with ``seed``: reproducible for a given seed, torch version and device
    type (CPU and CUDA streams differ, and neither equals numpy's). Any other
    library (array-api-strict, CuPy) draws with a numpy ``Generator`` seeded
    alike, with numpy's exact draws (those of the numpy path), and moves the
    values to the device.

    It offers what the engine draws: ``uniform`` (see
    :func:`~sklearn_rbm.engine.numerics.uniform`), ``standard_normal``,
    ``normal`` and ``permutation``. Copies (``copy.deepcopy``) continue the
    same stream; pickling a fitted model converts it to numpy
    (:meth:`to_numpy`).
    """

    def __init__(self, seed, xp, device):
        self.seed = int(seed)
        self.xp = xp
        self.device = device
        self._torch = None
        self._np = None
        if "torch" in xp.__name__:
            import torch

            self._torch = torch.Generator(device=device)
            self._torch.manual_seed(self.seed)
        else:
            self._np = np.random.default_rng(self.seed)

    def __deepcopy__(self, memo):
        new = object.__new__(ArrayRandom)
        new.seed, new.xp, new.device = self.seed, self.xp, self.device
        new._torch = new._np = None
        if self._torch is not None:
            import torch

            new._torch = torch.Generator(device=self.device)
            new._torch.set_state(self._torch.get_state())
        else:
            new._np = np.random.Generator(type(self._np.bit_generator)())
            new._np.bit_generator.state = self._np.bit_generator.state
        return new

    def to_numpy(self):
        """A numpy ``Generator`` that continues this one deterministically:
        the same generator for numpy-drawn streams, else one seeded from the
        torch generator's state."""
        if self._np is not None:
            return self._np
        state = self._torch.get_state().numpy()
        return np.random.default_rng(np.frombuffer(state.tobytes(), dtype=np.uint32))

    def _move(self, a):
        return self.xp.asarray(a, device=self.device)

    def uniform(self, shape, dtype, symmetric=False):
        """Uniform floats on ``[0, 1)`` (or ``[-1, 1)``) of ``dtype``."""
        shape = tuple(shape)
        if self._torch is not None:
            import torch

            u = torch.rand(
                shape, generator=self._torch, dtype=dtype, device=self.device
            )
            if symmetric:
                u = u * 2.0 - 1.0
            return u
        return self._move(
            _np_uniform(self._np, shape, numpy_dtype(dtype, self.xp), symmetric)
        )

    def random(self, shape, dtype=None):
        return self.uniform(shape, self.xp.float64 if dtype is None else dtype)

    def standard_normal(self, shape, dtype=None):
        dtype = self.xp.float64 if dtype is None else dtype
        if self._torch is not None:
            import torch

            return torch.randn(
                tuple(shape), generator=self._torch, dtype=dtype, device=self.device
            )
        return self._move(
            self._np.standard_normal(shape, dtype=numpy_dtype(dtype, self.xp))
        )

    def normal(self, loc=0.0, scale=1.0, size=None):
        """float64 normal draws (as numpy's ``Generator.normal``)."""
        if self._torch is not None:
            return self.standard_normal(size, self.xp.float64) * scale + loc
        return self._move(self._np.normal(loc, scale, size=size))

    def permutation(self, n):
        """A random permutation of ``range(n)`` (an integer array)."""
        if self._torch is not None:
            import torch

            return torch.randperm(n, generator=self._torch, device=self.device)
        return self._move(self._np.permutation(n))


def tree_to_numpy(obj):
    """``obj`` with every array of another namespace moved to numpy and
    every :class:`ArrayRandom` made a numpy ``Generator``, through dicts,
    lists, tuples and dataclasses (copied, never modified in place)."""
    if isinstance(obj, ArrayRandom):
        return obj.to_numpy()
    if isinstance(obj, dict):
        return {k: tree_to_numpy(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(tree_to_numpy(v) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        new = copy_module.copy(obj)
        new.__dict__.update(tree_to_numpy(dict(obj.__dict__)))
        return new
    if not is_numpy(obj) and _is_array(obj):
        return to_numpy(obj)
    return obj


def _is_array(obj):
    from sklearn.externals.array_api_compat import is_array_api_obj

    return not isinstance(obj, np.generic | int | float) and is_array_api_obj(obj)


def random_like(random_state, ref):
    """The generator of the numpy path (``seed_from``) for numpy ``ref``,
    else an :class:`ArrayRandom` on ``ref``'s device with the same seed."""
    from sklearn.utils import check_random_state

    seed = check_random_state(random_state).randint(2**31 - 1)
    if is_numpy(ref):
        return np.random.default_rng(seed)
    return ArrayRandom(seed, get_xp(ref), device_of(ref))
