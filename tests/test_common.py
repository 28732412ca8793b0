"""scikit-learn's estimator checks for every public estimator.

Expected failures are listed per estimator with the reason.
"""

from _estimators import STOCHASTIC_SAMPLE_WEIGHTS
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_rbm import BernoulliRBM
from sklearn_rbm.estimators.bernoulli import _clip_unit


class UnitRangeBernoulliRBM(BernoulliRBM):
    """BernoulliRBM that clips its input to [0, 1] instead of refusing values
    outside: scikit-learn's generic check data (values > 1) then reaches
    every code path of the class but its range check, which
    ``tests/test_bernoulli.py`` tests on its own."""

    def _check_values(self, X, method):
        return super()._check_values(_clip_unit(X), method)


ESTIMATORS = [
    BernoulliRBM(n_components=8, max_iter=5, random_state=0),
    UnitRangeBernoulliRBM(n_components=8, max_iter=5, random_state=0),
    # the same checks on [0, 1]-valued data: the generic check data reaches
    # BernoulliRBM through every code path the checks exercise
    make_pipeline(
        MinMaxScaler(clip=True),
        BernoulliRBM(n_components=8, max_iter=5, random_state=0),
    ),
]

# The generic check data is not in [0, 1] (the ``positive_only`` tag only
# shifts it to be non-negative). BernoulliRBM refuses such data by design with
# a ValueError naming the range, so these checks cannot run on it directly;
# the UnitRangeBernoulliRBM entry runs every one of them with the input
# clipped to [0, 1] (and the Pipeline entry with it scaled).
_OUT_OF_RANGE = (
    "generic check data has values > 1; BernoulliRBM raises a ValueError for "
    "values outside [0, 1] by design (the UnitRangeBernoulliRBM entry runs "
    "this check on the same data clipped to [0, 1])"
)
# sklearn's Pipeline fits its steps in place, which these two checks flag for
# any Pipeline; for BernoulliRBM itself the same properties are tested in
# test_bernoulli.py::test_fit_leaves_params_and_public_attributes_alone.
_PIPELINE_MUTATES_STEPS = "sklearn's Pipeline fits the estimators in its steps in place"

EXPECTED_FAILURES = {
    "BernoulliRBM": {
        "check_dict_unchanged": _OUT_OF_RANGE,
        "check_dont_overwrite_parameters": _OUT_OF_RANGE,
        "check_estimators_dtypes": _OUT_OF_RANGE,
        "check_estimators_fit_returns_self": _OUT_OF_RANGE,
        "check_estimators_overwrite_params": _OUT_OF_RANGE,
        "check_estimators_pickle": _OUT_OF_RANGE,
        "check_f_contiguous_array_estimator": _OUT_OF_RANGE,
        "check_fit2d_1feature": _OUT_OF_RANGE,
        "check_fit2d_1sample": _OUT_OF_RANGE,
        "check_fit2d_predict1d": _OUT_OF_RANGE,
        "check_fit_check_is_fitted": _OUT_OF_RANGE,
        "check_fit_idempotent": _OUT_OF_RANGE,
        "check_methods_sample_order_invariance": _OUT_OF_RANGE,
        "check_methods_subset_invariance": _OUT_OF_RANGE,
        "check_n_features_in": _OUT_OF_RANGE,
        "check_n_features_in_after_fitting": _OUT_OF_RANGE,
        "check_pipeline_consistency": _OUT_OF_RANGE,
        "check_readonly_memmap_input": _OUT_OF_RANGE,
        "check_transformer_data_not_an_array": _OUT_OF_RANGE,
        "check_transformer_general": _OUT_OF_RANGE,
        "check_transformer_n_iter": _OUT_OF_RANGE,
        "check_transformer_preserve_dtypes": _OUT_OF_RANGE,
        "check_sample_weights_pandas_series": _OUT_OF_RANGE,
        "check_sample_weights_not_an_array": _OUT_OF_RANGE,
        "check_all_zero_sample_weights_error": _OUT_OF_RANGE,
        "check_sample_weights_shape": _OUT_OF_RANGE,
        "check_sample_weights_not_overwritten": _OUT_OF_RANGE,
        "check_array_api_input": _OUT_OF_RANGE,
        "check_array_api_same_namespace": _OUT_OF_RANGE,
        "check_sample_weight_equivalence_on_dense_data": STOCHASTIC_SAMPLE_WEIGHTS,
        "check_sample_weight_equivalence_on_sparse_data": STOCHASTIC_SAMPLE_WEIGHTS,
        # with SCIPY_ARRAY_API=1 (skipped otherwise)
        "check_array_api_mixed_inputs": _OUT_OF_RANGE,
    },
    "UnitRangeBernoulliRBM": {
        # clipping instead of refusing: the range check is BernoulliRBM's own
        "check_fit_non_negative": "clips negative values instead of refusing them",
        "check_positive_only_tag_during_fit": (
            "clips negative values instead of refusing them"
        ),
        "check_sample_weight_equivalence_on_dense_data": STOCHASTIC_SAMPLE_WEIGHTS,
        "check_sample_weight_equivalence_on_sparse_data": STOCHASTIC_SAMPLE_WEIGHTS,
    },
    "Pipeline": {
        "check_estimators_overwrite_params": _PIPELINE_MUTATES_STEPS,
        "check_dont_overwrite_parameters": _PIPELINE_MUTATES_STEPS,
    },
}


def expected_failed_checks(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)
