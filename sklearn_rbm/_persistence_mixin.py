"""Version stamp in the pickled state of every estimator.

Mix :class:`VersionedStateMixin` in *before* ``BaseEstimator`` (it cooperates
with scikit-learn's own ``__getstate__`` / ``__setstate__``, which stamp and
check ``_sklearn_version``). The pickled ``__dict__`` of a fitted estimator
then carries ``_sklearn_rbm_version``; unpickling (pickle, joblib, skops)
under a different sklearn_rbm version warns with
:class:`~sklearn_rbm.exceptions.InconsistentVersionWarning`.
"""

import inspect
import warnings

from .exceptions import InconsistentVersionWarning

_VERSION_KEY = "_sklearn_rbm_version"


def _current_version():
    from . import __version__

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
        # a model pickled before a parameter was added gets its default
        for name, par in inspect.signature(type(self).__init__).parameters.items():
            if name != "self" and par.default is not par.empty:
                state.setdefault(name, par.default)
        super().__setstate__(state)
