"""Reading the environment: explicit booleans, bounded numbers, lists, required values."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from app.config.env import env_bool, env_float, env_int, env_list, env_required, env_str

NAME = "PARLEY_UNIT_TEST_VALUE"


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NAME, raising=False)


# ------------------------------------------------------------------ strings
def test_env_str_returns_the_value_or_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert env_str(NAME) is None
    assert env_str(NAME, "fallback") == "fallback"
    monkeypatch.setenv(NAME, " as is ")
    assert env_str(NAME, "fallback") == " as is "


def test_env_required_returns_a_set_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, "s3cret")

    assert env_required(NAME) == "s3cret"


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_env_required_refuses_unset_or_blank_naming_it(
    monkeypatch: pytest.MonkeyPatch, raw: str | None
) -> None:
    if raw is not None:
        monkeypatch.setenv(NAME, raw)

    with pytest.raises(ImproperlyConfigured, match=NAME):
        env_required(NAME)


# ------------------------------------------------------------------ booleans
@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "True", "yes", "on", " On ", "YES"])
def test_env_bool_true_words(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(NAME, raw)

    assert env_bool(NAME, default=False) is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off", "", "  "])
def test_env_bool_false_words(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(NAME, raw)

    assert env_bool(NAME, default=True) is False


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_unset_is_the_default(default: bool) -> None:
    assert env_bool(NAME, default=default) is default


@pytest.mark.parametrize("raw", ["2", "y", "n", "enabled", "t", "f", "truee", "-1"])
def test_env_bool_refuses_anything_else_naming_it(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv(NAME, raw)

    with pytest.raises(ImproperlyConfigured, match=rf"{NAME}='{raw}' is not a boolean"):
        env_bool(NAME)


# ------------------------------------------------------------------ numbers
@pytest.mark.parametrize(("raw", "value"), [("0", 0), ("42", 42), (" 7 ", 7), ("+3", 3)])
def test_env_int_parses(monkeypatch: pytest.MonkeyPatch, raw: str, value: int) -> None:
    monkeypatch.setenv(NAME, raw)

    assert env_int(NAME, 99) == value


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_env_int_unset_or_blank_is_the_default(
    monkeypatch: pytest.MonkeyPatch, raw: str | None
) -> None:
    if raw is not None:
        monkeypatch.setenv(NAME, raw)

    assert env_int(NAME, 99) == 99


@pytest.mark.parametrize("raw", ["1.5", "ten", "0x10", "1e3", "5 5"])
def test_env_int_refuses_non_integers_naming_it(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(NAME, raw)

    with pytest.raises(ImproperlyConfigured, match=rf"{NAME}=.* is not an integer"):
        env_int(NAME, 1)


def test_env_int_holds_its_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, "8")
    assert env_int(NAME, 100, minimum=8) == 8

    monkeypatch.setenv(NAME, "7")
    with pytest.raises(ImproperlyConfigured, match=rf"{NAME}=7 is below its minimum 8"):
        env_int(NAME, 100, minimum=8)


def test_env_int_is_not_negative_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, "-1")

    with pytest.raises(ImproperlyConfigured, match="minimum"):
        env_int(NAME, 1)


@pytest.mark.parametrize(("raw", "value"), [("0.25", 0.25), ("10", 10.0), ("1e-3", 0.001)])
def test_env_float_parses(monkeypatch: pytest.MonkeyPatch, raw: str, value: float) -> None:
    monkeypatch.setenv(NAME, raw)

    assert env_float(NAME, 9.0) == pytest.approx(value)
    assert isinstance(env_float(NAME, 9.0), float)


def test_env_float_unset_is_the_default() -> None:
    assert env_float(NAME, 0.5) == 0.5


@pytest.mark.parametrize("raw", ["fast", "1,5", "nan", "NaN", "inf", "Infinity"])
def test_env_float_refuses_non_numbers_and_non_finite_ones(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv(NAME, raw)

    with pytest.raises(ImproperlyConfigured, match=rf"{NAME}=.* is not a number"):
        env_float(NAME, 1.0)


def test_env_float_holds_its_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, "0.1")
    assert env_float(NAME, 1.0, minimum=0.1) == pytest.approx(0.1)

    monkeypatch.setenv(NAME, "0.05")
    with pytest.raises(ImproperlyConfigured, match=r"below its minimum 0\.1"):
        env_float(NAME, 1.0, minimum=0.1)


# ------------------------------------------------------------------ lists
@pytest.mark.parametrize(
    ("raw", "items"),
    [
        ("a", ["a"]),
        ("a,b,c", ["a", "b", "c"]),
        ("a, b ,c", ["a", "b", "c"]),
        ("a b\tc", ["a", "b", "c"]),
        (",a,,b,", ["a", "b"]),
        ("", []),
        (" , ", []),
    ],
)
def test_env_list_splits_on_commas_and_whitespace(
    monkeypatch: pytest.MonkeyPatch, raw: str, items: list[str]
) -> None:
    monkeypatch.setenv(NAME, raw)

    assert env_list(NAME, ("default",)) == items


def test_env_list_unset_is_the_default_as_a_list() -> None:
    assert env_list(NAME, ("x", "y")) == ["x", "y"]
    assert env_list(NAME) == []
