"""The parameters of :class:`~sklearn_rbm.CategoricalRBMRecommender`: their
constraints (scikit-learn's ``_parameter_constraints``) and the values that
reproduce a model saved before a parameter existed."""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from .trainer import DTYPE_CONSTRAINT

# a model saved before one of these parameters existed behaved as this
# value does (no fine-tuning, no visible-bias decay, ranking by rating,
# no like re-ranking, no lateral term), not as today's default
SAVED_BEFORE = {
    "fine_tune_iter": 0,
    "visible_bias_decay": 0.0,
    "ranking": "rating",
    "ranking_like_weight": 0.0,
    "ranking_lateral_l2": None,
}

PARAMETER_CONSTRAINTS: dict = {
    "n_components": [
        Interval(Integral, 1, None, closed="left"),
        StrOptions({"auto"}),
    ],
    "orientation": [StrOptions({"user", "item", "both"})],
    "conditional": ["boolean"],
    "transductive": ["boolean"],
    "rank": [Interval(Integral, 1, None, closed="left"), None],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "batch_size": [
        Interval(Integral, 1, None, closed="left"),
        StrOptions({"auto"}),
    ],
    "max_iter": [Interval(Integral, 0, None, closed="left")],
    "cd_steps": [Interval(Integral, 1, None, closed="left"), tuple, list],
    "momentum": [Interval(Real, 0, 1, closed="left")],
    "momentum_schedule": [StrOptions({"constant", "warmup"})],
    "weight_decay": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
    "visible_bias_decay": [Interval(Real, 0, None, closed="left")],
    "fine_tune_iter": [
        Interval(Integral, 0, None, closed="left"),
        StrOptions({"auto"}),
    ],
    "fine_tune_learning_rate": [
        Interval(Real, 0, None, closed="neither"),
        StrOptions({"auto"}),
    ],
    "fine_tune_alpha": [Interval(Real, 0, None, closed="left")],
    "learning_rate_schedule": [StrOptions({"constant", "linear"})],
    "negative_visible": [StrOptions({"sample", "mean_field"})],
    "prediction": [StrOptions({"mean_field", "exact"})],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "dtype": DTYPE_CONSTRAINT,
    "feedback": [StrOptions({"auto", "explicit", "implicit"})],
    "ranking": [StrOptions({"choice", "rating"})],
    "ranking_components": [Interval(Integral, 1, None, closed="left")],
    "ranking_iter": [Interval(Integral, 1, None, closed="left")],
    "ranking_like_weight": [Interval(Real, 0, None, closed="left")],
    "ranking_lateral_l2": [
        Interval(Real, 0, None, closed="neither"),
        StrOptions({"auto"}),
        None,
    ],
    "item_weight": [Interval(Real, 0, 1, closed="both")],
    # joblib gives 0 no meaning: refused here, naming the parameter
    "n_jobs": [
        Interval(Integral, None, -1, closed="right"),
        Interval(Integral, 1, None, closed="left"),
        None,
    ],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}
