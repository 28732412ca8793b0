"""Saving and loading fitted estimators without pickle's code execution.

:func:`save` and :func:`load` wrap the `skops <https://skops.readthedocs.io>`_
format: a zip of JSON and ``.npy`` files that is loaded by reconstructing only
types on an explicit allow-list, so a tampered file cannot run arbitrary code
the way a pickle can. The allow-list is :func:`trusted_types`: every estimator
class exported by ``sklearn_rbm`` and the private classes their fitted state
holds (listed in :data:`STATE_TYPES`). numpy arrays and scalars,
``numpy.random.Generator`` / its bit generators and scikit-learn's own
estimators (a ``Pipeline`` around an RBM, say) are trusted by skops itself;
scipy sparse matrices are not, and no fitted state holds one (derived
caches, such as the recommender's user x item matrix, are left out of the
saved state). ``trusted=True`` is never used.

Trusted types can still hold untrustworthy values: a tampered file may keep
every type and change the arrays (a rating index beyond the number of items,
a NaN weight, a shape that does not match). Every estimator therefore
validates its state when it is loaded, by :func:`load` as by pickle and
joblib, before anything uses it (types, shapes that agree with each other,
dtypes, finite values, index bounds; see ``sklearn_rbm/training/checks.py``),
and an invalid model raises ``ValueError`` naming the attribute and the
problem, e.g. ``loaded model is invalid: _store.var has index 9999 >= 30
items``.

A file holds the sklearn_rbm version that wrote it; loading it under a
different version warns with
:class:`~sklearn_rbm.exceptions.InconsistentVersionWarning`, as unpickling
does. Models loaded by :func:`load` predict and continue training
(``partial_fit``) bit-identically to the saved one.

Requires the optional dependency ``skops`` (``pip install skops``).

Examples
--------
>>> from sklearn_rbm import BernoulliRBM
>>> from sklearn_rbm.persistence import load, save
>>> rbm = BernoulliRBM(n_components=2, max_iter=2, random_state=0)
>>> rbm = rbm.fit([[0, 1], [1, 0], [1, 1]])
>>> save(rbm, path)  # doctest: +SKIP
>>> rbm2 = load(path)  # doctest: +SKIP
"""

import os
from collections.abc import Iterable

from sklearn.utils._param_validation import InvalidParameterError

#: Fully qualified names of the private classes found in fitted estimators.
#: Extend this tuple when an estimator stores a new class in its state.
STATE_TYPES = (
    "sklearn_rbm.engine.partition.LogPartition",
    "sklearn_rbm.engine.tempering.TemperingState",
    "sklearn_rbm.recommender.ids.IdIndex",
    "sklearn_rbm.recommender.store.RatingStore",
    "sklearn_rbm.training.optimizers.AdamState",
    "sklearn_rbm.training.optimizers.LazyMomentumState",
    "sklearn_rbm.training.optimizers.MomentumState",
    "sklearn_rbm.training.state.DenseState",
    "sklearn_rbm.training.state.RatingState",
)

#: The names files written by 0.1.0.dev0 give its classes (before the
#: package layout of the one-engine refactor); they import from thin
#: re-exports (``sklearn_rbm._compat``), so that those files keep loading.
LEGACY_TYPES = (
    "sklearn_rbm._bernoulli.BernoulliRBM",
    "sklearn_rbm._gaussian.GaussianBernoulliRBM",
    "sklearn_rbm._partition.LogPartition",
    "sklearn_rbm._recommender.CategoricalRBMRecommender",
    "sklearn_rbm._recommender._IdIndex",
    "sklearn_rbm._recommender._Ratings",
    "sklearn_rbm._training.TrainState",
)

#: numpy / scipy types of the fitted state that skops might not trust by
#: default in every version (harmless when skops already trusts them).
LIBRARY_TYPES = (
    "numpy.random._generator.Generator",
    "numpy.random._pcg64.PCG64",
    "numpy.dtype",
)


def _skops_io():
    try:
        import skops.io as sio
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ImportError(
            "sklearn_rbm.persistence needs skops: pip install skops "
            "(or pip install 'sklearn-rbm[persistence]')."
        ) from exc
    return sio


def trusted_types():
    """The allow-list used by :func:`load`: fully qualified type names.

    Every estimator class in ``sklearn_rbm.__all__``, :data:`STATE_TYPES`,
    :data:`LEGACY_TYPES` and :data:`LIBRARY_TYPES`.
    """
    from sklearn.base import BaseEstimator

    import sklearn_rbm

    names = []
    for name in sklearn_rbm.__all__:
        obj = getattr(sklearn_rbm, name, None)
        if isinstance(obj, type) and issubclass(obj, BaseEstimator):
            names.append(f"{obj.__module__}.{obj.__qualname__}")
    return sorted(
        set(names) | set(STATE_TYPES) | set(LEGACY_TYPES) | set(LIBRARY_TYPES)
    )


def save(estimator, path):
    """Write ``estimator`` (fitted or not) to ``path`` in the skops format.

    Parameters
    ----------
    estimator : estimator instance
        Any sklearn_rbm estimator, including one in mid-training (after
        ``partial_fit``); its persistent chains, momentum and random stream
        are saved too.
    path : str or path-like
        Destination file (conventionally ``*.skops``).
    """
    sio = _skops_io()
    sio.dump(estimator, os.fspath(path))


def load(path, trusted=None):
    """Read an estimator written by :func:`save`.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.
    trusted : sequence of str, default=None
        Extra fully qualified type names to trust on top of
        :func:`trusted_types` and those skops trusts itself (numpy and
        scikit-learn types), for example the class of a third-party step
        in a Pipeline that contains an RBM.
        ``True`` is refused: it would trust anything in the file.

    Returns
    -------
    estimator : estimator instance

    Raises
    ------
    TypeError
        When ``trusted`` is not None or a sequence of str (a single str, a
        number, a class object); the error, scikit-learn's
        ``InvalidParameterError``, is also a ``ValueError``.
    ValueError
        When ``trusted`` is True (it would trust any type), or when the
        loaded model is invalid: its state is validated on load (shapes,
        dtypes, finite values, index bounds), and the message names the
        attribute and the problem.
    skops.io.exceptions.UntrustedTypesFoundException
        When the file holds a type outside the allow-list; the message lists
        the offending types.

    A damaged file that skops cannot parse raises ``ValueError`` too
    (``benchmarks/fuzz.py`` mutates saved files to find such cases).
    """
    if trusted is True:
        raise ValueError(
            "trusted must be None or a list of fully qualified type names; "
            f"got {trusted!r} (trusted=True would let the file construct any "
            "type)."
        )
    extra = _trusted_names(trusted)
    sio = _skops_io()
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        return sio.load(os.fspath(path), trusted=trusted_types() + extra)
    except (UntrustedTypesFoundException, ValueError, OSError):
        raise  # untrusted types, an invalid model (named), a missing file
    except Exception as exc:
        # a damaged or crafted file that skops cannot parse (zipfile, json,
        # tokenize, numpy and index errors were all seen by fuzzing): one
        # clear error instead of whatever its parser happened to trip on
        raise ValueError(
            f"{os.fspath(path)} is not a valid skops model file "
            f"({type(exc).__name__}: {str(exc)[:200]})"
        ) from exc


def _trusted_names(trusted):
    """The names of ``trusted``: None or a sequence (any iterable) of str.

    A wrong value raises scikit-learn's ``InvalidParameterError``, which is
    both a ``TypeError`` and a ``ValueError``.
    """
    if trusted is None:
        return []
    if isinstance(trusted, str | bytes) or not isinstance(trusted, Iterable):
        raise InvalidParameterError(
            "trusted must be None or a sequence of fully qualified type names "
            f"(str), e.g. ['package.module.Class']; got {type(trusted).__name__} "
            f"{trusted!r:.80}."
        )
    names = list(trusted)
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise InvalidParameterError(
                f"trusted must hold fully qualified type names (str); trusted[{i}] "
                f"is {type(name).__name__} {name!r:.80}."
            )
    return names
