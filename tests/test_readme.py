"""The README stays true: every environment variable Parley reads is documented there."""

import re
from dataclasses import fields
from pathlib import Path

from app.config.parley import ParleySettings

ROOT = Path(__file__).resolve().parents[1]
ENV_READ = re.compile(r'env_(?:str|bool|int|float|list|required)\(\s*"([A-Z0-9_]+)"')
PROCFILE_VAR = re.compile(r"\$\{?([A-Z][A-Z0-9_]+)")


def variables_read() -> set[str]:
    """Names read through app/config/env.py, and those the Procfile expands."""
    names = {
        name for path in (ROOT / "app").rglob("*.py") for name in ENV_READ.findall(path.read_text())
    }
    names |= set(PROCFILE_VAR.findall((ROOT / "Procfile").read_text()))
    return names | set(parley_variables())


def parley_variables() -> dict[str, object]:
    """Every ``PARLEY_*`` variable of the typed settings, with its built-in default."""
    return {
        ParleySettings.env_name(item.name): item.default
        for item in fields(ParleySettings)
        if item.metadata.get("env")
    }


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


def test_every_parley_variable_has_its_default_in_the_readme():
    rows = {
        match[0]: match[1]
        for match in re.findall(r"^\| `(PARLEY_[A-Z_]+)` \| ([^|]+) \|", README(), re.MULTILINE)
    }
    variables = parley_variables()
    assert len(variables) >= 20
    for name, default in variables.items():
        assert name in rows, f"README.md has no configuration row for {name}"
        if not isinstance(default, bool):  # PARLEY_INPROCESS_WORKER's depends on REDIS_URL
            assert rows[name].strip() == f"`{default:g}`", (name, rows[name])


def README() -> str:
    """The README's text."""
    return (ROOT / "README.md").read_text()
