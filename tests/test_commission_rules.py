"""Commission rules and calculations: the old system's own figures (issue 16), then tiers, minimums, rounding, VAT."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from deals import rules as rules_mod
from deals.commission import calculate
from deals.errors import CommissionError, RuleError

AGENT = "+971500000001"
DAY = dt.date(2026, 3, 1)

# The old system's rules, one file: each figure below is computed against the rules it names.
OLD_RULES = """
[[rule]]
name = "sale-2pct"
kind = "percentage"
rate = "2"
priority = 1
[rule.scope]
transaction = ["sale"]

[[rule]]
name = "lease-fixed"
kind = "fixed"
amount = "5000"
priority = 1
[rule.scope]
transaction = ["lease"]

[[rule]]
name = "villa-3pct"
kind = "percentage"
rate = "3"
priority = 10
[rule.scope]
transaction = ["sale"]
property_type = ["villa"]

[[rule]]
name = "agent-5pct"
kind = "percentage"
rate = "5"
priority = 20
[rule.scope]
agent = ["+971500000001"]

[[rule]]
name = "high-value"
kind = "percentage"
rate = "3"
priority = 5
[rule.scope]
transaction = ["sale"]
min_value = "5000000"

[[rule]]
name = "inactive-50pct"
kind = "percentage"
rate = "50"
priority = 100
active = false
"""

FLAT_TIERS = """
[[rule]]
name = "tiers"
kind = "tiered"
mode = "flat"
tiers = [{up_to = "2000000", rate = "1.5"}, {up_to = "5000000", rate = "2"}, {rate = "2.5"}]
"""

SHARE = """
[[rule]]
name = "share-3pct"
kind = "share"
rate = "3"
splits = [{to = "agent", pct = "60"}, {to = "broker", pct = "25"}, {to = "company", pct = "15"}]
"""


def calc(text: str, price, type_="apartment", transaction="sale", agent=None, **kw):
    return calculate(rules_mod.parse(text), price, type_, transaction, agent=agent, date=kw.pop("date", DAY), **kw)


def only(rule_name: str) -> str:
    """One rule of OLD_RULES on its own, priority and scope kept (the old test priced each rule alone)."""
    blocks = ["[[rule]]" + b for b in OLD_RULES.split("[[rule]]")[1:]]
    return next(b for b in blocks if f'name = "{rule_name}"' in b)


# --- the old system's figures -------------------------------------------------------------------

@pytest.mark.parametrize("price, commission", [("2000000", "40000.00"), ("100000", "2000.00"),
                                               ("50000000", "1000000.00")])
def test_two_percent_sale_default(price, commission):
    r = calc(only("sale-2pct"), price)
    assert (r.rule, r.commission) == ("sale-2pct", D(commission))


@pytest.mark.parametrize("rent", ["80000", "500000"])
def test_fixed_lease_is_5000_whatever_the_rent(rent):
    assert calc(OLD_RULES, rent, transaction="lease").commission == D("5000.00")


@pytest.mark.parametrize("price, commission", [("1000000", "15000.00"), ("3500000", "70000.00"),
                                               ("8000000", "200000.00")])
def test_flat_tiers(price, commission):
    assert calc(FLAT_TIERS, price).commission == D(commission)


def test_share_rule_splits_60_25_15():
    r = calc(SHARE, "2000000")
    assert r.commission == D("60000.00")
    assert r.splits == (("agent", D("36000.00")), ("broker", D("15000.00")), ("company", D("9000.00")))


def test_a_split_totalling_80_percent_is_refused():
    bad = SHARE.replace('pct = "15"', 'pct = "0"').replace('pct = "25"', 'pct = "20"')
    with pytest.raises(RuleError, match=r'rule "share-3pct": splits: must total exactly 100, they total 80'):
        rules_mod.parse(bad)


def test_villa_rule_wins_over_the_default_by_priority():
    r = calc(OLD_RULES, "2000000", type_="villa")
    assert (r.rule, r.commission) == ("villa-3pct", D("60000.00"))


def test_agent_rule_wins_at_priority_20():
    r = calc(OLD_RULES, "1000000", type_="villa", agent=AGENT)
    assert (r.rule, r.commission) == ("agent-5pct", D("50000.00"))


def test_high_value_rule_from_5m():
    r = calc(OLD_RULES, "6000000")
    assert (r.rule, r.commission) == ("high-value", D("180000.00"))
    assert calc(OLD_RULES, "5000000").rule == "high-value", "min_value is inclusive"
    assert calc(OLD_RULES, "4999999.99").rule == "sale-2pct"


def test_the_inactive_rule_is_ignored():
    r = calc(OLD_RULES, "2000000")
    assert (r.rule, r.commission) == ("sale-2pct", D("40000.00"))
    with pytest.raises(CommissionError, match="no commission rule in scope"):
        calc(only("inactive-50pct"), "2000000")


@pytest.mark.parametrize("price", ["0", "-1", "-2000000", 0, "0.00"])
def test_zero_or_negative_prices_are_refused(price):
    with pytest.raises(CommissionError, match="the price must be above 0"):
        calc(OLD_RULES, price)


def test_an_unknown_agent_is_refused():
    with pytest.raises(CommissionError, match=r"\+971509999999 is not a registered agent"):
        calc(OLD_RULES, "2000000", agent="+971509999999", known_agents={AGENT})
    assert calc(OLD_RULES, "1000000", agent=AGENT, known_agents={AGENT}).rule == "agent-5pct"


def test_an_expired_rule_is_refused_and_says_so():
    text = only("sale-2pct").replace("[rule.scope]", '[rule.scope]\nvalid_to = "2025-12-31"')
    with pytest.raises(CommissionError, match="rule 'sale-2pct' expired on 2025-12-31"):
        calc(text, "2000000")
    assert calc(text, "2000000", date=dt.date(2025, 12, 31)).commission == D("40000.00"), "valid_to is inclusive"


def test_no_rule_in_scope_says_so():
    with pytest.raises(CommissionError, match="no commission rule in scope for a lease_renewal of a villa"):
        calc(OLD_RULES, "100000", type_="villa", transaction="lease_renewal")


# --- tiers --------------------------------------------------------------------------------------

MARGINAL = FLAT_TIERS.replace('"flat"', '"marginal"')


@pytest.mark.parametrize("price, commission", [
    ("1000000", "15000.00"),                 # 1.5 % of 1M
    ("2000000", "30000.00"),                 # the whole first bracket, not one unit short
    ("2000001", "30000.02"),                 # + 1 at 2 %
    ("3500000", "60000.00"),                 # 30,000 + 1.5M at 2 %
    ("5000000", "90000.00"),                 # 30,000 + 60,000
    ("8000000", "165000.00"),                # + 3M at 2.5 %
])
def test_marginal_tiers_price_each_slice_at_its_rate(price, commission):
    assert calc(MARGINAL, price).commission == D(commission)


@pytest.mark.parametrize("price, rate", [("2000000", "1.5"), ("2000000.01", "2"), ("2000000.001", "2"),
                                         ("5000000", "2"), ("5000000.01", "2.5")])
def test_flat_tier_boundaries_are_inclusive_and_nothing_falls_between(price, rate):
    from deals.money import to_cents
    assert calc(FLAT_TIERS, price).commission == to_cents(D(price) * D(rate) / 100)


def test_a_price_above_a_closed_last_tier_is_refused_not_priced_at_the_first():
    closed = FLAT_TIERS.replace('{rate = "2.5"}', '{up_to = "10000000", rate = "2.5"}')
    assert calc(closed, "10000000").commission == D("250000.00")
    with pytest.raises(CommissionError, match="above its last tier"):
        calc(closed, "10000000.01")
    with pytest.raises(CommissionError, match="above its last tier"):
        calc(closed.replace('"flat"', '"marginal"'), "20000000")


@pytest.mark.parametrize("tiers, problem", [
    ('[{up_to = "5000000", rate = "2"}, {up_to = "2000000", rate = "1.5"}, {rate = "3"}]',
     r"tiers\[2\].up_to: must be above the previous tier's bound"),
    ('[{rate = "2"}, {up_to = "2000000", rate = "1.5"}]', r"tiers\[1\].up_to: only the last tier may be open-ended"),
    ('[]', "tiers: required"),
    ('[{up_to = "2000000", rate = "abc"}, {rate = "2"}]', r"tiers\[1\].rate: it must be a decimal number"),
])
def test_bad_tiers_are_refused_naming_the_tier(tiers, problem):
    text = f'[[rule]]\nname = "t"\nkind = "tiered"\nmode = "marginal"\ntiers = {tiers}\n'
    with pytest.raises(RuleError, match=r'rule "t": ' + problem):
        rules_mod.parse(text)


# --- minimums, rounding, VAT, approval ----------------------------------------------------------

def test_a_minimum_is_a_floor():
    text = '[[rule]]\nname = "lease-5pct"\nkind = "percentage"\nrate = "5"\nminimum = "4000"\n'
    assert calc(text, "60000", transaction="lease").commission == D("4000.00")     # 3,000 → floor
    assert calc(text, "80000", transaction="lease").commission == D("4000.00")     # exactly the floor
    assert calc(text, "100000", transaction="lease").commission == D("5000.00")    # above it


def test_rounded_once_half_up_at_the_end():
    text = '[[rule]]\nname = "r"\nkind = "percentage"\nrate = "1.5"\n'
    assert calc(text, "1000.30").commission == D("15.00")      # 15.0045 → 15.00
    assert calc(text, "1000.34").commission == D("15.01")      # 15.0051 → 15.01
    assert calc(text, "1").commission == D("0.02")             # 0.015 → 0.02 (half-up, not banker's)
    assert calc(text, "3").commission == D("0.05")             # 0.045 → 0.05


def test_marginal_rounds_the_sum_not_each_slice():
    text = ('[[rule]]\nname = "m"\nkind = "tiered"\nmode = "marginal"\n'
            'tiers = [{up_to = "1", rate = "0.5"}, {rate = "0.5"}]\n')
    # slices 0.005 + 0.005 = 0.01; rounding each slice first would give 0.01 + 0.01 = 0.02
    assert calc(text, "2").commission == D("0.01")


def test_vat_is_its_own_amount_on_the_rounded_commission():
    text = '[[rule]]\nname = "r"\nkind = "percentage"\nrate = "1.5"\n'
    r = calc(text, "1", vat_pct=D("5"))
    # commission 0.015 → 0.02; VAT on 0.02 is 0.001 → 0.00 (VAT on the unrounded 0.015 would differ)
    assert (r.commission, r.vat, r.total) == (D("0.02"), D("0.00"), D("0.02"))
    r = calc(only("sale-2pct"), "2000000", vat_pct=5)
    assert (r.commission, r.vat, r.total) == (D("40000.00"), D("2000.00"), D("42000.00"))
    r = calc(text, "1000.30", vat_pct="5")        # 15.00 → VAT 0.75
    assert (r.vat, r.total) == (D("0.75"), D("15.75"))
    r = calc(text, "1033", vat_pct="5")           # 15.495 → 15.50; VAT 0.775 → 0.78
    assert (r.commission, r.vat, r.total) == (D("15.50"), D("0.78"), D("16.28"))


def test_share_splits_add_up_exactly_remainder_to_the_first():
    text = ('[[rule]]\nname = "s"\nkind = "share"\nrate = "1"\n'
            'splits = [{to = "agent", pct = "33.33"}, {to = "broker", pct = "33.33"}, {to = "company", pct = "33.34"}]\n')
    r = calc(text, "1001")     # 10.01: each share rounds to 3.34 (10.02 in all); the -0.01 goes to the first
    assert [a for _, a in r.splits] == [D("3.33"), D("3.34"), D("3.34")]
    assert sum(a for _, a in r.splits) == r.commission == D("10.01")


def test_a_zero_split_stays_zero_and_the_remainder_skips_it():
    text = ('[[rule]]\nname = "s"\nkind = "share"\nrate = "1"\n'
            'splits = [{to = "broker", pct = "0"}, {to = "agent", pct = "66.67"}, {to = "company", pct = "33.33"}]\n')
    r = calc(text, "1")        # 0.01: agent 0.0067 → 0.01, company 0.0033 → 0.00
    assert r.splits == (("broker", D("0")), ("agent", D("0.01")), ("company", D("0.00")))
    assert sum(a for _, a in r.splits) == r.commission


def test_needs_approval_strictly_above_the_threshold():
    text = '[[rule]]\nname = "r"\nkind = "percentage"\nrate = "2"\napproval_above = "50000"\n'
    assert calc(text, "2500000").needs_approval is False      # 50,000: not above
    assert calc(text, "2500001").needs_approval is True       # 50,000.02


def test_as_json_gives_decimal_strings():
    r = calc(only("sale-2pct"), "2000000", vat_pct=5)
    assert r.as_json() == {"rule": "sale-2pct", "base": "2000000.00", "commission": "40000.00", "vat": "2000.00",
                           "total": "42000.00", "splits": [{"to": "agent", "amount": "40000.00"}],
                           "needs_approval": False}


def test_equal_priorities_both_in_scope_are_an_error_not_a_guess():
    text = only("sale-2pct") + only("sale-2pct").replace("sale-2pct", "other")
    with pytest.raises(CommissionError, match="all apply at priority 1"):
        calc(text, "1000000")


# --- validation of the whole file ---------------------------------------------------------------

def test_every_fault_is_listed_naming_rule_and_field():
    text = """
[[rule]]
name = "a"
kind = "percentage"
rate = 2.5
[[rule]]
name = "b"
kind = "fixed"
amount = "5000"
rate = "2"
[[rule]]
name = "c"
kind = "bogus"
[[rule]]
name = "d"
kind = "percentage"
rate = "2"
[rule.scope]
transaction = ["rent"]
agent = ["12"]
valid_from = "2026-02-30"
colour = "red"
[other]
x = 1
"""
    with pytest.raises(RuleError) as e:
        rules_mod.parse(text)
    text_of = "\n".join(e.value.problems)
    for expected in ["unknown top-level table [other]", 'rule "a": rate: it must be a decimal string',
                     'rule "b": rate: not used by kind \'fixed\'', 'rule "c": kind: must be one of',
                     'rule "d": scope.transaction: unknown transaction \'rent\'', 'rule "d": scope.agent:',
                     'rule "d": scope.valid_from: must be a date', 'rule "d": scope.colour: unknown scope key']:
        assert expected in text_of, (expected, text_of)


def test_duplicate_names_missing_name_and_bad_toml_are_refused():
    with pytest.raises(RuleError, match="name: another rule has the same name"):
        rules_mod.parse(only("sale-2pct") * 2)
    with pytest.raises(RuleError, match=r"rule #1: name: required"):
        rules_mod.parse('[[rule]]\nkind = "fixed"\namount = "1"\n')
    with pytest.raises(RuleError, match="not valid TOML"):
        rules_mod.parse("[[rule]\n")


def test_plans_are_read_and_validated_with_the_rules():
    from agents.plans import Plan
    parsed = rules_mod.parse(only("sale-2pct") + '\n[[plan]]\nname = "70-30"\nagent_pct = "70"\n')
    assert parsed.plans == (Plan(name="70-30", agent_pct=D("70")),)
    assert [r.name for r in parsed.rules] == ["sale-2pct"]
    with pytest.raises(RuleError, match=r'plan "70-30": agent_pct: must be between 0 and 100') as e:
        rules_mod.parse(only("sale-2pct") + '\n[[plan]]\nname = "70-30"\nagent_pct = "170"\n'
                        '[[rule]]\nname = "x"\nkind = "fixed"\n')
    assert any(p.startswith('rule "x": amount') for p in e.value.problems)   # the whole file, every fault


def test_rule_json_reads_like_the_file():
    tiered, share = rules_mod.parse(FLAT_TIERS).rules[0], rules_mod.parse(SHARE).rules[0]
    assert rules_mod.rule_json(tiered)["tiers"] == [{"up_to": "2000000", "rate": "1.5"},
                                                    {"up_to": "5000000", "rate": "2"}, {"up_to": "", "rate": "2.5"}]
    assert rules_mod.rule_json(share)["splits"][0] == {"to": "agent", "pct": "60"}
    villa = rules_mod.parse(only("villa-3pct")).rules[0]
    doc = rules_mod.rule_json(villa)
    assert (doc["rate"], doc["priority"], doc["scope"]["property_type"], doc["approval_above"]) == \
        ("3", 10, ["villa"], "")
