"""A master's fields are checked on the way in (masters/fields.py): by the CLI (exit 2,
naming the range) and by the gateway, so no stored value can crash the balancer later."""
from __future__ import annotations

import math

import pytest
from click.testing import CliRunner
from hypothesis import given, strategies as st

from cli import main
from masters import fields
from daemon.client import DaemonError, Where, request

GOOD = dict(phone="+971501110007", name="Sales", role="primary", priority=0, weight=1.0, region="ae")


def test_good_fields_come_back_normalised():
    assert fields.validate(**{**GOOD, "phone": "+971 50 111 0007", "name": "  Sales "}) == {
        "phone": "+971501110007", "name": "Sales", "role": "primary", "priority": 0, "weight": 1.0,
        "region": "AE"}


@pytest.mark.parametrize("field, value", [
    ("weight", math.nan), ("weight", math.inf), ("weight", -math.inf), ("weight", 0.0), ("weight", -1.0),
    ("weight", 1e308), ("weight", "2"), ("weight", True), ("weight", None),
    ("priority", 10**9), ("priority", 1.5), ("priority", "1"), ("priority", True),
    ("role", "boss"), ("role", None),
    ("name", ""), ("name", "   "), ("name", "a\nb"), ("name", "x" * 101), ("name", 7),
    ("region", "UAE"), ("region", "A1"), ("region", "ÄE"), ("region", ""),
    ("phone", "+٩٧١x"), ("phone", "+971501110007\n"), ("phone", None),
])
def test_a_bad_field_is_refused_naming_it(field, value):
    with pytest.raises(fields.BadField) as e:
        fields.validate(**{**GOOD, field: value})
    assert e.value.field == field and "must be" in str(e.value)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_a_weight_is_finite_and_in_range_or_refused(w):
    try:
        got = fields.check_weight(w)
    except fields.BadField:
        assert not (math.isfinite(w) and fields.MIN_WEIGHT <= w <= fields.MAX_WEIGHT)
        return
    assert math.isfinite(got) and fields.MIN_WEIGHT <= got <= fields.MAX_WEIGHT


@pytest.mark.parametrize("option, value", [("--weight", "nan"), ("--weight", "inf"), ("--weight", "0"),
                                           ("--weight", "-1"), ("--priority", "100000")])
def test_cli_master_add_refuses_a_bad_number_with_exit_2_and_the_range(tmp_path, option, value):
    r = CliRunner().invoke(main, ["master", "add", "+971501110007", "--name", "X", option, value,
                                  "--home", str(tmp_path), "--port", "1"])
    assert r.exit_code == 2, r.output
    assert "must be" in r.output and ("0.01 to 1000" in r.output or "-1000 to 1000" in r.output)


def test_the_gateway_refuses_what_the_cli_would_and_a_second_spelling_of_a_master(daemon):
    where = Where(home=daemon.home, port=daemon.port)
    for bad in (dict(weight=math.nan), dict(weight=math.inf), dict(weight=0.0), dict(role="boss"),
                dict(priority="high"), dict(region="UAE")):
        with pytest.raises(DaemonError) as e:
            request(where, "master.add", **{**GOOD, **bad})
        assert e.value.code == 2 and "must be" in str(e.value)
    assert request(where, "masters.list") == []

    daemon.cli("master", "add", "+971505760056", "--name", "Sales")
    again = daemon.cli("master", "add", "+٩٧١٥٠٥٧٦٠٠٥٦", "--name", "Copy", check=False)
    assert again.returncode != 0 and "already registered" in again.stderr
    assert [m["phone"] for m in request(where, "masters.list")] == ["+971505760056"]
