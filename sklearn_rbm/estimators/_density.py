"""Density-model methods of the dense RBMs: free energy, log Z, likelihoods."""

import hashlib
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted

from ..engine import _xp
from ..engine.gibbs import free_energy
from ..engine.partition import CHECK_TOL, MAX_EXACT_UNITS, log_likelihood_raise
from ..engine.partition import log_partition as _log_partition
from ..training.threads import training_threads
from ._common import seed_from, validate_method_params


def _np_dtype(p):
    """The numpy dtype of the model's parameters (base models are built in
    numpy from the host-side data moments, then moved to the device)."""
    return _xp.numpy_dtype(p["W"].dtype, _xp.get_xp(p["W"]))


#: the keywords of :meth:`DensityMixin.log_partition`, also the values that
#: ``log_partition_params`` may give them
_LOG_PARTITION_CONSTRAINTS = {
    "method": [StrOptions({"auto", "exact", "ais"})],
    "n_betas": [Interval(Integral, 2, None, closed="left")],
    "n_runs": [Interval(Integral, 2, None, closed="left")],
    "schedule": [StrOptions({"fixed", "adaptive"})],
    "check": ["boolean"],
    "check_tol": [Interval(Real, 0, None, closed="neither")],
    "random_state": ["random_state"],
}


class DensityMixin:
    """``free_energy``, ``log_partition``, ``score_samples`` (exact or AIS),
    ``score_samples_raise`` and ``score`` of a fitted dense RBM.

    Needs ``_validate_X``, ``_family``, ``_params`` and a ``_state`` with the
    running data ``moments`` (the base-rate model of AIS).
    """

    def _fit_state(self, why=None):
        """The training state that ``fit`` and ``partial_fit`` record (data
        moments, caches, the sampling stream); a clear error for weights
        assigned to an estimator that was never fitted (``why``: what needs
        the state, by default the density methods)."""
        state = self.__dict__.get("_state")
        if state is None:
            name = type(self).__name__
            why = why or (
                "the log-partition function, likelihoods and samplers lack the "
                "data's base rates that fit records"
            )
            raise NotFittedError(
                f"This {name} has weights but no training state: were its "
                "fitted attributes assigned to an estimator that was never "
                f"fitted? Without it {why}. Call {name}(..., max_iter=0)"
                ".fit(X) on the data first (no epochs), then assign the weights."
            )
        return state

    def free_energy(self, X):
        """Free energy ``F(v)`` with ``p(v) = exp(-F(v)) / Z``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        F : ndarray of shape (n_samples,)
            Free energy of each sample, in nats.
        """
        return self._free_energy(X, "free_energy")

    def _free_energy(self, X, method):
        """:meth:`free_energy`; errors name the public ``method`` called."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False, method=method)
        return free_energy(self._family(), X, self._params())

    @validate_method_params(_LOG_PARTITION_CONSTRAINTS)
    def log_partition(
        self,
        method="auto",
        *,
        n_betas=14500,
        n_runs=100,
        schedule="fixed",
        check=True,
        check_tol=CHECK_TOL,
        random_state=None,
    ):
        """Log-partition function ``log Z`` of the fitted model, cached.

        Parameters
        ----------
        method : {"auto", "exact", "ais"}, default="auto"
            ``"exact"`` enumerates the smaller layer (the hidden one for
            continuous visible units; at most 2**20 states);
            ``"ais"`` runs annealed importance sampling from the base-rate
            model; ``"auto"`` picks exact when it is cheap.
        n_betas : int, default=14500
            Number of AIS inverse temperatures (Salakhutdinov & Murray 2008);
            the fixed schedule uses at least 4 (the estimate's ``n_betas``
            says how many ran).
        n_runs : int, default=100
            Number of independent AIS runs.
        schedule : {"fixed", "adaptive"}, default="fixed"
            AIS temperatures: ``"fixed"`` spaces them as Salakhutdinov &
            Murray (2008); ``"adaptive"`` places them at equal steps of the
            log-weight spread measured by a short pilot run (about 2% of
            the cost), so that every step has about the same log-weight
            variance.
        check : bool, default=True
            Run a second, independent AIS estimate from another base model
            (the model's own visible biases) and warn with
            :class:`~sklearn_rbm.exceptions.UnreliableEstimateWarning` when
            the two disagree (see ``check_tol``), when either run's importance
            weights have collapsed onto a few runs (effective sample size
            under 5% of ``n_runs``, and under 2), or when a search for heavy
            hidden states proves ``log Z`` above the estimate. Doubles the cost of AIS.
        check_tol : float, default=1.0
            Tolerance of the check, in nats: it warns when the two estimates
            differ by more than ``check_tol``, or when twice a standard error
            (the half-width of a 95% interval) exceeds it.
        random_state : int, RandomState instance or None, default=None
            Seed of the AIS runs; ``None`` uses the estimator's ``random_state``.

        Returns
        -------
        estimate : LogPartition
            ``log_z``, ``std_err`` (0 for exact), ``ess`` (the effective
            sample size of the AIS weights), ``method``, the settings and the
            check (``log_z_check``, ``std_err_check``, ``disagreement``,
            ``log_z_bound``, and ``log_z_ais`` when the check raised
            ``log_z``). The latest estimate is cached and used by
            :meth:`score_samples`, except that an exact value, once cached,
            stays over later AIS estimates of the same parameters.

        Warns
        -----
        UnreliableEstimateWarning
            When the AIS check fails. AIS underestimates ``log Z`` on average,
            so log-likelihoods from such an estimate are likely optimistic.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from sklearn_rbm import BernoulliRBM
        >>> X = (load_digits().data > 7).astype(float)
        >>> rbm = BernoulliRBM(n_components=16, max_iter=5, random_state=0).fit(X)
        >>> exact = rbm.log_partition("exact").log_z
        >>> est = rbm.log_partition("ais", n_betas=2000, n_runs=50, random_state=0)
        >>> bool(abs(est.log_z - exact) < 0.5), bool(est.disagreement < 1.0)
        (True, True)
        """
        check_is_fitted(self)
        p = self._params()
        family = self._family()
        base = self._base_model()
        rs = self.random_state if random_state is None else random_state
        with training_threads():  # thousands of thin products
            est = _log_partition(
                family,
                p,
                _xp.dict_like(base, p["W"]),
                method=method,
                n_betas=int(n_betas),
                n_runs=int(n_runs),
                schedule=schedule,
                check=bool(check),
                check_tol=float(check_tol),
                rng=seed_from(rs, like=p["W"]),
            )
        cached = self.log_partition_
        # an exact value stays cached over later estimates of the same model
        if cached is None or cached.method != "exact" or est.method == "exact":
            self._fit_state().cache["log_z"] = (self._fingerprint(), est)
        return est

    @validate_method_params(
        {
            "X": ["array-like", "sparse matrix"],
            "n_betas": [Interval(Integral, 2, None, closed="left")],
            "n_runs": [Interval(Integral, 1, None, closed="left")],
            "random_state": ["random_state"],
        },
    )
    def score_samples_raise(self, X, *, n_betas=2000, n_runs=1, random_state=None):
        """Conservative log-likelihood estimates by reverse AIS (RAISE).

        :meth:`score_samples` divides by an AIS estimate of ``Z``, which is
        low on average, so its likelihoods lean optimistic when AIS has too
        few temperatures. RAISE (Burda, Grosse & Salakhutdinov, 2015) starts
        a chain at each sample and anneals it *down* the same path to the
        base-rate model; the result is low on average, so on well-fitted
        data the two estimates usually bracket the true log-likelihood, and
        agree when both are accurate. It is not a bound: on points the model
        fits badly, with modes far apart, it can land far *above* the true
        value (see the user guide, "A conservative estimate"). It costs
        ``n_betas * n_runs`` Gibbs sweeps per sample: use a few hundred
        samples, not a whole test set. For a ``BernoulliRBM`` and values
        strictly between 0 and 1 it estimates the same quantity as
        :meth:`score_samples`, ``-F(x) - log Z`` of the mean-field input,
        which is not a log-probability.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.
        n_betas : int, default=2000
            Number of inverse temperatures (same schedule as AIS).
        n_runs : int, default=1
            Reverse chains per sample, averaged inside the log (more runs
            shrink the downward bias).
        random_state : int, RandomState instance or None, default=None
            Seed of the chains; ``None`` uses the estimator's ``random_state``.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            RAISE estimate of ``log p(x)`` per sample, in float64.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from sklearn_rbm import BernoulliRBM
        >>> X = (load_digits().data > 7).astype(float)
        >>> rbm = BernoulliRBM(n_components=16, max_iter=5, random_state=0).fit(X)
        >>> exact = rbm.score_samples(X[:20]).mean()  # exact: 16 hidden units
        >>> raise_ll = rbm.score_samples_raise(X[:20], n_betas=500, n_runs=10)
        >>> bool(abs(raise_ll.mean() - exact) < 0.5)
        True
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False, method="score_samples_raise")
        if sp.issparse(X):
            X = X.toarray()
        p = self._params()
        family = self._family()
        base = self._base_model()
        rs = self.random_state if random_state is None else random_state
        with training_threads():
            return log_likelihood_raise(
                family,
                p,
                _xp.dict_like(base, p["W"]),
                np.asarray(X) if _xp.is_numpy(X) else X,
                n_betas=int(n_betas),
                n_runs=int(n_runs),
                rng=seed_from(rs, like=p["W"]),
            )

    def _base_model(self):
        """Parameters of the base-rate model (AIS, RAISE, sampling starts), as
        numpy arrays (see :func:`~sklearn_rbm.engine._xp.dict_like`)."""
        p = self._params()
        return self._family().base_params(
            self._fit_state().moments, p["W"].shape[0], _np_dtype(p), like=p
        )

    def _fingerprint(self):
        h = hashlib.blake2b(digest_size=16)
        for k, v in sorted(self._params().items()):
            h.update(k.encode())
            h.update(np.ascontiguousarray(_xp.to_numpy(v)).tobytes())
        return h.hexdigest()

    def _cached_log_partition(self):
        cached = self._fit_state().cache.get("log_z")
        if cached is not None and cached[0] == self._fingerprint():
            return cached[1]
        return self.log_partition(**self._log_partition_kwargs())

    def _log_partition_kwargs(self):
        """``log_partition_params`` checked against :meth:`log_partition`'s
        keywords and their constraints (in ``fit`` already, not at the first
        score: in a grid search every fold's score would fail)."""
        params = self.log_partition_params or {}
        known = _LOG_PARTITION_CONSTRAINTS.keys()  # log_partition's keywords
        unknown = sorted(set(params) - known, key=repr)  # keys of any type
        if unknown:
            raise ValueError(
                f"log_partition_params has the keys {unknown}, which "
                f"log_partition does not take; it takes {sorted(known)}."
            )
        validate_parameter_constraints(
            {k: _LOG_PARTITION_CONSTRAINTS[k] for k in params},
            params,
            caller_name=f"log_partition_params of {type(self).__name__}",
        )
        return params

    def _check_exact_log_partition(self, n_features):
        """``log_partition_params`` with ``method="exact"`` refused in fit for
        a model too large to enumerate (as :meth:`_log_partition_kwargs`)."""
        if (self.log_partition_params or {}).get("method") != "exact":
            return
        bits = self._family().visible_state_bits(n_features)
        if min(int(self.n_components), bits) > MAX_EXACT_UNITS:
            layer = "the hidden layer" if np.isinf(bits) else "the smaller layer"
            raise ValueError(
                "log_partition_params asks for method='exact', but exact "
                f"log Z enumerates {layer}, which must have at most "
                f"{MAX_EXACT_UNITS} units (n_components={self.n_components}, "
                f"n_features={n_features}). Use method='ais' or 'auto'."
            )

    @property
    def log_partition_(self):
        """The latest cached :class:`LogPartition` estimate, or None."""
        check_is_fitted(self)
        cached = self._fit_state().cache.get("log_z")
        if cached is not None and cached[0] == self._fingerprint():
            return cached[1]
        return None

    def score_samples(self, X):
        """Log-likelihood ``log p(x)`` of each sample, in nats.

        Computed as ``-F(x) - log Z``. ``log Z`` is exact when a layer that
        can be enumerated has at most 20 units (the smaller layer of a
        ``BernoulliRBM``; the hidden layer of a ``GaussianBernoulliRBM``,
        whose visible units are continuous) and an AIS estimate otherwise (see
        :meth:`log_partition`; the first call computes and caches it). For a
        ``BernoulliRBM``, rows with values strictly between 0 and 1 get
        ``-F(x) - log Z`` of the mean-field input, which is not a
        log-probability of anything; it bounds the expected log-likelihood
        of the row's Bernoulli draws from below (Jensen).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            Log-likelihood (log-density for continuous visibles) per sample.
        """
        return self._score_samples(X, "score_samples")

    def _score_samples(self, X, method):
        F = self._free_energy(X, method)
        return -F - _xp.scalar(self._cached_log_partition().log_z, F)

    def score(self, X, y=None):
        """Mean log-likelihood of ``X`` in nats (higher is better).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.
        y : None
            Ignored.

        Returns
        -------
        score : float
            ``mean(score_samples(X))``.
        """
        ll = self._score_samples(X, "score")
        return float(np.mean(ll) if _xp.is_numpy(ll) else _xp.get_xp(ll).mean(ll))
