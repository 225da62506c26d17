"""The README stays true: every environment variable Parley reads is documented there."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV_READ = re.compile(r'env_(?:str|bool|int|float|list|required)\(\s*"([A-Z0-9_]+)"')
PROCFILE_VAR = re.compile(r"\$\{?([A-Z][A-Z0-9_]+)")


def variables_read() -> set[str]:
    """Names read through app/config/env.py, and those the Procfile expands."""
    names = {
        name for path in (ROOT / "app").rglob("*.py") for name in ENV_READ.findall(path.read_text())
    }
    names |= set(PROCFILE_VAR.findall((ROOT / "Procfile").read_text()))
    return names


def test_every_environment_variable_is_in_the_readme():
    names = variables_read()
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PORT"} <= names
    readme = (ROOT / "README.md").read_text()
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert not missing, f"README.md does not document: {missing}"


def test_only_env_py_reads_the_environment():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "app").rglob("*.py")
        if re.search(
            r"os\.environ(?!\.setdefault\(\"DJANGO_SETTINGS_MODULE\")|os\.getenv", path.read_text()
        )
        and path.name != "env.py"
    ]
    assert not offenders, f"read the environment outside app/config/env.py: {offenders}"
