"""scikit-learn's estimator checks for every public estimator.

Expected failures are listed per estimator with the reason.
"""

from _estimators import STOCHASTIC_SAMPLE_WEIGHTS
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_rbm import BernoulliRBM

ESTIMATORS = [
    BernoulliRBM(n_components=8, max_iter=5, random_state=0),
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
# the Pipeline entry runs every one of them on the same data scaled to [0, 1].
_OUT_OF_RANGE = (
    "generic check data has values > 1; BernoulliRBM raises a ValueError for "
    "values outside [0, 1] by design (covered by the MinMaxScaler pipeline entry)"
)
_OUT_OF_RANGE_ARRAY_API = (
    "generic check data has values > 1, refused by BernoulliRBM by design; "
    "the same code passes these checks as GaussianBernoulliRBM "
    "(test_gaussian.py, test_array_api.py)"
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
        "check_sample_weight_equivalence_on_sparse_data": _OUT_OF_RANGE,
        "check_sample_weight_equivalence_on_dense_data": STOCHASTIC_SAMPLE_WEIGHTS,
        # run with SCIPY_ARRAY_API=1 (skipped otherwise); the same checks
        # pass for GaussianBernoulliRBM (test_array_api.py, test_gaussian.py)
        "check_array_api_input": _OUT_OF_RANGE_ARRAY_API,
        "check_array_api_mixed_inputs": _OUT_OF_RANGE_ARRAY_API,
        "check_array_api_same_namespace": _OUT_OF_RANGE_ARRAY_API,
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
