import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    """Under pytest-xdist (``make test`` runs one worker per core), each
    worker computes with one BLAS thread, so that the workers do not
    oversubscribe the cores; tests that need more threads set them with
    ``threadpool_limits`` (and skip where the library cannot give them)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        from threadpoolctl import threadpool_limits

        config._sklearn_rbm_blas_limit = threadpool_limits(1, user_api="blas")


def data_dir():
    """The licensed datasets folder (env SKLEARN_RBM_DATA or ../shared/data)."""
    env = os.environ.get("SKLEARN_RBM_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    return path if path.is_dir() else None


@pytest.fixture
def shared_data():
    path = data_dir()
    if path is None:
        pytest.skip("licensed datasets not available (set SKLEARN_RBM_DATA)")
    return path


@pytest.fixture(scope="session")
def binary_digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0 > 0.5).astype(np.float64), y
