import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
# Tests run the CPU profile unless the caller chose one.
os.environ.setdefault("CNNCOURSE_PROFILE", "fast")


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(0)
