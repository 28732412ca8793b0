"""Sampling methods of the dense RBMs: ``gibbs`` and ``sample``."""

from numbers import Integral

import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import check_is_fitted

from ..engine import _xp
from ..engine.gibbs import DenseChain, gibbs_chain
from ._common import seed_from


class SamplingMixin:
    """Block-Gibbs sampling of a fitted dense RBM (the engine's
    :func:`~sklearn_rbm.engine.gibbs.gibbs_chain`)."""

    def gibbs(self, v, *, random_state=None):
        """One block-Gibbs step ``v -> h -> v'``.

        Parameters
        ----------
        v : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible states to start from.
        random_state : int, RandomState instance or None, default=None
            Seed of the sampler.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features)
            A visible sample from ``p(v | h)`` with ``h ~ p(h | v)``.
        """
        check_is_fitted(self)
        v = self._validate_X(v, reset=False, method="gibbs")
        rng = seed_from(random_state, like=v)
        return self._run_chains(v, 1, rng, return_mean=False)

    @validate_params(
        {
            "n_samples": [Interval(Integral, 1, None, closed="left")],
            "n_steps": [Interval(Integral, 1, None, closed="left")],
            "init": ["array-like", "sparse matrix", None],
            "random_state": ["random_state"],
            "return_mean": ["boolean"],
        },
        prefer_skip_nested_validation=True,
    )
    def sample(
        self,
        n_samples=1,
        n_steps=1000,
        *,
        init=None,
        random_state=None,
        return_mean=False,
    ):
        """Draw visible samples by running block-Gibbs chains.

        Parameters
        ----------
        n_samples : int, default=1
            Number of independent chains (ignored when ``init`` is given).
        n_steps : int, default=1000
            Gibbs steps per chain.
        init : array-like of shape (n_samples, n_features), default=None
            Visible states to start from; by default chains start from the
            base-rate model (independent units matching the data marginals).
        random_state : int, RandomState instance or None, default=None
            Seed of the sampler.
        return_mean : bool, default=False
            Return ``E[v | h]`` at the last step instead of a sample (smoother
            pictures of the same chain state).

        Returns
        -------
        V : ndarray of shape (n_samples, n_features)
            The chains' final visible states.
        """
        check_is_fitted(self)
        family = self._family()
        p = self._params()
        rng = seed_from(random_state, like=p["W"])
        if init is None:
            dtype = _xp.numpy_dtype(p["W"].dtype, _xp.get_xp(p["W"]))
            base = family.base_params(
                self._state.moments, p["W"].shape[0], dtype, like=p
            )
            base = _xp.dict_like(base, p["W"])
            v0 = family.sample(_xp.broadcast_rows(base["b"], n_samples), base, rng)
        else:
            v0 = self._validate_X(init, reset=False, method="sample")
        return self._run_chains(v0, n_steps, rng, return_mean)

    def _run_chains(self, v0, n_steps, rng, return_mean):
        """Gibbs chains from validated visible states ``v0`` (see :meth:`sample`)."""
        chain = DenseChain(self._family(), self._params())
        if sp.issparse(v0):
            v0 = v0.toarray()
        h = chain.sample_hidden(chain.hidden_proba(v0), rng)
        v, _, h = gibbs_chain(chain, h, n_steps, rng)
        if return_mean:
            return chain.mean_visible(h)
        return v
