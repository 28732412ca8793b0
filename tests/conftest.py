import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


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
