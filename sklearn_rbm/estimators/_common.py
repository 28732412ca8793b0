"""What every estimator of the package shares: the version stamp in its
pickled state, all-or-nothing fitting methods serialised per instance, and
the seeding rule.

Version stamp in the pickled state of every estimator.

Mix :class:`VersionedStateMixin` in *before* ``BaseEstimator`` (it cooperates
with scikit-learn's own ``__getstate__`` / ``__setstate__``, which stamp and
check ``_sklearn_version``). The pickled ``__dict__`` of a fitted estimator
then carries ``_sklearn_rbm_version``; unpickling (pickle, joblib, skops)
under a different sklearn_rbm version warns with
:class:`~sklearn_rbm.exceptions.InconsistentVersionWarning`. Unpickling then
validates the loaded state (the estimator's ``_check_loaded_state``: types,
shapes, dtypes, finite values, index bounds) and raises ``ValueError`` naming
what is invalid, so that a tampered file fails on load rather than in use.
"""

import functools
import inspect
import sys
import threading
import warnings
import weakref

import numpy as np
from sklearn import config_context, get_config
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import validate_parameter_constraints

from ..engine import _xp
from ..exceptions import InconsistentVersionWarning
from ..training.checks import PREFIX as _INVALID

_VERSION_KEY = "_sklearn_rbm_version"


def _current_version():
    from .. import __version__

    return __version__


class VersionedStateMixin:
    """Stamp ``_sklearn_rbm_version`` into the pickled state; warn on mismatch."""

    def __getstate__(self):
        state = super().__getstate__()
        if state is self.__dict__:  # never mutate the live instance
            state = state.copy()
        state[_VERSION_KEY] = _current_version()
        return state

    def __setstate__(self, state):
        state = dict(state)
        version = state.pop(_VERSION_KEY, "pre-0.1")
        current = _current_version()
        if version != current:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_version=current,
                    original_version=version,
                )
            )
        # a model pickled before a parameter was added gets the value that
        # reproduces its behaviour then (``_SAVED_BEFORE``), else its default
        before = getattr(type(self), "_SAVED_BEFORE", {})
        for name, par in inspect.signature(type(self).__init__).parameters.items():
            if name != "self" and par.default is not par.empty:
                state.setdefault(name, before.get(name, par.default))
        super().__setstate__(state)
        try:
            # a model saved before the training state was split into one type
            # per path holds the old all-fields TrainState: convert it
            from .._compat import LegacyTrainState

            if isinstance(self.__dict__.get("_state"), LegacyTrainState):
                self._state = self._upgrade_state(self._state)
            # the file's content is data: validate it before anything uses it
            self._check_loaded_state()
        except (
            ValueError,
            TypeError,
            AttributeError,
            KeyError,
            IndexError,
            OverflowError,
        ) as exc:
            if str(exc).startswith(_INVALID):
                raise
            # a wrongly typed part that no check anticipated: still a
            # ValueError about the file, never a crash later
            raise ValueError(f"{_INVALID}{type(exc).__name__}: {exc}") from exc

    def _check_loaded_state(self):
        """Validate the loaded state (raise ValueError); see
        ``training/checks.py``."""


def seed_from(random_state, like=None):
    """A numpy Generator from a scikit-learn ``random_state`` argument; for
    ``like`` an array of another Array API library, that library's generator
    on its device with the same seed (:class:`~sklearn_rbm.engine._xp.ArrayRandom`)."""
    if like is not None and not _xp.is_numpy(like):
        return _xp.random_like(random_state, like)
    return np.random.default_rng(check_random_state(random_state).randint(2**31 - 1))


#: one re-entrant lock per estimator instance, for its fitting methods; held
#: here rather than on the instance, so that pickling, skops, ``clone``,
#: ``get_params`` and ``copy.deepcopy`` never see it (a copy gets its own)
_FIT_LOCKS = weakref.WeakKeyDictionary()
_FIT_LOCKS_GUARD = threading.Lock()


def fit_lock(estimator):
    """The lock that serialises the fitting methods of ``estimator``."""
    with _FIT_LOCKS_GUARD:
        lock = _FIT_LOCKS.get(estimator)
        if lock is None:
            lock = _FIT_LOCKS[estimator] = threading.RLock()
        return lock


def atomic(method):
    """Make a fitting method all-or-nothing on the estimator's attributes,
    and serialise the fitting methods of one instance across threads.

    If ``method`` raises anything (including ``KeyboardInterrupt``), the
    instance ``__dict__`` is restored to what it was before the call, so a
    failed ``fit`` / ``partial_fit`` never leaves a half-updated model (for
    example a new ``n_features_in_`` set by input validation next to the old
    weights). The copy is shallow: fitting methods must build new arrays and
    a new training state rather than modify published ones in place, which is
    how ``fit`` (new state, committed at the end) and ``partial_fit`` (works
    on a copy of the state) are written.

    Two threads calling ``fit`` or ``partial_fit`` on one instance run one
    after the other (a per-instance re-entrant lock, :func:`fit_lock`):
    without it, each ``partial_fit`` would continue from the state it copied
    and the last to finish would silently drop the other's update.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with fit_lock(self):
            saved = dict(self.__dict__)
            try:
                return method(self, *args, **kwargs)
            except BaseException:
                self.__dict__.clear()
                self.__dict__.update(saved)
                raise

    return wrapper


def validate_method_params(constraints):
    """scikit-learn's ``validate_params`` for a method defined on a mixin:
    errors name the estimator's class (``BernoulliRBM.log_partition``), not
    the mixin that defines the method, which several classes share. As there,
    validation is skipped under ``skip_parameter_validation`` and in the
    scikit-learn functions the method calls."""

    def decorate(func):
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(self, *args, **kwargs):
            if get_config()["skip_parameter_validation"]:
                return _call(signature, func, self, args, kwargs)
            bound = _bind(signature, func, self, args, kwargs)
            bound.apply_defaults()
            params = {k: bound.arguments[k] for k in constraints}
            validate_parameter_constraints(
                constraints,
                params,
                caller_name=f"{type(self).__name__}.{func.__name__}",
            )
            with config_context(skip_parameter_validation=True):
                return func(self, *args, **kwargs)

        return wrapper

    return decorate


def _bind(signature, func, self, args, kwargs):
    """``signature.bind``, whose errors name the estimator's class and the
    method (Python's own would name the mixin that defines it)."""
    try:
        return signature.bind(self, *args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{type(self).__name__}.{func.__name__}(): {exc}") from None


def _call(signature, func, self, args, kwargs):
    """``func(self, *args, **kwargs)``; a TypeError of the call itself (the
    arguments do not bind) names the estimator's class. The signature is
    bound only after a TypeError: nothing is spent on a good call."""
    try:
        return func(self, *args, **kwargs)
    except TypeError:
        _bind(signature, func, self, args, kwargs)  # raises if the call's own
        raise


def named_arguments(func):
    """A method defined on a mixin whose argument errors (a missing or
    unexpected argument) name the estimator's class, as
    :func:`validate_method_params` does for the methods it checks."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(self, *args, **kwargs):
        return _call(signature, func, self, args, kwargs)

    return wrapper


def caller_level():
    """``stacklevel`` of a warning raised by the function that calls this
    one, pointing at the first frame outside the package and scikit-learn:
    the user's call (``fit``, ``predict``, ``recommend``...), through any
    wrappers, joblib's included (``orientation="both"`` fits its halves
    through it)."""
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_globals.get("__name__", "").startswith(
        ("sklearn_rbm.", "sklearn.", "joblib.")
    ):
        frame, level = frame.f_back, level + 1
    return level
