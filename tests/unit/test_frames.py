"""Parsing client frames: every rule, its error code, both dialects, the limits."""

import json

import pytest

from app.chat.exceptions import FrameTooLarge, InvalidFrame
from app.chat.messages import ChatMessage
from app.chat.protocol import Limits, parse_frame

LABEL = "room"
LIMITS = Limits(max_frame_bytes=256, max_handle_chars=8, max_message_chars=20)
BOTH_DIALECTS = pytest.mark.parametrize("opted_in", [False, True], ids=["plain", "opt-in"])


def dump(data: object) -> str:
    """Encode as a browser would: UTF-8 text, nothing escaped that need not be."""
    return json.dumps(data, ensure_ascii=False)


def parse(data: object, *, opted_in: bool = False, limits: Limits = LIMITS) -> ChatMessage:
    text = data if isinstance(data, str) else dump(data)
    return parse_frame(text, label=LABEL, opted_in=opted_in, limits=limits)


def refusal(data: object, *, opted_in: bool = False, limits: Limits = LIMITS) -> InvalidFrame:
    with pytest.raises(InvalidFrame) as caught:
        parse(data, opted_in=opted_in, limits=limits)
    return caught.value


# ------------------------------------------------------------------ valid frames
@BOTH_DIALECTS
def test_a_seed_frame_parses_in_both_dialects(opted_in: bool) -> None:
    frame = parse({"handle": "ada", "message": "hello"}, opted_in=opted_in)

    assert frame == ChatMessage(label=LABEL, handle="ada", message="hello", client_id=None)


def test_an_opted_in_frame_carries_type_and_client_id() -> None:
    frame = parse(
        {"type": "message", "client_id": "c-1", "handle": "ada", "message": "hi"}, opted_in=True
    )

    assert frame == ChatMessage(label=LABEL, handle="ada", message="hi", client_id="c-1")


def test_an_opted_in_frame_may_leave_out_type_and_client_id() -> None:
    assert parse({"handle": "ada", "message": "hi"}, opted_in=True).client_id is None
    frame = parse({"client_id": "x", "handle": "ada", "message": "hi"}, opted_in=True)
    assert frame.client_id == "x"


def test_a_null_client_id_means_none() -> None:
    frame = parse({"client_id": None, "handle": "a", "message": "b"}, opted_in=True)

    assert frame.client_id is None


@pytest.mark.parametrize(
    "message",
    ["<b>hi</b> & <i>", "emoji 😀👍🏽", "tab\there", "two\nlines\r\nend"],
)
def test_text_comes_back_exactly_as_sent(message: str) -> None:
    assert parse({"handle": "ada", "message": message}).message == message


# ------------------------------------------------------------------ JSON and shape
@pytest.mark.parametrize("text", ["", "not json", "{", '{"handle": "a",}', "{'a': 1}", "NaN]"])
@BOTH_DIALECTS
def test_text_that_is_not_json_is_invalid_json(text: str, opted_in: bool) -> None:
    assert refusal(text, opted_in=opted_in).code == "invalid_json"


def test_json_nested_too_deep_to_parse_is_invalid_json_not_a_crash() -> None:
    deep = "[" * 5000 + "]" * 5000
    limits = Limits(max_frame_bytes=len(deep), max_handle_chars=8, max_message_chars=20)

    assert refusal(deep, limits=limits).code == "invalid_json"


@pytest.mark.parametrize("text", ["[]", '["handle", "message"]', '"text"', "1", "null", "true"])
@BOTH_DIALECTS
def test_json_that_is_not_an_object_is_refused(text: str, opted_in: bool) -> None:
    assert refusal(text, opted_in=opted_in).code == "not_an_object"


# ------------------------------------------------------------------ keys
@pytest.mark.parametrize("extra", ["type", "client_id", "id", "timestamp"])
def test_the_plain_dialect_allows_only_handle_and_message(extra: str) -> None:
    error = refusal({"handle": "a", "message": "b", extra: "message"})

    assert error.code == "unknown_field"
    assert extra in error.detail


def test_the_opt_in_dialect_refuses_other_keys_naming_them_sorted() -> None:
    error = refusal({"handle": "a", "message": "b", "zeta": 1, "alpha": 2}, opted_in=True)

    assert error.code == "unknown_field"
    assert "alpha, zeta" in error.detail


@BOTH_DIALECTS
def test_extra_keys_are_reported_before_missing_ones(opted_in: bool) -> None:
    error = refusal({"text": "hello"}, opted_in=opted_in)

    assert error.code == "unknown_field"
    assert "text" in error.detail


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ({"handle": "a"}, "message"),
        ({"message": "b"}, "handle"),
        ({}, "handle, message"),
    ],
)
@BOTH_DIALECTS
def test_missing_keys_are_refused_naming_them(data: dict, names: str, opted_in: bool) -> None:
    error = refusal(data, opted_in=opted_in)

    assert error.code == "missing_field"
    assert names in error.detail


@pytest.mark.parametrize("frame_type", ["ping", "ack", "", "MESSAGE", 1, None, ["message"]])
def test_an_opted_in_frame_of_another_type_is_unknown_type(frame_type: object) -> None:
    error = refusal({"type": frame_type, "handle": "a", "message": "b"}, opted_in=True)

    assert error.code == "unknown_type"


# ------------------------------------------------------------------ field values
@pytest.mark.parametrize("field", ["handle", "message"])
@pytest.mark.parametrize("value", [1, 1.5, None, True, ["x"], {"x": "y"}])
@BOTH_DIALECTS
def test_a_field_that_is_not_a_string_is_invalid_type(
    field: str, value: object, opted_in: bool
) -> None:
    data = {"handle": "a", "message": "b", field: value}

    assert refusal(data, opted_in=opted_in).code == "invalid_type"


@pytest.mark.parametrize("field", ["handle", "message"])
@pytest.mark.parametrize("value", ["", " ", "\t\n ", "\r\n"])
def test_an_empty_or_blank_field_is_empty_field(field: str, value: str) -> None:
    error = refusal({"handle": "a", "message": "b", field: value})

    assert error.code == "empty_field"
    assert field in error.detail


@pytest.mark.parametrize(("field", "limit"), [("handle", 8), ("message", 20)])
@pytest.mark.parametrize("char", ["a", "é", "😀"], ids=["ascii", "2-byte", "4-byte"])
@BOTH_DIALECTS
def test_field_length_counts_characters_up_to_the_limit(
    field: str, limit: int, char: str, opted_in: bool
) -> None:
    at_limit = {"handle": "a", "message": "b", field: char * limit}
    over = {"handle": "a", "message": "b", field: char * (limit + 1)}

    assert getattr(parse(at_limit, opted_in=opted_in), field) == char * limit
    error = refusal(over, opted_in=opted_in)
    assert error.code == "too_long"
    assert field in error.detail


@pytest.mark.parametrize("char", ["\t", "\n", "\r"], ids=["tab", "lf", "cr"])
def test_tabs_and_line_breaks_are_allowed_in_messages_not_handles(char: str) -> None:
    assert parse({"handle": "a", "message": f"x{char}y"}).message == f"x{char}y"
    assert refusal({"handle": f"x{char}y", "message": "b"}).code == "invalid_text"


FORBIDDEN = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1b", "\x1f", "\x7f", "\x85", "\x9f"]


@pytest.mark.parametrize("char", FORBIDDEN, ids=[f"U+{ord(c):04X}" for c in FORBIDDEN])
@pytest.mark.parametrize("field", ["handle", "message"])
@BOTH_DIALECTS
def test_nul_control_and_del_characters_are_invalid_text(
    char: str, field: str, opted_in: bool
) -> None:
    error = refusal({"handle": "a", "message": "b", field: f"x{char}y"}, opted_in=opted_in)

    assert error.code == "invalid_text"
    assert field in error.detail


@pytest.mark.parametrize("char", [" ", "~", "\xa0", "é", "😀"])
def test_printable_characters_next_to_the_forbidden_ranges_are_allowed(char: str) -> None:
    frame = parse({"handle": f"x{char}y", "message": f"x{char}y"})

    assert (frame.handle, frame.message) == (f"x{char}y", f"x{char}y")


@pytest.mark.parametrize("field", ["handle", "message"])
@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\ude00x\\ud83d"])
def test_a_lone_surrogate_escape_is_invalid_text(field: str, escape: str) -> None:
    other = "message" if field == "handle" else "handle"
    text = f'{{"{field}": "a{escape}", "{other}": "ok"}}'

    assert refusal(text).code == "invalid_text"


def test_a_raw_lone_surrogate_is_invalid_text() -> None:
    assert refusal('{"handle": "a", "message": "x\ud800"}').code == "invalid_text"


def test_a_surrogate_pair_escape_is_a_valid_character() -> None:
    assert parse('{"handle": "a", "message": "\\ud83d\\ude00"}').message == "😀"


# ------------------------------------------------------------------ frame size
def frame_of_bytes(size: int, *, char: str) -> str:
    """A valid-looking seed frame of exactly ``size`` UTF-8 bytes, padded with ``char``."""
    shell = '{"handle":"h","message":""}'
    room = size - len(shell.encode())
    width = len(char.encode())
    padding = char * (room // width) + "a" * (room % width)
    text = shell.replace('""}', f'"{padding}"}}')
    assert len(text.encode()) == size
    return text


@pytest.mark.parametrize("char", ["a", "é", "€", "😀"])
@BOTH_DIALECTS
def test_frame_size_is_counted_in_utf8_bytes_up_to_the_limit(char: str, opted_in: bool) -> None:
    limits = Limits(max_frame_bytes=120, max_handle_chars=8, max_message_chars=200)

    parse(frame_of_bytes(120, char=char), opted_in=opted_in, limits=limits)
    too_big = frame_of_bytes(121, char=char)
    with pytest.raises(FrameTooLarge) as caught:
        parse(too_big, opted_in=opted_in, limits=limits)
    assert caught.value.code == "frame_too_large"
    assert "121" in caught.value.detail
    assert "120" in caught.value.detail


def test_multi_byte_characters_make_a_frame_too_large_before_its_character_count_does() -> None:
    limits = Limits(max_frame_bytes=100, max_handle_chars=8, max_message_chars=200)
    text = frame_of_bytes(200, char="😀")

    assert len(text) < 100
    with pytest.raises(FrameTooLarge):
        parse(text, limits=limits)


def test_frame_size_is_checked_before_anything_else() -> None:
    with pytest.raises(FrameTooLarge):
        parse("x" * (LIMITS.max_frame_bytes + 1))


def test_frame_too_large_is_an_invalid_frame_and_a_value_error() -> None:
    with pytest.raises(FrameTooLarge) as caught:
        parse("x" * (LIMITS.max_frame_bytes + 1))

    assert isinstance(caught.value, InvalidFrame)
    assert isinstance(caught.value, ValueError)


# ------------------------------------------------------------------ client_id
@pytest.mark.parametrize("client_id", ["a", "Z9", "abc-DEF_123.x:y", "k" * 64])
def test_client_ids_of_the_documented_alphabet_and_length_are_kept(client_id: str) -> None:
    frame = parse({"client_id": client_id, "handle": "a", "message": "b"}, opted_in=True)

    assert frame.client_id == client_id


@pytest.mark.parametrize(
    "client_id",
    ["", "k" * 65, "has space", "a/b", "ü", "a\nb", "a\x00", "semi;colon", 7, True, ["a"]],
)
def test_other_client_ids_are_invalid_client_id(client_id: object) -> None:
    error = refusal({"client_id": client_id, "handle": "a", "message": "b"}, opted_in=True)

    assert error.code == "invalid_client_id"


def test_an_opted_in_refusal_names_the_refused_client_id() -> None:
    error = refusal({"client_id": "c-7", "handle": "a", "message": ""}, opted_in=True)

    assert error.code == "empty_field"
    assert error.client_id == "c-7"
