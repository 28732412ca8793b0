"""Training state and schedules.

A training state holds everything a fit needs to continue bit-identically
after pickling: the parameters, the random generator, counters, and the
state of each optimiser. :class:`DenseState` adds what the dense CD update
keeps (persistent chains, centring offsets, the data moments of the
base-rate model); :class:`RatingState` holds the recommender's optimiser
states per training phase.

A :class:`Schedule` gives the learning rate, momentum and number of Gibbs
steps of each epoch; :class:`CDSettings` adds the options of the dense CD
update (persistent chains, centering, how negative chains start).
"""

import copy
from dataclasses import MISSING, dataclass, field, fields

import numpy as np

#: entries of ``DenseState.cache`` that are pickled with the model
_KEPT_CACHE = ("log_z",)


@dataclass
class TrainState:
    """What every training path keeps between epochs and calls."""

    params: dict
    rng: np.random.Generator
    n_updates: int = 0
    n_epochs: int = 0
    #: learning rate of the last epoch of fit, as a multiple of the
    #: ``learning_rate`` parameter: where partial_fit continues after fit
    lr_factor: float = 1.0

    def copy(self):
        """A deep copy without derived values (a state that will change)."""
        return copy.deepcopy(self)

    def __setstate__(self, state):
        self.__dict__.update(state)
        fill_defaults(self)


def fill_defaults(obj):
    """Give the dataclass fields missing from ``obj`` their defaults (a
    state pickled by an older version lacks the newer fields)."""
    for f in fields(obj):
        if f.name not in obj.__dict__:
            if f.default_factory is not MISSING:
                setattr(obj, f.name, f.default_factory())
            elif f.default is not MISSING:
                setattr(obj, f.name, f.default)


@dataclass
class DenseState(TrainState):
    """State of the dense RBMs (Bernoulli, Gaussian)."""

    #: momentum SGD state (:class:`~sklearn_rbm.training.optimizers.MomentumState`)
    opt: object = None
    chains: np.ndarray | None = None  # hidden samples of persistent chains
    #: persistent parallel-tempering chains (``sampler="pt"``), a
    #: :class:`~sklearn_rbm.engine.tempering.TemperingState`
    tempering: object = None
    #: fast weights of ``sampler="fpcd"``: a dict of W, b, c
    fast: dict | None = None
    offsets: tuple | None = None  # (mu, lam) for centering
    moments: tuple | None = None  # running data moments for the base-rate model
    #: derived values: the cached log Z (kept when pickled: it is costly)
    cache: dict = field(default_factory=dict)

    def copy(self):
        new = super().copy()
        new.cache = {}
        return new

    def __getstate__(self):
        state = self.__dict__.copy()
        state["cache"] = {k: v for k, v in self.cache.items() if k in _KEPT_CACHE}
        return state


@dataclass
class RatingState(TrainState):
    """State of the recommender: one optimiser state per training phase
    (``{"cd": LazyMomentumState, "fine_tune": AdamState}``, made on first
    use)."""

    opt: dict = field(default_factory=dict)
    #: derived serving values (``recommender/cache.py``): never pickled nor
    #: copied (a changed model starts from an empty cache)
    serving: object = field(default=None, repr=False, compare=False)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["serving"] = None
        return state


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """Learning rate, momentum and Gibbs steps of each epoch."""

    learning_rate: float
    momentum: float = 0.0
    #: int, or a tuple of (first_epoch, k) milestones
    cd_steps: object = 1
    learning_rate_schedule: str = "constant"
    momentum_schedule: str = "warmup"
    max_iter: int = 1
    #: the estimator parameter that sets ``learning_rate`` (error messages)
    learning_rate_name: str = "learning_rate"

    def learning_rate_at(self, epoch):
        if self.learning_rate_schedule == "linear":
            return self.learning_rate * (1.0 - epoch / max(self.max_iter, 1))
        return self.learning_rate

    def momentum_at(self, epoch):
        # Hinton (2010): start at 0.5 while the weights move fast, then raise.
        if self.momentum_schedule == "warmup" and epoch < 5:
            return min(0.5, self.momentum)
        return self.momentum

    def cd_steps_at(self, epoch):
        if isinstance(self.cd_steps, int | np.integer):
            return int(self.cd_steps)
        k = 1
        for start, steps in self.cd_steps:
            if epoch >= start:
                k = steps
        return int(k)


@dataclass(frozen=True, kw_only=True)
class CDSettings(Schedule):
    """The schedule plus the options of the dense CD update."""

    persistent: bool = False
    n_chains: int = 1
    centering: bool = False
    offset_rate: float = 0.01
    #: start of non-persistent negative chains: "data" (CD) or "noise", fresh
    #: samples of the base-rate model at every update (Liao et al. 2022)
    negative_init: str = "data"
    #: persistent chains by "gibbs", parallel tempering ("pt") or Gibbs with
    #: fast weights ("fpcd")
    sampler: str = "gibbs"
    n_temperatures: int = 10
    #: step size of the fast weights of ``sampler="fpcd"`` (constant) and
    #: their decay per update (Tieleman & Hinton 2009)
    fast_learning_rate: float = 0.0
    fast_decay: float = 0.95

    @property
    def tempering(self):
        """Persistent chains run by parallel tempering."""
        return self.persistent and self.sampler == "pt"

    @property
    def fast_weights(self):
        """Persistent chains with the fast weights of FPCD."""
        return self.persistent and self.sampler == "fpcd"
