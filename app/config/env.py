"""The one place that reads the process environment.

Settings modules import the typed values from here; nothing else in Parley
touches ``os.environ``. Booleans are parsed explicitly, lists are
comma-separated, and a missing required value fails with its name.
"""

import math
import os
from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})
Number = TypeVar("Number", int, float)


def env_str(name: str, default: str | None = None) -> str | None:
    """Return the variable's value, or ``default`` when it is unset."""
    return os.environ.get(name, default)


def env_required(name: str) -> str:
    """Return the variable's value, refusing to start when it is unset or empty."""
    value = os.environ.get(name, "")
    if not value.strip():
        raise ImproperlyConfigured(f"The environment variable {name} is required here.")
    return value


def env_bool(name: str, default: bool = False) -> bool:
    """Parse an explicit boolean (1/0, true/false, yes/no, on/off)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false).")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    """Parse an integer no smaller than ``minimum``."""
    return _env_number(name, default, minimum, int, "an integer")


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    """Parse a number no smaller than ``minimum``."""
    return _env_number(name, default, minimum, float, "a number")


def _env_number(
    name: str, default: Number, minimum: Number, parse: Callable[[str], Number], kind: str
) -> Number:
    """Parse a finite number with ``parse``, refusing values below ``minimum``."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not {kind}.") from None
    if not math.isfinite(value):  # float() takes "nan" and "inf"
        raise ImproperlyConfigured(f"{name}={raw!r} is not {kind}.")
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below its minimum {minimum}.")
    return value


def env_list(name: str, default: tuple[str, ...] = ()) -> list[str]:
    """Split a comma- or whitespace-separated list, dropping empty items."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item for item in raw.replace(",", " ").split() if item]


def default_settings_module(module: str) -> None:
    """Use settings ``module`` unless ``DJANGO_SETTINGS_MODULE`` names others (entrypoints)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", module)
