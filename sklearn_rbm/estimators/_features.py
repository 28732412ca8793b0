"""Feature-learning methods of the dense RBMs: ``transform``,
``inverse_transform`` and the names of the hidden-unit features."""

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from ..engine import _xp
from ..engine.gibbs import hidden_proba, visible_field
from ._input import _reject_no_columns


class FeaturesMixin(TransformerMixin):
    """The hidden units as features of a fitted dense RBM.

    Needs ``_validate_X``, ``_input_namespace``, ``_family`` and ``_params``;
    placed before scikit-learn's ``ClassNamePrefixFeaturesOutMixin``, whose
    ``get_feature_names_out`` it extends. A ``TransformerMixin`` itself, so
    that scikit-learn wraps the ``transform`` defined here for
    ``set_output``.
    """

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
        X = self._validate_X(X, reset=False, method="transform")
        return hidden_proba(self._family(), X, self._params())

    def inverse_transform(self, X):
        """Visible means ``E[v | h]`` for hidden states or probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Hidden states (binary) or activation probabilities, as
            :meth:`transform` returns them. (Named ``X`` as in scikit-learn's
            transformers, so that metadata routing does not take it for
            metadata.)

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            ``E[v | h]`` (for probabilities, the mean-field reconstruction).
        """
        check_is_fitted(self)
        self._input_namespace(X, "inverse_transform")
        H = self._check_hidden(X)
        p = self._params()
        return self._family().mean(visible_field(H, p), p)

    def _check_hidden(self, H):
        _reject_no_columns(H)
        with np.errstate(over="ignore", invalid="ignore"):  # see _validate_X
            H = check_array(H, dtype=self.components_.dtype)
        n_hidden = self.components_.shape[0]
        if H.shape[1] != n_hidden:
            raise ValueError(
                f"inverse_transform: X has {H.shape[1]} columns but the fitted "
                f"model has {n_hidden} hidden units (X holds hidden states)."
            )
        if not _xp.is_numpy(H):
            xp = _xp.get_xp(H)
            if bool(xp.any(H < 0)) or bool(xp.any(H > 1)):
                raise ValueError("Hidden states must lie in [0, 1].")
        elif H.size and (H.min() < 0 or H.max() > 1):
            raise ValueError("Hidden states must lie in [0, 1].")
        return H

    def get_feature_names_out(self, input_features=None):
        """Output feature names: ``"<classname><i>"`` for each hidden unit.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the input feature names seen in fit.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``"<classname><i>"`` for each hidden unit.
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
