from __future__ import annotations

import pytest

from aedfleet.collector import lineprotocol as lp


def test_tag_values_escape_separators() -> None:
    assert lp.tag("Bus station, north gate=2") == r"Bus\ station\,\ north\ gate\=2"


@pytest.mark.parametrize("value", ["line\nbreak", "back\\slash", ""])
def test_tag_values_that_line_protocol_cannot_carry_are_refused(value: str) -> None:
    with pytest.raises(lp.LineProtocolError):
        lp.tag(value)


def test_string_fields_escape_quotes_backslashes_and_newlines() -> None:
    assert lp.string('say "hi"\\\n') == r'"say \"hi\"\\\n"'


def test_whole_volts_are_still_floats() -> None:
    assert lp.floating(13) == "13.0"


def test_printable_escapes_everything_but_printable_ascii() -> None:
    assert lp.printable(b'ok\x00\xff\n"\\', 100) == 'ok\\x00\\xff\\x0a"\\x5c'
    assert lp.printable(b"abcdef", 3) == "abc"


def test_tag_set_is_sorted_and_skips_empty_values() -> None:
    assert lp.tag_set({"site": "Mall", "cabinet": "bz-1", "x": ""}) == ",cabinet=bz-1,site=Mall"
