import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Course commands find the course directory as nbgrader does (the current one): the repository's.
os.chdir(ROOT)
# What every course kernel starts with (cnncourse.runtime.KERNEL_ENV), set before TensorFlow is
# imported, so checks run in this process compute what graded kernels compute.
os.environ.update({"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"})
os.environ.setdefault("MPLBACKEND", "Agg")
# Tests run the CPU profile unless the caller chose one.
os.environ.setdefault("CNNCOURSE_PROFILE", "fast")


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(0)

