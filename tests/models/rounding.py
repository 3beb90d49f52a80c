"""Comparing generations that ran the same computation with the same weights on the CPU, but not bit for bit.

The CPU kernels pick their code path by how the tensors lie in memory (alignment, copies made by offload hooks), so
two such runs can differ in the last bit of a float (measured: under 1e-6), which moves a pixel's rounding by one
level at most.
"""

from __future__ import annotations

import numpy as np


def same_up_to_rounding(actual: np.ndarray | None, expected: np.ndarray | None) -> bool:
    """uint8 pictures within one level; float arrays (audio) within 1e-5; both None counts as the same."""
    if actual is None or expected is None:
        return actual is expected
    if actual.shape != expected.shape:
        return False
    if actual.dtype == np.uint8:
        return int(np.abs(actual.astype(int) - expected.astype(int)).max()) <= 1
    return bool(np.allclose(actual, expected, rtol=0, atol=1e-5))
