"""Unit-test fixtures.

The session-wide ``_fresh_artifacts`` of tests/conftest.py empties
test-artifacts/, where the integration tests keep their server logs. Unit
tests start no servers, so here it does nothing: a unit run beside an
integration run must not delete that run's logs.
"""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _fresh_artifacts() -> None:
    """Leave test-artifacts/ alone (unit tests write none)."""
