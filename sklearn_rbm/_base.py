"""The estimator base shared by the dense RBMs (Bernoulli and Gaussian).

A subclass names its visible family and its input checks; everything else --
fit / partial_fit, transform, scoring, sampling, the log-partition cache --
lives here, on top of the engine.
"""

import hashlib
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._engine import (
    free_energy,
    gibbs_from_hidden,
    hidden_proba,
    sample_bernoulli,
    visible_field,
)
from ._partition import log_likelihood_raise
from ._partition import log_partition as _log_partition
from ._persistence_mixin import VersionedStateMixin
from ._training import (
    EarlyStopping,
    Settings,
    cd_update,
    check_finite,
    continued_learning_rate,
    init_chains,
    init_offsets,
    init_state,
    run_epochs,
    training_errstate,
    training_threads,
)
from ._utils import atomic, data_moments

_COMMON_CONSTRAINTS = {
    "n_components": [Interval(Integral, 1, None, closed="left")],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "max_iter": [Interval(Integral, 0, None, closed="left")],
    "cd_steps": [Interval(Integral, 1, None, closed="left")],
    "persistent": ["boolean"],
    "n_chains": [Interval(Integral, 1, None, closed="left"), None],
    "momentum": [Interval(Real, 0, 1, closed="left")],
    "momentum_schedule": [StrOptions({"constant", "warmup"})],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "learning_rate_schedule": [StrOptions({"constant", "linear"})],
    "centering": ["boolean"],
    "visible_bias_init": [StrOptions({"base_rates", "zeros"})],
    "shuffle": ["boolean"],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


def _reject_no_columns(X):
    """A clear error for 2-d input without columns (pandas' is obscure)."""
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 2 and shape[1] == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={tuple(shape)}) while a "
            "minimum of 1 is required."
        )


def _check_magnitude(X):
    """Refuse finite values so large that squares and energies overflow.

    Every family needs ``x**2`` (data moments) or products of ``x`` with the
    weights, summed over rows and features; ``|x| <= finfo.max ** 0.25``
    (1.2e77 in float64, 4.3e9 in float32) keeps all of them finite. Data that
    large has to be rescaled for an RBM anyway.
    """
    data = X.data if sp.issparse(X) else X
    if not data.size:
        return
    limit = np.finfo(data.dtype).max ** 0.25
    top = max(float(data.max()), -float(data.min()))
    if top > limit:
        raise ValueError(
            f"X has values up to {top:.3g} in magnitude; an RBM needs |X| <= "
            f"{limit:.3g} in {data.dtype} (squares and energies must stay "
            "finite). Rescale the data, e.g. with StandardScaler or MinMaxScaler."
        )


def _seed_from(random_state):
    """A numpy Generator from a scikit-learn ``random_state`` argument."""
    return np.random.default_rng(check_random_state(random_state).randint(2**31 - 1))


class _BaseRBM(
    VersionedStateMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Shared implementation; see :class:`BernoulliRBM` for the parameters."""

    _parameter_constraints: dict = dict(_COMMON_CONSTRAINTS)
    #: engine parameter name -> public fitted attribute
    _param_attrs = {
        "W": "components_",
        "b": "intercept_visible_",
        "c": "intercept_hidden_",
    }
    _accept_sparse = False
    _score_name = "score"

    # ------------------------------------------------------------------ hooks
    def _family(self):
        raise NotImplementedError

    def _check_values(self, X):
        """Family-specific value checks on validated input (raise ValueError)."""

    def _check_training_data(self, X, previous=None):
        """Checks of training data only (raise ValueError).

        ``previous`` holds the running data moments of the model being
        continued by :meth:`partial_fit` (None in ``fit`` and a first call).
        """

    def _monitor_score(self, X):
        """Cheap deterministic score (higher is better) for progress/early stop."""
        raise NotImplementedError

    # -------------------------------------------------------------- helpers
    def _validate_X(self, X, *, reset):
        _reject_no_columns(X)
        # a float64 value beyond the float32 range becomes inf in the cast to a
        # float32 model's dtype, which validate_data then reports as "too large
        # for dtype('float32')"; the cast itself must not warn, nor must
        # scikit-learn's fast finiteness check (a sum: inf + -inf warns
        # "invalid value") -- the ValueError that follows names the problem
        with np.errstate(over="ignore", invalid="ignore"):
            X = validate_data(
                self,
                X,
                accept_sparse="csr" if self._accept_sparse else False,
                dtype=[np.float64, np.float32] if reset else self.components_.dtype,
                reset=reset,
            )
        if X.shape[0] == 0:  # pragma: no cover - validate_data already refuses
            raise ValueError("Input X is empty (0 samples).")
        if sp.issparse(X) and not X.has_canonical_format:
            # duplicate entries add up (the matrix's value is their sum): sum
            # them, on a copy, before any check reads X.data
            X = X.copy()
            X.sum_duplicates()
        _check_magnitude(X)
        self._check_values(X)
        return X

    def _params(self):
        return {k: getattr(self, a) for k, a in self._param_attrs.items()}

    def _batch_size(self, n_samples, continuing):
        """The minibatch size for ``n_samples`` training rows.

        ``"auto"`` gives ``n_samples // 200`` clipped to [10, 100]: about 200
        updates per epoch up to batches of 100, the size that suits
        MNIST-scale data (measured in the user guide, "Small data sets").
        A model being continued keeps the size its chains were made for.
        """
        if self.batch_size != "auto":
            return int(self.batch_size)
        if continuing and hasattr(self, "batch_size_"):
            return self.batch_size_
        return int(min(100, max(10, n_samples // 200)))

    def _settings(self, batch_size, max_iter=None):
        return Settings(
            learning_rate=float(self.learning_rate),
            momentum=float(self.momentum),
            weight_decay=float(self.weight_decay),
            cd_steps=int(self.cd_steps),
            persistent=bool(self.persistent),
            n_chains=int(self.n_chains or batch_size),
            centering=bool(self.centering),
            frozen=self._frozen_params(),
            learning_rate_schedule=self.learning_rate_schedule,
            momentum_schedule=self.momentum_schedule,
            max_iter=int(self.max_iter if max_iter is None else max_iter),
        )

    def _frozen_params(self):
        return ()

    def _init_params(self, params):
        """Adjust the initial parameters in place (after the base-rate init)."""

    def _new_state(self, X, settings, rng):
        zeros = self.visible_bias_init == "zeros"

        def adjust(params):
            if zeros:
                params["b"][...] = 0
            self._init_params(params)

        # with zero biases nothing depends on the data, so that partial_fit
        # over chunks reproduces fit exactly
        return init_state(
            self._family(),
            X,
            self.n_components,
            X.dtype,
            settings,
            rng,
            adjust=adjust,
            data_offsets=not zeros,
        )

    def _commit(self, state):
        """Publish a finished training state as the fitted model."""
        for k, attr in self._param_attrs.items():
            setattr(self, attr, state.params[k])
        self._state = state
        self.n_iter_ = state.n_epochs

    def _train_step(self, state, X, settings):
        family = self._family()

        def step(idx, lr, momentum, k):
            cd_update(family, state, X[idx], settings, lr, momentum, k)

        return step

    # ---------------------------------------------------------------- fitting
    @atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model to ``X`` by CD-k or persistent CD.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X = self._validate_X(X, reset=True)
        self._check_training_data(X)
        rng = _seed_from(self.random_state)
        X_val = None
        if self.early_stopping:
            n_val = max(int(round(self.validation_fraction * X.shape[0])), 1)
            if X.shape[0] - n_val < 1:
                raise ValueError(
                    f"early_stopping needs at least 2 samples; got {X.shape[0]}."
                )
            perm = rng.permutation(X.shape[0])
            X_val, X = X[perm[:n_val]], X[perm[n_val:]]
        batch_size = self._batch_size(X.shape[0], continuing=False)
        settings = self._settings(batch_size)
        state = self._new_state(X, settings, rng)
        X_mon = X_val if X_val is not None else (X[:500] if self.verbose else None)
        monitor = (
            (lambda: self._monitor_score(X_mon, state.params))
            if X_mon is not None
            else None
        )
        stopper = (
            EarlyStopping(self.tol, self.n_iter_no_change)
            if self.early_stopping
            else None
        )
        with training_threads():
            state, history = self._run_epochs(
                state, X, settings, monitor, stopper, batch_size
            )
        self._commit(state)
        self.batch_size_ = batch_size
        self.validation_scores_ = history if monitor is not None else None
        return self

    def _run_epochs(self, state, X, settings, monitor, stopper, batch_size):
        return run_epochs(
            state,
            self._train_step(state, X, settings),
            X.shape[0],
            settings,
            batch_size=batch_size,
            n_epochs=self.max_iter,
            shuffle=self.shuffle,
            monitor=monitor,
            early_stopping=stopper,
            verbose=self.verbose,
            name=type(self).__name__,
            score_name=self._score_name,
        )

    @atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """One pass of minibatch updates over ``X``, continuing earlier training.

        ``X`` is cut into minibatches of ``batch_size`` rows in the given order
        (no shuffling). Persistent chains, momentum and the random stream carry
        over between calls. For :class:`BernoulliRBM`, a sequence of calls
        equals ``fit`` with ``shuffle=False`` over the same rows when
        ``visible_bias_init="zeros"``, ``momentum_schedule="constant"`` and
        ``learning_rate_schedule="constant"`` (otherwise the first call
        initialises from its own rows). This does not hold for
        :class:`GaussianBernoulliRBM` with any settings: its initial
        log-variances are those of the first call's rows (scaled by
        ``variance_init``), where ``fit`` uses the variances of all its rows.

        Parameters changed with ``set_params`` between calls take effect at
        the next call: turning ``persistent`` on starts chains from the
        base-rate model (turning it off drops them), a new ``n_chains`` (or
        ``batch_size``, when ``n_chains=None``) keeps the first chains and
        adds fresh ones as needed, and turning ``centering`` on starts the
        offsets from this call's data (the visible offset its mean of the
        statistic coupled to the hidden units, the hidden offset 0.5).
        ``n_components`` cannot change: call ``fit`` to start over. A call
        that fails leaves the fitted model unchanged.

        After ``fit``, the step size is that of fit's last epoch: with the
        default linear schedule, ``learning_rate / max_iter``, so that new
        data does not restart the annealed model at the full rate. A model
        built by ``partial_fit`` alone uses ``learning_rate``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The updated estimator.
        """
        first = not hasattr(self, "_state")
        # scikit-learn skips parameter validation in partial_fit once fitted;
        # set_params(...) between calls must still be checked (cheap)
        self._validate_params()
        if not first and self.n_components != self.components_.shape[0]:
            raise ValueError(
                f"n_components={self.n_components} differs from the "
                f"{self.components_.shape[0]} hidden units of the fitted model; "
                "partial_fit continues training and cannot change the number "
                "of hidden units. Call fit to start over with the new size."
            )
        X = self._validate_X(X, reset=first)
        self._check_training_data(X, None if first else self._state.moments)
        batch_size = self._batch_size(X.shape[0], continuing=not first)
        settings = self._settings(batch_size, max_iter=1)
        if first:
            state = self._new_state(X, settings, _seed_from(self.random_state))
        else:
            state = self._state.copy()
            state.params = {k: v.copy() for k, v in self._params().items()}
            state.moments = data_moments(X, state.moments)
            self._match_settings(state, X, settings)
        step = self._train_step(state, X, settings)
        k = settings.cd_steps_at(state.n_epochs)
        with training_threads(), training_errstate():
            lr = continued_learning_rate(state, settings)
            self._partial_pass(step, X.shape[0], lr, settings.momentum, k, batch_size)
        check_finite(state, settings.learning_rate, where="partial_fit pass")
        state.n_epochs += 1
        self._commit(state)
        self.batch_size_ = batch_size
        if first:
            self.validation_scores_ = None
        return self

    def _match_settings(self, state, X, settings):
        """Bring a continued state in line with ``set_params`` changes.

        Persistent chains are made (from the base-rate model, as in
        ``init_state``), dropped or resized to ``settings.n_chains``; the
        centring offsets are made from ``X`` (visible: the mean of ``s(X)``;
        hidden: 0.5) or dropped.
        """
        family = self._family()
        p = state.params
        if not settings.persistent:
            state.chains = None
        elif state.chains is None:
            state.chains = init_chains(family, p, settings.n_chains, state.rng)
        elif state.chains.shape[0] > settings.n_chains:
            state.chains = state.chains[: settings.n_chains].copy()
        elif state.chains.shape[0] < settings.n_chains:
            extra = settings.n_chains - state.chains.shape[0]
            new = init_chains(family, p, extra, state.rng)
            state.chains = np.concatenate([state.chains, new])
        if not settings.centering:
            state.offsets = None
        elif state.offsets is None:
            state.offsets = init_offsets(family, p, X)

    def _partial_pass(self, step, n_samples, lr, momentum, k, batch_size):
        for start in range(0, n_samples, batch_size):
            idx = np.arange(start, min(start + batch_size, n_samples))
            step(idx, lr, momentum, k)

    # ------------------------------------------------------------- inference
    def transform(self, X):
        """Hidden-unit activation probabilities ``p(h = 1 | v)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        H : ndarray of shape (n_samples, n_components)
            ``p(h_j = 1 | v)``, in the model's dtype.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return hidden_proba(self._family(), X, self._params())

    def inverse_transform(self, H):
        """Visible means ``E[v | h]`` for hidden states or probabilities ``H``.

        Parameters
        ----------
        H : array-like of shape (n_samples, n_components)
            Hidden states (binary) or activation probabilities.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            ``E[v | h]`` (for probabilities, the mean-field reconstruction).
        """
        check_is_fitted(self)
        H = self._check_hidden(H)
        p = self._params()
        return self._family().mean(visible_field(H, p), p)

    def _check_hidden(self, H):
        _reject_no_columns(H)
        with np.errstate(over="ignore", invalid="ignore"):  # see _validate_X
            H = check_array(H, dtype=self.components_.dtype)
        n_hidden = self.components_.shape[0]
        if H.shape[1] != n_hidden:
            raise ValueError(
                f"H has {H.shape[1]} columns but the fitted model has {n_hidden} "
                "hidden units."
            )
        if H.size and (H.min() < 0 or H.max() > 1):
            raise ValueError("Hidden states must lie in [0, 1].")
        return H

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
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return free_energy(self._family(), X, self._params())

    def log_partition(
        self, method="auto", *, n_betas=14500, n_runs=100, random_state=None
    ):
        """Log-partition function ``log Z`` of the fitted model, cached.

        Parameters
        ----------
        method : {"auto", "exact", "ais"}, default="auto"
            ``"exact"`` enumerates the smaller layer (at most 2**20 states);
            ``"ais"`` runs annealed importance sampling from the base-rate
            model; ``"auto"`` picks exact when it is cheap.
        n_betas : int, default=14500
            Number of AIS inverse temperatures (Salakhutdinov & Murray 2008).
        n_runs : int, default=100
            Number of independent AIS runs.
        random_state : int, RandomState instance or None, default=None
            Seed of the AIS runs; ``None`` uses the estimator's ``random_state``.

        Returns
        -------
        estimate : LogPartition
            ``log_z``, ``std_err`` (0 for exact), ``method`` and the settings.
            The latest estimate is cached and used by :meth:`score_samples`.
        """
        check_is_fitted(self)
        if method not in ("auto", "exact", "ais"):
            raise ValueError(
                f"method must be 'auto', 'exact' or 'ais'; got {method!r}."
            )
        for name, val in (("n_betas", n_betas), ("n_runs", n_runs)):
            if not isinstance(val, Integral) or val < 2:
                raise ValueError(f"{name} must be an integer >= 2; got {val!r}.")
        p = self._params()
        family = self._family()
        base = family.base_params(
            self._state.moments, p["W"].shape[0], p["W"].dtype, like=p
        )
        rs = self.random_state if random_state is None else random_state
        est = _log_partition(
            family,
            p,
            base,
            method=method,
            n_betas=int(n_betas),
            n_runs=int(n_runs),
            rng=_seed_from(rs),
        )
        self._state.cache["log_z"] = (self._fingerprint(), est)
        return est

    def score_samples_raise(self, X, *, n_betas=2000, n_runs=1, random_state=None):
        """Conservative log-likelihood estimates by reverse AIS (RAISE).

        :meth:`score_samples` divides by an AIS estimate of ``Z``, which is
        low on average, so its likelihoods lean optimistic when AIS has too
        few temperatures. RAISE (Burda, Grosse & Salakhutdinov, 2015) starts
        a chain at each sample and anneals it *down* the same path to the
        base-rate model; the result is low on average, so the two estimates
        bracket the true log-likelihood in practice, and agree when both are
        accurate. It costs ``n_betas * n_runs`` Gibbs sweeps per sample: use
        a few hundred samples, not a whole test set.

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
        for name, val in (("n_betas", n_betas), ("n_runs", n_runs)):
            low = 2 if name == "n_betas" else 1
            if not isinstance(val, Integral) or val < low:
                raise ValueError(f"{name} must be an integer >= {low}; got {val!r}.")
        X = self._validate_X(X, reset=False)
        if sp.issparse(X):
            X = X.toarray()
        p = self._params()
        family = self._family()
        base = family.base_params(
            self._state.moments, p["W"].shape[0], p["W"].dtype, like=p
        )
        rs = self.random_state if random_state is None else random_state
        return log_likelihood_raise(
            family,
            p,
            base,
            np.asarray(X),
            n_betas=int(n_betas),
            n_runs=int(n_runs),
            rng=_seed_from(rs),
        )

    def _fingerprint(self):
        h = hashlib.blake2b(digest_size=16)
        for k, v in sorted(self._params().items()):
            h.update(k.encode())
            h.update(np.ascontiguousarray(v).tobytes())
        return h.hexdigest()

    def _cached_log_partition(self):
        cached = self._state.cache.get("log_z")
        if cached is not None and cached[0] == self._fingerprint():
            return cached[1]
        return self.log_partition()

    @property
    def log_partition_(self):
        """The latest cached :class:`LogPartition` estimate, or None."""
        check_is_fitted(self)
        cached = self._state.cache.get("log_z")
        if cached is not None and cached[0] == self._fingerprint():
            return cached[1]
        return None

    def score_samples(self, X):
        """Log-likelihood ``log p(x)`` of each sample, in nats.

        Computed as ``-F(x) - log Z``. ``log Z`` is exact when the smaller layer
        has at most 20 units and an AIS estimate otherwise (see
        :meth:`log_partition`; the first call computes and caches it).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            Log-likelihood (log-density for continuous visibles) per sample.
        """
        F = self.free_energy(X)
        return -F - F.dtype.type(self._cached_log_partition().log_z)

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
        return float(np.mean(self.score_samples(X)))

    # --------------------------------------------------------------- sampling
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
        v = self._validate_X(v, reset=False)
        return self._run_chains(v, 1, _seed_from(random_state), return_mean=False)

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
        if not isinstance(n_steps, Integral) or n_steps < 1:
            raise ValueError(f"n_steps must be a positive integer; got {n_steps!r}.")
        rng = _seed_from(random_state)
        family = self._family()
        p = self._params()
        if init is None:
            if not isinstance(n_samples, Integral) or n_samples < 1:
                raise ValueError(
                    f"n_samples must be a positive integer; got {n_samples!r}."
                )
            base = family.base_params(
                self._state.moments, p["W"].shape[0], p["W"].dtype, like=p
            )
            v0 = family.sample(
                np.repeat(base["b"][None, :], n_samples, axis=0), base, rng
            )
        else:
            v0 = self._validate_X(init, reset=False)
        return self._run_chains(v0, n_steps, rng, return_mean)

    def _run_chains(self, v0, n_steps, rng, return_mean):
        """Gibbs chains from validated visible states ``v0`` (see :meth:`sample`)."""
        family = self._family()
        p = self._params()
        if sp.issparse(v0):
            v0 = v0.toarray()
        h = sample_bernoulli(hidden_proba(family, v0, p), rng)
        v, _, h = gibbs_from_hidden(family, p, h, n_steps, rng)
        if return_mean:
            return family.mean(visible_field(h, p), p)
        return v

    # ------------------------------------------------------------------- misc
    def get_feature_names_out(self, input_features=None):
        """Output feature names: ``"<classname><i>"`` for each hidden unit.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the input feature names seen in fit.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        if isinstance(input_features, str | bytes):
            raise TypeError(
                "input_features must be a list of feature names, not a string; "
                f"got {input_features!r}."
            )
        return super().get_feature_names_out(input_features)

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self._accept_sparse
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
