"""Legacy import path (0.1.0.dev0) of :class:`BernoulliRBM` in saved models."""

from .estimators.bernoulli import BernoulliRBM

__all__ = ["BernoulliRBM"]
