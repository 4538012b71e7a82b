"""Phone normalisation: one number, one key, ASCII digits only (runtime/phone.py)."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from runtime.phone import BadPhone, normalize

E164 = re.compile(r"\+[1-9][0-9]{7,14}")


@pytest.mark.parametrize("raw", [
    "+٩٧١٥٠٥٧٦٠٠٥٦",          # Arabic-Indic
    "+۹۷۱۵۰۵۷۶۰۰۵۶",          # Extended Arabic-Indic (Persian, Urdu)
    "+９７１５０５７６００５６",    # full-width
    "٠٠٩٧١٥٠٥٧٦٠٠٥٦",         # 00 prefix in Arabic-Indic
    "+971 ٥٠ 576 0056",       # mixed
])
def test_digits_of_other_scripts_are_the_same_key_as_ascii(raw):
    assert normalize(raw) == "+971505760056"


@pytest.mark.parametrize("raw", [
    "+447700900001\n", "+44770\n0900001", "+447700900001\r", "+4477009\t00001", "+447700900001\x00",
    "\n+447700900001", "+44 7700\u00a0900001", "+447700900001\u200b", "+¹²³⁴⁵⁶⁷⁸⁹",  # superscripts are not digits
    "+44+7700900001", "+44770090000١١١١١١",    # too long once folded
])
def test_control_characters_whitespace_and_non_digits_are_refused(raw):
    with pytest.raises(BadPhone) as e:
        normalize(raw)
    assert "E.164" in str(e.value)


_chars = st.one_of(st.characters(), st.sampled_from(list("+0123456789 -().٠١٢٣٤٥٦٧٨٩９\n")))


@settings(max_examples=2000)
@given(st.text(_chars, max_size=25))
def test_the_result_is_always_e164_ascii_or_bad_phone_and_idempotent(raw):
    try:
        out = normalize(raw)
    except BadPhone:
        return
    assert E164.fullmatch(out) and out.isascii(), repr(out)
    assert normalize(out) == out


@given(st.from_regex(r"\+[1-9][0-9]{7,14}", fullmatch=True))
def test_every_e164_number_is_its_own_normal_form(number):
    assert normalize(number) == number


@given(st.from_regex(r"[1-9][0-9]{7,14}", fullmatch=True), st.sampled_from(["٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "０１２３４５６７８９"]))
def test_any_script_folds_to_the_ascii_key(digits, script):
    other = "".join(script[int(d)] for d in digits)
    assert normalize("+" + other) == normalize("+" + digits) == "+" + digits
