"""Sampling methods of the dense RBMs: ``gibbs`` and ``sample``."""

import threading
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..engine import _xp
from ..engine.gibbs import DenseChain, gibbs_chain
from ..engine.tempering import tempered_chains
from ..training.threads import training_threads
from ._common import seed_from, validate_method_params

#: guards the creation of the sampling streams (see ``_sampling_rng``)
_STREAM_LOCK = threading.Lock()


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
            Seed of the sampler; ``None`` draws from the estimator's
            ``random_state`` as :meth:`sample` does.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features)
            A visible sample from ``p(v | h)`` with ``h ~ p(h | v)``.
        """
        check_is_fitted(self)
        v = self._validate_X(v, reset=False, method="gibbs")
        rng = self._sampling_rng(random_state, like=v)
        return self._run_chains(v, 1, rng, return_mean=False)

    @validate_method_params(
        {
            "n_samples": [Interval(Integral, 1, None, closed="left")],
            "n_steps": [Interval(Integral, 1, None, closed="left")],
            "init": ["array-like", "sparse matrix", None],
            "random_state": ["random_state"],
            "return_mean": ["boolean"],
            "method": [StrOptions({"gibbs", "tempering"})],
            "n_temperatures": [Interval(Integral, 2, None, closed="left")],
        },
    )
    def sample(
        self,
        n_samples=1,
        n_steps=1000,
        *,
        init=None,
        random_state=None,
        return_mean=False,
        method="gibbs",
        n_temperatures=10,
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
            Seed of the sampler. ``None`` takes the next seed of a stream
            made from the estimator's ``random_state``: with an int there,
            the calls after a ``fit``, ``partial_fit`` or load give a
            reproducible sequence (successive calls differ, as a chain's
            steps must); a RandomState instance there is drawn from; None
            there means fresh entropy.
        return_mean : bool, default=False
            Return ``E[v | h]`` at the last step instead of a sample (smoother
            pictures of the same chain state).
        method : {"gibbs", "tempering"}, default="gibbs"
            ``"gibbs"`` runs plain block-Gibbs chains. ``"tempering"`` runs
            parallel tempering (``sklearn_rbm.engine.tempering``): each
            chain has ``n_temperatures - 1`` helper replicas on the path from
            the base-rate model (inverse temperature 0) to the model (1),
            neighbours swap states, and the ladder adapts during the first
            half of the ``n_steps`` sweeps to keep the swap rates near 0.35.
            Each sweep costs ``n_temperatures`` Gibbs steps; it mixes
            between modes that plain Gibbs chains rarely leave.
        n_temperatures : int, default=10
            Replicas per chain with ``method="tempering"`` (ignored
            otherwise).

        Returns
        -------
        V : ndarray of shape (n_samples, n_features)
            The chains' final visible states.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from sklearn_rbm import BernoulliRBM
        >>> X = (load_digits().data > 7).astype(float)
        >>> rbm = BernoulliRBM(n_components=16, max_iter=5, random_state=0).fit(X)
        >>> V = rbm.sample(5, 100, method="tempering", n_temperatures=4,
        ...                random_state=0)
        >>> V.shape
        (5, 64)
        """
        check_is_fitted(self)
        family = self._family()
        p = self._params()
        if method == "tempering" and not _xp.is_numpy(p["W"]):
            raise ValueError(
                "method='tempering' supports numpy arrays only for now; this "
                "model's parameters are not numpy arrays. Use method='gibbs'."
            )
        if init is not None:  # checked before the call draws its seed
            v0 = self._validate_X(init, reset=False, method="sample")
            if sp.issparse(v0):
                v0 = v0.toarray()
        rng = self._sampling_rng(random_state, like=p["W"])
        if init is None:
            base = _xp.dict_like(self._base_model(), p["W"])
            v0 = family.sample(_xp.broadcast_rows(base["b"], n_samples), base, rng)
        with training_threads():  # n_steps rounds of thin products
            if method == "tempering":
                return self._run_tempering(
                    v0, n_steps, rng, return_mean, n_temperatures
                )
            return self._run_chains(v0, n_steps, rng, return_mean)

    def _sampling_rng(self, random_state, like):
        """The generator of one sampling call (see ``random_state`` of
        :meth:`sample`). The stream of an int ``self.random_state`` lives in
        the training state's cache, keyed by the seed, so it restarts when
        the state changes or is loaded, or the seed changes; a RandomState
        instance is itself the stream (scikit-learn's convention)."""
        seed = self.random_state
        if random_state is None and isinstance(seed, Integral):
            with _STREAM_LOCK:  # concurrent first calls share one stream
                cache = self._fit_state().cache
                stream = cache.get("sampling_stream")
                if stream is None or stream[0] != seed:
                    stream = cache["sampling_stream"] = (seed, seed_from(seed))
                random_state = int(stream[1].integers(2**31 - 1))
        elif random_state is None:
            random_state = seed  # a RandomState instance, or None: entropy
        return seed_from(random_state, like=like)

    def _run_tempering(self, v0, n_steps, rng, return_mean, n_temperatures):
        """Parallel tempering from ``v0`` at the top of the ladder."""
        family, p = self._family(), self._params()
        v0 = np.asarray(v0, dtype=p["W"].dtype)
        pt = tempered_chains(
            family,
            p,
            self._base_model()["b"],
            v0.shape[0],
            n_steps,
            rng,
            n_temperatures=int(n_temperatures),
            v0=v0,
        )
        if return_mean:
            chain = DenseChain(family, p)
            h = chain.sample_hidden(chain.hidden_proba(pt.top()), rng)
            return chain.mean_visible(h)
        return pt.top().copy()

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
