"""The RBM engine: visible families, conditionals and the Gibbs loop,
gradient statistics, and the log-partition estimators.

* ``families.py``: Bernoulli, Gaussian and Categorical visible units;
* ``gibbs.py``: hidden and visible conditionals, free energy, the one Gibbs
  loop (:func:`gibbs_chain`) and the dense chain;
* ``sparse_categorical.py``: the categorical family at rated entries only
  (the recommender's kernels and its chain);
* ``statistics.py``: sufficient statistics and the (centered) gradient;
* ``partition.py``: log Z by enumeration, AIS and RAISE;
* ``ais_check.py``: the check of an AIS estimate (a second run, the
  effective sample size, a proven lower bound from a mode search);
* ``numerics.py``: softplus, sigmoid, uniform draws, data moments.
"""

from .families import Bernoulli, Categorical, Gaussian, VisibleFamily
from .gibbs import DenseChain, gibbs_chain
from .partition import LogPartition

__all__ = [
    "Bernoulli",
    "Categorical",
    "DenseChain",
    "Gaussian",
    "LogPartition",
    "VisibleFamily",
    "gibbs_chain",
]
