"""The estimator base shared by the dense RBMs (Bernoulli and Gaussian).

A subclass names its visible family and its input checks; fitting
(``fit`` / ``partial_fit``, through :class:`~sklearn_rbm.training.cd.DenseCD`)
lives here, ``transform`` and ``inverse_transform`` in
:class:`~._features.FeaturesMixin`, scoring in
:class:`~._density.DensityMixin` and sampling in
:class:`~._sampling.SamplingMixin`.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions

from ..engine import _xp
from ..engine.ais_check import training_bound
from ..engine.numerics import data_moments
from ..training.cd import DenseCD
from ..training.loop import (
    AnnealingEarlyStopping,
    EarlyStopping,
    check_finite,
    continued_learning_rate,
    minibatches,
    run_epochs,
    training_errstate,
)
from ..training.optimizers import MomentumSGD
from ..training.state import CDSettings
from ..training.threads import training_threads
from ._checks import check_dense_rbm
from ._common import VersionedStateMixin, atomic, caller_level, seed_from
from ._density import DensityMixin
from ._features import FeaturesMixin
from ._input import InputMixin, _check_total, _drop_zero_weights, _namespace_name
from ._sampling import SamplingMixin

#: the divergence check of ``fit`` (``warn_if_diverged``): rows it reads,
#: and its margin, in nats plus a fraction of the independent model's value
DIVERGENCE_ROWS = 1000
DIVERGENCE_MARGIN = 1.0
DIVERGENCE_RELATIVE = 0.01

_COMMON_CONSTRAINTS = {
    "n_components": [Interval(Integral, 1, None, closed="left")],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "max_iter": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
    "cd_steps": [Interval(Integral, 1, None, closed="left")],
    "persistent": ["boolean"],
    "n_chains": [Interval(Integral, 1, None, closed="left"), None],
    "sampler": [StrOptions({"gibbs", "pt", "fpcd"})],
    "n_temperatures": [Interval(Integral, 2, None, closed="left")],
    "fast_learning_rate": [Interval(Real, 0, None, closed="left"), None],
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
    "log_partition_params": [dict, None],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


#: ``max_iter="auto"``: epochs for about this many minibatch updates, within
#: [AUTO_EPOCHS_MIN, AUTO_EPOCHS_MAX] (GaussianBernoulliRBM's default)
AUTO_UPDATES = 5000
AUTO_EPOCHS_MIN, AUTO_EPOCHS_MAX = 20, 1000


class _BaseRBM(
    VersionedStateMixin,
    DensityMixin,
    SamplingMixin,
    FeaturesMixin,
    InputMixin,
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
    #: the independent model of the divergence check, as its warning names it
    _independent_name = "independent units"
    #: more advice of the divergence warning, after "use a smaller learning_rate"
    _divergence_advice = ""
    #: progress lines print ``_score_sign * score`` (-1: a loss monitored as
    #: its negative)
    _score_sign = 1

    # ------------------------------------------------------------------ hooks
    def _family(self):
        raise NotImplementedError

    def _check_values(self, X, method):
        """Family-specific value checks on validated input to ``method``
        (raise ValueError); returns ``X`` (or a corrected copy)."""
        return X

    def _check_training_data(self, X, previous=None, sample_weight=None):
        """Checks of training data only (raise ValueError).

        ``previous`` holds the running data moments of the model being
        continued by :meth:`partial_fit` (None in ``fit`` and a first call).
        """

    def _monitor_score(self, X):
        """Cheap deterministic score (higher is better) for progress/early stop."""
        raise NotImplementedError

    # -------------------------------------------------------------- helpers
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

    def _n_epochs(self, n_samples, batch_size):
        """The epochs of ``fit``: ``max_iter``, or for ``"auto"`` enough for
        about ``AUTO_UPDATES`` updates (small data sets need many epochs),
        within [``AUTO_EPOCHS_MIN``, ``AUTO_EPOCHS_MAX``]."""
        if self.max_iter != "auto":
            return int(self.max_iter)
        per_epoch = -(-n_samples // batch_size)
        epochs = -(-AUTO_UPDATES // per_epoch)
        return int(min(max(epochs, AUTO_EPOCHS_MIN), AUTO_EPOCHS_MAX))

    def _settings(self, batch_size, max_iter):
        if self.sampler != "gibbs" and not self.persistent:
            kind = {"pt": "tempering chains", "fpcd": "chains with fast weights"}
            raise ValueError(
                f"sampler={self.sampler!r} runs persistent {kind[self.sampler]}: "
                "it needs persistent=True."
            )
        fast_lr = self.fast_learning_rate
        fast_lr = self.learning_rate if fast_lr is None else fast_lr
        return CDSettings(
            learning_rate=float(self.learning_rate),
            momentum=float(self.momentum),
            cd_steps=int(self.cd_steps),
            persistent=bool(self.persistent),
            n_chains=int(self.n_chains or batch_size),
            sampler=self.sampler,
            n_temperatures=int(self.n_temperatures),
            fast_learning_rate=float(fast_lr),
            centering=bool(self.centering),
            learning_rate_schedule=self.learning_rate_schedule,
            momentum_schedule=self.momentum_schedule,
            max_iter=int(max_iter),
        )

    def _optimizer(self):
        return MomentumSGD(
            weight_decay=float(self.weight_decay), frozen=self._frozen_params()
        )

    def _phase(self, batch_size, max_iter):
        """The training phase: family, CD settings and optimiser."""
        return DenseCD(
            self._family(), self._settings(batch_size, max_iter), self._optimizer()
        )

    def _frozen_params(self):
        return ()

    def _init_params(self, params):
        """Adjust the initial parameters in place (after the base-rate init)."""

    def _initial_params(self, params):
        """The base-rate parameters made the start of training, in place:
        ``visible_bias_init`` and the family's :meth:`_init_params` (``fit``
        and the divergence check's starting model)."""
        if self.visible_bias_init == "zeros":
            params["b"][...] = 0
        self._init_params(params)

    def _new_state(self, X, phase, rng, sample_weight=None):
        # with zero biases nothing depends on the data, so that partial_fit
        # over chunks reproduces fit exactly
        return phase.init_state(
            X,
            self.n_components,
            X.dtype,
            rng,
            adjust=self._initial_params,
            data_offsets=self.visible_bias_init != "zeros",
            sample_weight=sample_weight,
        )

    def _upgrade_state(self, old):
        """The state of a model saved by 0.1.0.dev0 (see ``_compat``)."""
        from .._compat import dense_state

        return dense_state(old)

    def _check_loaded_state(self):
        """Validate a loaded model before use (``estimators/_checks.py``)."""
        check_dense_rbm(self)

    def _check_loaded_values(self, params, state):
        """Family-specific checks of loaded parameters (raise ValueError)."""

    def _commit(self, state):
        """Publish a finished training state as the fitted model."""
        for k, attr in self._param_attrs.items():
            setattr(self, attr, state.params[k])
        self._state = state
        self.n_iter_ = state.n_epochs

    # ---------------------------------------------------------------- fitting
    def _start_fit(self, X, sample_weight):
        """What ``fit`` does before its epochs: the validated training rows
        and frequency weights (rows of weight 0 dropped), the early-stopping
        split, the minibatch size, the number of epochs, the training phase
        and the initial state. Returns ``(X, sw, X_val, sw_val, batch_size,
        n_epochs, phase, state)`` (``X_val`` and ``sw_val`` None without
        early stopping). ``benchmarks/train_resumable.py`` starts from it."""
        self._log_partition_kwargs()
        X = self._validate_X(X, reset=True, method="fit")
        self._check_exact_log_partition(X.shape[1])
        # rows of weight 0 go first: the checks of training data see the rest
        X, sw = _drop_zero_weights(X, self._sample_weight(sample_weight, X))
        self._check_training_data(X, None, sw)
        rng = seed_from(self.random_state, like=X)
        X_val = sw_val = None
        if self.early_stopping:
            n_val = max(int(round(self.validation_fraction * X.shape[0])), 1)
            if X.shape[0] - n_val < 1:
                rows = "samples" if sw is None else "samples of positive weight"
                raise ValueError(
                    f"early_stopping needs at least 2 {rows}; got "
                    f"n_samples={X.shape[0]}."
                )
            perm = rng.permutation(X.shape[0])
            X_val = _xp.take_rows(X, perm[:n_val])
            X = _xp.take_rows(X, perm[n_val:])
            if sw is not None:  # numpy weights (perm may live on X's device)
                perm = _xp.to_numpy(perm)
                sw_val = sw[perm[:n_val]]
                sw = _check_total(
                    sw[perm[n_val:]],
                    "sample_weight of the rows left after the validation split",
                )
        n_rows = _n_rows(X, sw)
        batch_size = self._batch_size(n_rows, continuing=False)
        n_epochs = self._n_epochs(n_rows, batch_size)
        phase = self._phase(batch_size, n_epochs)
        state = self._new_state(X, phase, rng, sw)
        return X, sw, X_val, sw_val, batch_size, n_epochs, phase, state

    @atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the model to ``X`` by CD-k or persistent CD.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequencies of the rows: a row of weight ``k`` counts as ``k``
            copies, so integer weights fit as ``np.repeat(X, w, axis=0)``
            does (to rounding; in distribution for rows in another order).
            An epoch visits row ``i`` ``floor(w_i)`` times, plus once with
            probability ``w_i - floor(w_i)``; the "auto" batch size and
            epochs count the total weight as rows. Rows of weight 0 are
            dropped; weights summing to less than 1 are refused, and to
            less than a tenth of the rows warned about (relative weights:
            rescale them to mean 1). User guide, "Sample weights".

        Returns
        -------
        self : object
            The fitted estimator.

        Warns
        -----
        ConvergenceWarning
            When the fitted model is provably worse, on its training rows,
            than independent units and than the model training started
            from: the training diverged (user guide, "Divergence").
        """
        X, sw, X_val, sw_val, batch_size, n_epochs, phase, state = self._start_fit(
            X, sample_weight
        )
        X_head = X[: min(500, X.shape[0]), ...] if self.verbose else None
        X_mon = X_val if X_val is not None else X_head
        if X_val is None and X_mon is not None and sw is not None:
            sw_val = sw[:500]
        monitor = (
            (lambda: self._monitor_score(X_mon, state.params, sw_val))
            if X_mon is not None
            else None
        )
        if not self.early_stopping:
            stopper = None
        elif self.learning_rate_schedule == "linear":
            # a stall starts the decay the schedule would end with
            end = state.n_epochs + n_epochs
            stopper = AnnealingEarlyStopping(self.tol, self.n_iter_no_change, end)
        else:
            stopper = EarlyStopping(self.tol, self.n_iter_no_change)
        with training_threads():
            state, history = run_epochs(
                state,
                phase.bind(state, X),
                X.shape[0],
                phase.settings,
                batch_size=batch_size,
                n_epochs=n_epochs,
                shuffle=self.shuffle,
                sample_weight=sw,
                monitor=monitor,
                early_stopping=stopper,
                verbose=self.verbose,
                name=type(self).__name__,
                score_name=self._score_name,
                score_sign=self._score_sign,
            )
        self._commit(state)
        self.batch_size_ = batch_size
        self.validation_scores_ = history if monitor is not None else None
        warn_if_diverged(self, X, sw)
        return self

    @atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """One pass of minibatch updates over ``X``, continuing earlier training.

        ``X`` is cut into minibatches of ``batch_size`` rows in the given order
        (no shuffling). Persistent chains, momentum and the random stream carry
        over between calls. Each call counts as one epoch of the schedules
        (``n_iter_``, the momentum warm-up, ``cd_steps``). For
        :class:`BernoulliRBM`, a sequence of calls equals ``fit`` with
        ``shuffle=False`` over the same rows when ``visible_bias_init="zeros"``
        and ``learning_rate_schedule="constant"`` (otherwise the first call
        initialises from its own rows), and ``momentum_schedule="constant"``
        unless each call passes over all the rows. With ``sampler="pt"`` it
        holds for the first pass only: the tempering's base-rate model is
        refreshed from the data moments of every call, in which a row passed
        twice counts twice. It does not hold for
        :class:`GaussianBernoulliRBM` with any settings: its initial
        log-variances are those of the first call's rows (scaled by
        ``variance_init``), where ``fit`` uses the variances of all its rows.

        Parameters changed with ``set_params`` between calls take effect at
        the next call: turning ``persistent`` on starts chains from
        independent units with the current visible biases (turning it off
        drops them), a new ``n_chains`` (or
        ``batch_size``, when ``n_chains=None``) keeps the first chains and
        adds fresh ones as needed, and turning ``centering`` on starts the
        offsets from this call's data (the visible offset its weighted mean
        of the statistic coupled to the hidden units, the hidden offset 0.5).
        ``n_components`` cannot change: call ``fit`` to start over. A call
        that fails leaves the fitted model unchanged.

        After ``fit``, the step size is that of fit's last epoch: with the
        linear schedule, ``learning_rate / max_iter``, so that new
        data does not restart the annealed model at the full rate (after
        early stopping, that of the kept epoch). A model
        built by ``partial_fit`` alone uses ``learning_rate``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequencies of the rows, as in :meth:`fit`: the pass visits
            row ``i`` about ``w_i`` times, in row order, its copies next to
            each other as in ``np.repeat(X, w, axis=0)`` (so a row weighted
            beyond ``batch_size`` fills minibatches on its own: shuffle the
            rows of sorted or grouped data first).

        Returns
        -------
        self : object
            The updated estimator.
        """
        first = not hasattr(self, "_state")
        if first and any(a in self.__dict__ for a in self._param_attrs.values()):
            # weights assigned to an estimator never fitted: starting over
            # would silently discard them
            self._fit_state("partial_fit would start from new weights")
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
        self._log_partition_kwargs()
        X = self._validate_X(X, reset=first, method="partial_fit")
        self._check_exact_log_partition(X.shape[1])
        X, sw = _drop_zero_weights(X, self._sample_weight(sample_weight, X))
        self._check_training_data(X, None if first else self._state.moments, sw)
        batch_size = self._batch_size(_n_rows(X, sw), continuing=not first)
        phase = self._phase(batch_size, max_iter=1)
        settings = phase.settings
        if first:
            rng = seed_from(self.random_state, like=X)
            state = self._new_state(X, phase, rng, sw)
        else:
            if _xp.get_xp(self._state.params["W"]) is not _xp.get_xp(self.components_):
                # e.g. moved by sklearn's move_estimator_to: the parameters
                # were, the training state (chains, momentum) was not
                raise ValueError(
                    f"The fitted parameters are {_namespace_name(self.components_)}"
                    " arrays but the training state is "
                    f"{_namespace_name(self._state.params['W'])}: a moved model "
                    "serves inference only. Fit it on the arrays to train on."
                )
            state = self._state.copy()
            state.params = {k: _xp.copy(v) for k, v in self._params().items()}
            state.moments = data_moments(X, state.moments, weights=sw)
            phase.match(state, X, sw)
        step = phase.bind(state, X)
        k = settings.cd_steps_at(state.n_epochs)
        # each call is one epoch: the momentum warm-up of fit applies
        momentum = settings.momentum_at(state.n_epochs)
        with training_threads(), training_errstate():
            lr = continued_learning_rate(state, settings)
            for idx in minibatches(X.shape[0], batch_size, None, sw, state.rng):
                step(idx, lr, momentum, k)
        check_finite(state, settings.learning_rate, where="partial_fit pass")
        state.n_epochs += 1
        self._commit(state)
        self.batch_size_ = batch_size
        if first:
            self.validation_scores_ = None
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self._accept_sparse
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.array_api_support = True
        return tags

    def __getstate__(self):
        """Pickle (and ``persistence.save``) as a numpy model: the arrays of
        a model fitted on another Array API library are moved to numpy and
        its generator becomes a numpy one (:meth:`ArrayRandom.to_numpy
        <sklearn_rbm.engine._xp.ArrayRandom.to_numpy>`)."""
        state = super().__getstate__()
        if not _xp.is_numpy(state.get("components_", np.empty(0))):
            state = _xp.tree_to_numpy(state)
        return state


def _n_rows(X, sw):
    """The rows an epoch visits: ``X``'s, or under frequency weights their
    total (rounded), which sets ``"auto"`` batch sizes and epochs as the
    repeated rows would."""
    return X.shape[0] if sw is None else max(int(round(float(sw.sum()))), 1)


def divergence_bounds(est, X, sw):
    """``training_bound`` of the fitted model on up to 1,000 training rows
    drawn at random (a fixed seed), against independent units fitted to
    all the training rows (the data moments ``fit`` initialised from)
    and the model training started from: ``(bound, independent,
    start)``, mean log-likelihoods in nats. Costs one free energy of
    those rows and a few dozen conditional-mode sweeps, on the host with
    its own generator (the training stream is untouched)."""
    rng = np.random.default_rng(0)
    idx = np.sort(rng.permutation(X.shape[0])[:DIVERGENCE_ROWS])
    Xs = _xp.take_rows(X, idx)
    Xs = Xs.toarray() if sp.issparse(Xs) else _xp.to_numpy(Xs)
    return training_bound(
        est._family(),
        {k: _xp.to_numpy(v) for k, v in est._params().items()},
        Xs,
        None if sw is None else sw[idx],
        rng=rng,
        moments=est._state.moments,
        adjust=est._initial_params,
    )


def warn_if_diverged(est, X, sw):
    """Warn when the fitted model is provably worse than both references
    of :func:`divergence_bounds` by more than ``DIVERGENCE_MARGIN`` nats
    plus ``DIVERGENCE_RELATIVE`` of their magnitude: its training
    diverged, typically from too large a learning rate."""
    bound, independent, start = divergence_bounds(est, X, sw)
    ref = min(independent, start)
    if bound < ref - DIVERGENCE_MARGIN - DIVERGENCE_RELATIVE * abs(ref):
        warnings.warn(
            ConvergenceWarning(
                f"{type(est).__name__}'s training diverged: the fitted "
                "model's mean log-likelihood of training rows is at most "
                f"{bound:.4g} nats (a proven bound), below the "
                f"{independent:.4g} nats of {est._independent_name} "
                f"fitted to the training data and the {start:.4g} nats "
                "of the model training started from. Use a smaller "
                f"learning_rate (now {est.learning_rate:g})"
                f"{est._divergence_advice}."
            ),
            stacklevel=caller_level(),
        )
