"""Legacy import path (0.1.0.dev0) of :class:`LogPartition` in saved models."""

from .engine.partition import LogPartition

__all__ = ["LogPartition"]
