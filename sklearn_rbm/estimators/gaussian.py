"""GaussianBernoulliRBM: real-valued visible units on the shared engine."""

import warnings
from dataclasses import replace
from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..engine import _xp
from ..engine.families import Gaussian
from ..engine.gibbs import free_energy, hidden_proba, visible_field
from ..engine.partition import log_partition_exact
from ..training import checks
from ..training.optimizers import MomentumSGD
from ._base import _BaseRBM
from ._common import caller_level

#: largest hidden layer for which the monitored score is the exact log-likelihood
MAX_EXACT_MONITOR = 16
#: allowed range of ``min_variance``: the floor must stay below the variance
#: ceiling ``exp(Gaussian.max_log_var)`` (4.9e8), and precisions up to 1e12
#: keep ``exp(-log_var)`` and the energies finite in float32 and float64
MIN_VARIANCE_RANGE = (1e-12, 1e8)


def _column_variances(X, previous=None, weights=None, *, return_mean=False):
    """float64 variances of the columns of ``X`` (on its device for an
    Array API ``X``), its rows counted as the frequency ``weights`` say; with
    the ``previous`` data moments ``(n, s1, s2)``, the variances of all the
    rows seen so far (pooled). ``return_mean`` (without ``previous``): also
    the column means, first."""
    n1 = X.shape[0] if weights is None else float(np.sum(weights))
    if not _xp.is_numpy(X):  # column means and variances on the device
        xp = _xp.get_xp(X)
        X64 = xp.astype(X, xp.float64)
        if weights is None:
            mean, var = xp.mean(X64, axis=0), xp.var(X64, axis=0)
        else:
            w = xp.asarray(weights / n1, device=_xp.device_of(X))[:, None]
            mean = xp.sum(X64 * w, axis=0)
            var = xp.sum((X64 - mean) ** 2 * w, axis=0)
        mean, var = _xp.to_numpy(mean), _xp.to_numpy(var)
    elif weights is None:  # one float64 temporary of the size of X
        mean = np.mean(X, axis=0, dtype=np.float64)
        var = np.var(X, axis=0, dtype=np.float64)
    else:
        mean = np.average(X, axis=0, weights=weights)
        d = X - mean  # float64: mean is
        d *= d
        var = np.average(d, axis=0, weights=weights)
    if previous is None:
        return (mean, var) if return_mean else var
    n0, s1, s2 = previous
    mean0 = s1 / n0
    var0 = np.maximum(s2 / n0 - mean0 * mean0, 0.0)
    diff = mean0 - mean
    n = n0 + n1
    return (n0 * var0 + n1 * var) / n + (n0 * n1 / n**2) * diff * diff


class GaussianBernoulliRBM(_BaseRBM):
    """Gaussian-Bernoulli RBM: real-valued visible units, binary hidden units.

    A density model and feature learner for continuous data. The energy is the
    one of Cho, Ilin & Raiko (2011), with a learned standard deviation
    ``sigma_i`` per feature:

    .. math::

        E(v, h) = \\sum_i \\frac{(v_i - b_i)^2}{2 \\sigma_i^2}
                  - \\sum_{ij} \\frac{v_i}{\\sigma_i^2} W_{ji} h_j - c^\\top h,

    so that ``p(v | h) = N(b + W^T h, diag(sigma^2))`` (the model is a mixture
    of ``2**n_components`` Gaussians with tied diagonal covariance) and
    ``p(h_j = 1 | v) = sigmoid(c_j + sum_i W_ji v_i / sigma_i^2)``. The
    variances are learned through their logarithms (or kept fixed with
    ``learn_variance=False``), above the floor ``min_variance``.

    Training is CD-k or persistent CD with momentum, weight decay and
    centering, as for :class:`BernoulliRBM`, with defaults chosen for
    stability: a small, linearly decaying learning rate; variances that start
    at a quarter of the data's and learn 100 times more slowly than the
    weights (otherwise learning stalls at the initial Gaussian, a saddle
    point on decorrelated data); a variance floor; and clipping of the
    gradient norm. With few updates (a small data set) use smaller minibatches
    or more epochs. :meth:`score_samples` returns log-densities in nats with
    the exact log-partition function for ``n_components <= 20`` (the Gaussian
    integral over ``v`` is done in closed form for each of the ``2**n``
    hidden states) and an annealed importance sampling (AIS) estimate above.

    The model assumes features on a common scale: put it in a
    :class:`~sklearn.pipeline.Pipeline` behind
    :class:`~sklearn.preprocessing.StandardScaler` (see the Examples). The
    likelihoods of such a pipeline (``score``, ``score_samples``) are then
    those of the standardised data: add ``-sum(log(scaler.scale_))`` to a
    sample's log-density to compare with a model of the raw features (a
    :class:`~sklearn.mixture.GaussianMixture` fitted on ``X``, say). Fixing
    the variances at 1 (``learn_variance=False, variance_init=1.0``) is the
    classic choice for standardised data (Hinton, 2010); learning them gives
    much better likelihoods.

    Parameters
    ----------
    n_components : int, default=256
        Number of binary hidden units.
    learning_rate : float, default=5e-3
        Initial step size of the (momentum) gradient ascent, decayed linearly
        to zero by default. Gaussian visible units need smaller steps than
        binary ones.
    batch_size : int or "auto", default="auto"
        Examples per minibatch. ``"auto"`` uses ``n_samples // 200`` clipped
        to [10, 100], as in :class:`BernoulliRBM`: 100 for tens of thousands
        of rows (20,000 and more), 10 below 2,200. The size used is ``batch_size_``.
    max_iter : int or "auto", default="auto"
        Number of epochs (passes over the training data) of ``fit``.
        ``"auto"`` runs enough epochs for about 5,000 minibatch updates,
        within [20, 1000]: 20 on MNIST-scale data, hundreds on small data
        sets, which a Gaussian-Bernoulli RBM needs to leave its initial
        Gaussian (standardised wine, 178 rows, 5-fold: held-out
        log-likelihood -15.1 nats, above a full-covariance Gaussian's -15.6;
        ``benchmarks/bench_defaults.py``).
    cd_steps : int, default=1
        Gibbs steps per update (the k of CD-k / PCD-k).
    persistent : bool, default=True
        Persistent contrastive divergence (Tieleman 2008): negative chains
        continue across updates instead of restarting at the data.
    n_chains : int, default=None
        Number of persistent chains; ``None`` means ``batch_size_``.
    sampler : {"gibbs", "pt", "fpcd"}, default="gibbs"
        Sampler of the persistent negative chains, as in
        :class:`BernoulliRBM`: block Gibbs, parallel tempering (PT-PCD,
        ``n_temperatures`` replicas per chain, each update about that many
        Gibbs sweeps), or Gibbs on the model plus fast weights (FPCD,
        Tieleman & Hinton 2009; about 1.5 times a Gibbs update). ``"pt"``
        and ``"fpcd"`` need ``persistent=True``.
    n_temperatures : int, default=10
        Replicas per chain of ``sampler="pt"`` (ignored otherwise).
    fast_learning_rate : float, default=None
        Step size of the fast weights of ``sampler="fpcd"`` (ignored
        otherwise); ``None`` means ``learning_rate``. It stays constant while
        the learning rate decays.
    negative_init : {"data", "noise"}, default="data"
        Start of the negative chains of non-persistent CD: the minibatch
        (classic CD-k), or fresh samples of the independent Gaussian
        ``N(b, sigma^2)`` at every update (Liao et al., 2022; needs a large
        ``cd_steps``). Ignored when ``persistent=True``.
    momentum : float, default=0.9
        Momentum of the updates.
    momentum_schedule : {"warmup", "constant"}, default="warmup"
        ``"warmup"`` uses ``min(momentum, 0.5)`` for the first 5 epochs
        (Hinton 2010).
    weight_decay : float, default=1e-4
        L2 penalty on the weights.
    learning_rate_schedule : {"constant", "linear"}, default="linear"
        ``"linear"`` decays the learning rate to zero over ``max_iter`` epochs.
        The stochastic (persistent-chain) gradient of a Gaussian-Bernoulli RBM
        is noisy; annealing it gains several nats of held-out log-likelihood
        over a constant rate.
    centering : bool, default=True
        Centered gradient of Melchior, Wang & Wiskott (2016), with the visible
        offset on ``v / sigma**2``, the statistic coupled to the hidden units.
    visible_bias_init : {"base_rates", "zeros"}, default="base_rates"
        Initial visible biases (the means of ``p(v | h)``): the training
        data's means, or zeros.
    learn_variance : bool, default=True
        Learn the per-feature variances ``sigma_i**2`` (through
        ``log sigma_i**2``). If False they stay at ``variance_init``.
    variance_init : "auto" or float, default="auto"
        Initial (or fixed) variances, as a fraction of each feature's variance
        in the first training data (so 1.0 is a variance of 1 on standardised
        data). ``"auto"`` is 0.25 when the variances are learned and 1.0 when
        they are fixed. Starting below the data's variance breaks the symmetry
        of the initial model ``N(mean, data variance)``, which matches the
        data's second moments exactly on decorrelated (e.g. PCA) inputs and is
        a saddle point that learning escapes only very slowly.
    variance_lr_scale : float, default=0.01
        Learning rate of the log-variances relative to ``learning_rate``.
        Variances that follow the weights too quickly return the model to
        that saddle and make training oscillate.
    min_variance : float in [1e-12, 1e8], default=1e-2
        Floor of the variances. A variance collapsing onto a nearly constant
        feature otherwise makes the density and the updates blow up. The
        variances also have a ceiling, ``exp(20)`` (about 4.9e8): ``fit`` and
        ``partial_fit`` refuse data with a feature whose variance exceeds it
        (standardise the features, e.g. with
        :class:`~sklearn.preprocessing.StandardScaler`). The floor is
        absolute: ``fit`` (and the first ``partial_fit``) warns when a
        non-constant feature's variance is below it, as on unscaled
        features with small variances, which the model can only fit too
        wide.
    max_grad_norm : float or None, default=10.0
        Clip each parameter's gradient (``W``, ``b``, ``c``, log-variances) to
        this Euclidean norm before the update. Guards against the rare huge
        steps of Gaussian units; ``None`` disables clipping.
    shuffle : bool, default=True
        Shuffle the training data every epoch.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when its score
        has not improved by ``tol`` for ``n_iter_no_change`` epochs; the best
        model is kept. The score is the exact mean log-likelihood when
        ``n_components <= 16`` and otherwise minus the squared
        reconstruction error ``|v - E[v | p(h | v)]|^2``, summed over the
        features and averaged over the held-out samples.
        With the linear decay of the learning rate (the default) a stall
        does not stop training at once: the rate then decays to zero over
        ten times the epochs done (at most until ``max_iter``) and training
        stops at the end of that decay, because the model improves most in
        a decay's last epochs. On standardised wine (16 hidden units) that
        gives a held-out -15.6 nats in 121 epochs, against -19.3 for a plain
        early stop and -14.7 for the full 385 epochs
        (``benchmarks/check_gaussian_pitfalls.py``).
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping.
    n_iter_no_change : int, default=5
        Patience of early stopping, in epochs (with the linear schedule,
        before the decay starts).
    tol : float, default=1e-4
        Minimum improvement of the validation score.
    log_partition_params : dict or None, default=None
        Keyword arguments of :meth:`log_partition` for the ``log Z`` that
        :meth:`score_samples` and :meth:`score` compute when none is cached:
        a smaller AIS budget makes ``GridSearchCV`` and ``cross_val_score``
        cheaper (see :class:`BernoulliRBM`). None: its defaults.
    random_state : int, RandomState instance or None, default=None
        Seed of initialisation, shuffling and sampling; an int gives
        bit-identical models for the same data in the same memory layout
        (the float sums of the data's moments depend on it: a Fortran-ordered
        copy, such as a DataFrame's values, may differ in the last bits; it
        is not copied to one layout, which would double the memory).
    verbose : int, default=0
        Print the epoch, the monitored score and the time per epoch.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weight matrix ``W``.
    intercept_hidden_ : ndarray of shape (n_components,)
        Hidden biases ``c``.
    intercept_visible_ : ndarray of shape (n_features,)
        Visible biases ``b``.
    log_variance_ : ndarray of shape (n_features,)
        ``log sigma_i**2``, the learned parameterisation of the variances.
    sigma_ : ndarray of shape (n_features,)
        Per-feature standard deviations of ``p(v | h)``.
    variances_ : ndarray of shape (n_features,)
        ``sigma_**2``.
    n_iter_ : int
        Number of epochs run (``partial_fit`` calls count one each).
    batch_size_ : int
        The minibatch size used (``batch_size``, or its ``"auto"`` value).
    validation_scores_ : list of float or None
        Monitored score per epoch (on the validation set with early
        stopping, on training samples with ``verbose``), higher is better:
        the exact mean log-likelihood, or minus the squared reconstruction
        error that ``verbose`` prints as a positive error (see
        ``early_stopping``).
    log_partition_ : LogPartition or None
        The cached log-partition estimate, once computed.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    BernoulliRBM : Binary visible units.
    sklearn.decomposition.PCA : Its ``score_samples`` is the probabilistic PCA
        density, a Gaussian baseline.
    sklearn.mixture.GaussianMixture : Another mixture-of-Gaussians density.

    References
    ----------
    Cho, K., Ilin, A. & Raiko, T. (2011). Improved learning of Gaussian-Bernoulli
    restricted Boltzmann machines. ICANN.

    Hinton, G. E. (2010). A practical guide to training restricted Boltzmann
    machines. UTML TR 2010-003.

    Liao, R., Kornblith, S., Ren, M., Fleet, D. J. & Hinton, G. (2022).
    Gaussian-Bernoulli RBMs without tears. arXiv:2210.10318.

    Salakhutdinov, R. & Murray, I. (2008). On the quantitative analysis of deep
    belief networks. ICML.

    Examples
    --------
    Standardise the features first, in a pipeline:

    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_rbm import GaussianBernoulliRBM
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(-2, 0.5, (200, 2)),
    ...                     rng.normal(2, 0.5, (200, 2))]) * [10.0, 0.1]
    >>> pipe = make_pipeline(
    ...     StandardScaler(),
    ...     GaussianBernoulliRBM(n_components=4, batch_size=10, max_iter=50,
    ...                          random_state=0),
    ... ).fit(X)
    >>> pipe.transform(X[:3]).shape
    (3, 4)
    >>> rbm = pipe[-1]
    >>> rbm.sigma_.shape
    (2,)
    >>> ll = pipe.score_samples(X)  # exact log-density in nats (4 hidden units)
    >>> bool(ll.mean() > -2.84)  # better than a single Gaussian (-2 * 1.42)
    True
    """

    _parameter_constraints = {
        **_BaseRBM._parameter_constraints,
        "negative_init": [StrOptions({"data", "noise"})],
        "learn_variance": ["boolean"],
        "variance_init": [
            StrOptions({"auto"}),
            Interval(Real, 0, None, closed="neither"),
        ],
        "variance_lr_scale": [Interval(Real, 0, None, closed="left")],
        "min_variance": [Interval(Real, *MIN_VARIANCE_RANGE, closed="both")],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
    }
    _param_attrs = {**_BaseRBM._param_attrs, "log_var": "log_variance_"}
    _independent_name = "independent Gaussians"
    _divergence_advice = " or standardise the features (StandardScaler)"
    _accept_sparse = False

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=5e-3,
        batch_size="auto",
        max_iter="auto",
        cd_steps=1,
        persistent=True,
        n_chains=None,
        sampler="gibbs",
        n_temperatures=10,
        fast_learning_rate=None,
        negative_init="data",
        momentum=0.9,
        momentum_schedule="warmup",
        weight_decay=1e-4,
        learning_rate_schedule="linear",
        centering=True,
        visible_bias_init="base_rates",
        learn_variance=True,
        variance_init="auto",
        variance_lr_scale=0.01,
        min_variance=1e-2,
        max_grad_norm=10.0,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        tol=1e-4,
        log_partition_params=None,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.cd_steps = cd_steps
        self.persistent = persistent
        self.n_chains = n_chains
        self.sampler = sampler
        self.n_temperatures = n_temperatures
        self.fast_learning_rate = fast_learning_rate
        self.negative_init = negative_init
        self.momentum = momentum
        self.momentum_schedule = momentum_schedule
        self.weight_decay = weight_decay
        self.learning_rate_schedule = learning_rate_schedule
        self.centering = centering
        self.visible_bias_init = visible_bias_init
        self.learn_variance = learn_variance
        self.variance_init = variance_init
        self.variance_lr_scale = variance_lr_scale
        self.min_variance = min_variance
        self.max_grad_norm = max_grad_norm
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.log_partition_params = log_partition_params
        self.random_state = random_state
        self.verbose = verbose

    # ----------------------------------------------------------------- hooks
    def _family(self):
        return Gaussian(min_log_var=float(np.log(self.min_variance)))

    def _init_params(self, params):
        # base_params set the data's variances; scale them to variance_init
        scale = self.variance_init
        if scale == "auto":
            scale = 0.25 if self.learn_variance else 1.0
        params["log_var"] += _xp.scalar(np.log(scale), params["log_var"])
        self._family().constrain(params)

    def _frozen_params(self):
        return () if self.learn_variance else ("log_var",)

    def _check_loaded_values(self, params, state):
        # log-variances between the lowest floor min_variance allows and the
        # family's ceiling (the updates clip them there); the slack covers
        # the rounding of the floor in float32
        lo = float(np.log(MIN_VARIANCE_RANGE[0])) - 1e-3
        hi = Gaussian.max_log_var
        for where, lv in (
            ("log_variance_", params["log_var"]),
            ("_state.params['log_var']", state.params["log_var"]),
        ):
            if lv.size and (lv.min() < lo or lv.max() > hi):
                checks.invalid(where, f"has log-variances outside [{lo:.4g}, {hi:g}]")

    def _check_training_data(self, X, previous=None, sample_weight=None):
        # the log-variances are clipped at Gaussian.max_log_var: a feature
        # whose variance is above that ceiling would be fitted (silently)
        # with a far too narrow density
        if previous is None:
            mean, var = _column_variances(X, None, sample_weight, return_mean=True)
        else:
            var = _column_variances(X, previous, sample_weight)
        limit = float(np.exp(Gaussian.max_log_var))
        bad = np.flatnonzero(var > limit)
        if bad.size:
            i = int(bad[0])
            where = "X" if previous is None else "the data seen so far (X included)"
            others = (
                f" ({bad.size} features in all: {bad[:10].tolist()}"
                f"{', ...' if bad.size > 10 else ''})"
                if bad.size > 1
                else ""
            )
            raise ValueError(
                f"Feature {i} of {where} has variance {var[i]:.3g}, too large: above "
                f"{limit:.3g}, the largest variance a GaussianBernoulliRBM can "
                f"represent{others}. Standardise the features first, e.g. with "
                "StandardScaler in a Pipeline."
            )
        if previous is None:
            self._warn_below_floor(mean, var)

    def _warn_below_floor(self, mean, var):
        """Warn when the floor keeps features wider than the data: a
        non-constant feature whose variance is below ``min_variance``. (A
        constant column's float64 variance is rounding, ~1e-30 of its mean
        squared, not always 0.)"""
        varying = var > 1e-20 * mean * mean
        low = np.flatnonzero(varying & (var < self.min_variance))
        if low.size:
            i = int(low[np.argmin(var[low])])
            warnings.warn(
                f"{low.size} of the {var.size} features of X have variances "
                f"below min_variance={self.min_variance:g} (feature {i}: "
                f"{var[i]:.3g}): the model's variances cannot go below that "
                "floor, so it fits these features with too wide a density. "
                "Standardise the features (StandardScaler, in a Pipeline), or "
                "lower min_variance.",
                UserWarning,
                stacklevel=caller_level(),
            )

    def _settings(self, batch_size, max_iter=None):
        settings = super()._settings(batch_size, max_iter)
        negative_init = "data" if self.persistent else self.negative_init
        return replace(settings, negative_init=negative_init)

    def _optimizer(self):
        return MomentumSGD(
            weight_decay=float(self.weight_decay),
            max_grad_norm=self.max_grad_norm,
            lr_scale=(("log_var", float(self.variance_lr_scale)),),
            frozen=self._frozen_params(),
        )

    @property
    def _score_name(self):
        if self.n_components <= MAX_EXACT_MONITOR:
            return "log-likelihood"
        # summed over features, averaged over samples (not per element)
        return "squared reconstruction error per sample"

    @property
    def _score_sign(self):
        # the monitor returns minus the squared error (higher is better)
        return 1 if self.n_components <= MAX_EXACT_MONITOR else -1

    def _monitor_score(self, X, params, sample_weight=None):
        family = self._family()
        if self.n_components <= MAX_EXACT_MONITOR:
            log_z = log_partition_exact(family, params).log_z
            fe = _xp.to_numpy(free_energy(family, X, params))
            return float(-np.average(fe, weights=sample_weight) - log_z)
        recon = _xp.to_numpy(visible_field(hidden_proba(family, X, params), params))
        # in float64: squared errors of a diverging float32 model overflow
        diff = np.asarray(_xp.to_numpy(X), dtype=np.float64) - recon
        err = np.einsum("ij,ij->i", diff, diff)
        return -float(np.average(err, weights=sample_weight))

    # ------------------------------------------------------------ attributes
    @property
    def variances_(self):
        """Per-feature variances ``sigma_**2`` of ``p(v | h)``."""
        check_is_fitted(self)
        return _xp.get_xp(self.log_variance_).exp(self.log_variance_)

    @property
    def sigma_(self):
        """Per-feature standard deviations of ``p(v | h)``."""
        check_is_fitted(self)
        return _xp.get_xp(self.log_variance_).exp(0.5 * self.log_variance_)
