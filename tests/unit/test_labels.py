"""Room labels: random ones are readable and valid; reserved and malformed ones are not."""

import re

import pytest

from app.chat import labels
from app.chat.labels import (
    ADJECTIVES,
    LABEL_MAX_LENGTH,
    NOUNS,
    RESERVED_LABELS,
    is_valid_label,
    random_label,
)

SHAPE = re.compile(r"\A([a-z]+)-([a-z]+)-(\d{4})\Z")


def test_random_labels_are_adjective_noun_four_digits_and_valid() -> None:
    for _ in range(500):
        label = random_label()
        match = SHAPE.match(label)
        assert match, label
        assert match.group(1) in ADJECTIVES
        assert match.group(2) in NOUNS
        assert is_valid_label(label)
        assert len(label) <= LABEL_MAX_LENGTH


def test_random_labels_keep_leading_zeros(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labels.secrets, "choice", lambda seq: seq[0])
    monkeypatch.setattr(labels.secrets, "randbelow", lambda n: 7)

    assert random_label() == f"{ADJECTIVES[0]}-{NOUNS[0]}-0007"


def test_every_word_fits_a_label() -> None:
    longest = max(map(len, ADJECTIVES)) + max(map(len, NOUNS)) + len("--0000")

    assert longest <= LABEL_MAX_LENGTH
    assert all(re.fullmatch(r"[a-z]+", word) for word in ADJECTIVES + NOUNS)


def test_random_labels_vary() -> None:
    assert len({random_label() for _ in range(200)}) > 150


@pytest.mark.parametrize(
    "label", ["a", "room", "misty-river-0042", "Team_Chat", "A1-b2_C3", "x" * LABEL_MAX_LENGTH]
)
def test_slug_labels_up_to_the_maximum_length_are_valid(label: str) -> None:
    assert is_valid_label(label)


@pytest.mark.parametrize(
    "label",
    [
        "",
        "x" * (LABEL_MAX_LENGTH + 1),
        "has space",
        "slash/label",
        "dot.label",
        "ümlaut",
        "emoji😀",
        "line\n",
        "tab\tlabel",
        "percent%20",
        "<script>",
        "semi;colon",
    ],
)
def test_labels_outside_the_slug_alphabet_are_invalid(label: str) -> None:
    assert not is_valid_label(label)


@pytest.mark.parametrize("label", sorted(RESERVED_LABELS))
def test_reserved_labels_are_invalid(label: str) -> None:
    assert not is_valid_label(label)


@pytest.mark.parametrize("label", ["New", "ADMIN", "Static", "HealthZ", "Metrics"])
def test_reserved_labels_are_invalid_in_any_case(label: str) -> None:
    assert not is_valid_label(label)


@pytest.mark.parametrize("path", ["new", "admin", "static", "chat", "healthz", "readyz", "metrics"])
def test_the_site_paths_are_reserved(path: str) -> None:
    assert path in RESERVED_LABELS
