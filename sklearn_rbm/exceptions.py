"""Exceptions and warnings raised by sklearn_rbm."""


class DivergenceError(ValueError):
    """Training produced non-finite parameters (overflow or NaN).

    Raised by ``fit`` / ``partial_fit`` when an epoch leaves a parameter
    infinite or NaN, which in practice means the learning rate is far too
    large for the data. The estimator keeps its previous fitted state (or stays
    unfitted): nothing of the failed run is published.
    """


class UnreliableEstimateWarning(UserWarning):
    """An estimate of ``log Z`` failed its consistency check.

    Issued by ``log_partition`` (and so by ``score_samples`` and ``score``)
    when two independent AIS estimates of ``log Z``, started from different
    base models, differ by more than the stated tolerance, or when their
    standard errors exceed it. AIS underestimates ``log Z`` on average, so
    the log-likelihoods computed from such an estimate are likely
    optimistic. More temperatures (``n_betas``), ``schedule="adaptive"`` or
    more runs usually help.
    """


class InconsistentVersionWarning(UserWarning):
    """A model is unpickled by a different version of sklearn_rbm.

    Like :class:`sklearn.exceptions.InconsistentVersionWarning`: the fitted
    state of an estimator is private and may change between versions, so a
    model should be used with the version that saved it (or refitted).

    Attributes
    ----------
    estimator_name : str
    current_version : str
    original_version : str
    """

    def __init__(self, *, estimator_name, current_version, original_version):
        self.estimator_name = estimator_name
        self.current_version = current_version
        self.original_version = original_version

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from sklearn_rbm "
            f"version {self.original_version} when using version "
            f"{self.current_version}. This might lead to breaking code or invalid "
            "results. Use at your own risk. Refit the model, or save it with "
            "sklearn_rbm.persistence.save and load it with the version that "
            "wrote it."
        )


class OneModelOnlyError(ValueError, AttributeError):
    """What belongs to one RBM, asked of a model with orientation='both'.

    Raised by :class:`~sklearn_rbm.CategoricalRBMRecommender` with
    ``orientation="both"`` for ``transform``, ``free_energy`` and the weight
    attributes, which belong to one of its two models (``estimators_``).

    A ValueError, as documented; also an AttributeError, so that ``hasattr``
    and ``getattr(model, name, default)`` answer for the weight attributes
    (as scikit-learn's ``NotFittedError`` does for unfitted models).
    """
