"""The extra that the kits' tests need: TensorFlow, scikit-learn and numpy."""

from __future__ import annotations

import pytest

from tests.assets.conftest import MISSING


@pytest.mark.tensorflow
def test_the_tensorflow_extra_is_installed() -> None:
    """Without it the kits' tests are not collected; this says so instead of passing silently."""
    if MISSING:
        pytest.skip(
            f"the example kits' tests need the tensorflow extra ({', '.join(MISSING)} missing: "
            "scripts/setup --tf); their modules were not collected"
        )
