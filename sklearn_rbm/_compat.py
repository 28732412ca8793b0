"""Loading models saved by sklearn_rbm 0.1.0.dev0 before the package layout
of the one-engine refactor.

Those files name the old module paths (``sklearn_rbm._bernoulli``,
``sklearn_rbm._training.TrainState``, ``sklearn_rbm._recommender._IdIndex``,
...), which stay importable as thin re-exports, and hold one all-fields
training state, :class:`LegacyTrainState`, which the estimators convert to
their own state type on load (``VersionedStateMixin.__setstate__``).
"""

from dataclasses import dataclass, field

import numpy as np

from .training.optimizers import AdamState, LazyMomentumState, MomentumState
from .training.state import DenseState, RatingState, fill_defaults


@dataclass
class LegacyTrainState:
    """The training state of 0.1.0.dev0 (``sklearn_rbm._training.TrainState``)."""

    params: dict
    velocity: dict
    rng: np.random.Generator
    chains: np.ndarray | None = None
    offsets: tuple | None = None
    moments: tuple | None = None
    n_updates: int = 0
    n_epochs: int = 0
    cache: dict = field(default_factory=dict)
    lr_factor: float = 1.0
    lazy: dict = field(default_factory=dict)
    adam: dict = field(default_factory=dict)

    def __setstate__(self, state):
        self.__dict__.update(state)
        fill_defaults(self)


# the name the old files give the class
LegacyTrainState.__name__ = LegacyTrainState.__qualname__ = "TrainState"
LegacyTrainState.__module__ = "sklearn_rbm._training"


def _common(old):
    return dict(
        params=old.params,
        rng=old.rng,
        n_updates=old.n_updates,
        n_epochs=old.n_epochs,
        lr_factor=old.lr_factor,
    )


def dense_state(old):
    """A :class:`DenseState` from a legacy state of a dense RBM."""
    return DenseState(
        **_common(old),
        opt=MomentumState(old.velocity),
        chains=old.chains,
        offsets=old.offsets,
        moments=old.moments,
        cache=old.cache,
    )


def rating_state(old):
    """A :class:`RatingState` from a legacy state of the recommender."""
    lz = old.lazy
    n_rows = old.params["b"].shape[0]
    last = lz.get("last", np.zeros(n_rows, np.int64))
    opt = {
        "cd": LazyMomentumState(old.velocity, last, int(lz.get("t", 0)), lz.get("coef"))
    }
    if old.adam:
        ad = old.adam
        opt["fine_tune"] = AdamState(int(ad["t"]), dict(ad["m"]), dict(ad["v"]))
    return RatingState(**_common(old), opt=opt)
