"""Legacy import path (0.1.0.dev0): the training state of saved models."""

from ._compat import LegacyTrainState as TrainState

__all__ = ["TrainState"]
