"""Rating data sets: MovieLens loaders, synthetic ratings and a per-user split.

The MovieLens data sets are published by GroupLens Research (University of
Minnesota) under a licence that does not allow redistribution, so this
package never ships them: :func:`load_movielens` reads a local copy.

Modules: ``movielens`` (:func:`load_movielens`, :func:`get_data_home`),
``synthetic`` (:func:`make_ratings`), ``split``
(:func:`train_test_split_ratings`) and ``digits``
(:func:`load_nudged_digits`).
"""

from .digits import load_nudged_digits
from .movielens import get_data_home, load_movielens
from .split import train_test_split_ratings
from .synthetic import make_ratings

__all__ = [
    "get_data_home",
    "load_movielens",
    "load_nudged_digits",
    "make_ratings",
    "train_test_split_ratings",
]
