"""One helper that turns an int, a Generator or None into a numpy Generator."""

from __future__ import annotations

import numpy as np

RandomState = int | np.random.Generator | None


def check_random_state(random_state: RandomState) -> np.random.Generator:
    """Return a numpy Generator for ``random_state`` (int seed, Generator, or None)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.default_rng(random_state)
    raise ValueError(
        f"random_state must be an int, a numpy Generator or None, not {type(random_state).__name__}"
    )
