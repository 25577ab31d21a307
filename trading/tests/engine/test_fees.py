from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.engine.fees import (
    DEFAULT_FEE_TIERS,
    DEFAULT_FEE_TIERS_CONFIG,
    FeeTier,
    fee_for,
    fee_rate_for,
    highest_fee_rate,
    parse_fee_tiers,
)
from trading.engine.types import FeeRate, Liquidity


@pytest.mark.parametrize("volume, maker, taker, tier", [
    ("0", "8", "10", 0),
    ("999999.99", "8", "10", 0),
    ("1000000", "6", "8", 1),
    ("4999999.99", "6", "8", 1),
    ("5000000", "4", "6", 2),
    ("25000000", "2", "4", 3),
    ("900000000", "2", "4", 3),
])
def test_default_tiers_by_rolling_30d_volume(volume, maker, taker, tier):
    assert fee_rate_for(D(volume), DEFAULT_FEE_TIERS) == FeeRate(maker_bps=D(maker), taker_bps=D(taker), tier=tier)


def test_parser_sorts_and_round_trips():
    shuffled = list(reversed(DEFAULT_FEE_TIERS_CONFIG))
    tiers = parse_fee_tiers(shuffled)
    assert tiers == DEFAULT_FEE_TIERS
    assert [t.as_config() for t in tiers] == DEFAULT_FEE_TIERS_CONFIG


def test_custom_table_from_settings_strings():
    tiers = parse_fee_tiers([{"min_volume_30d": "0", "maker_bps": "5", "taker_bps": "7.5"},
                             {"min_volume_30d": "100", "maker_bps": 0, "taker_bps": 1}])
    assert fee_rate_for(D("99.99"), tiers) == FeeRate(D("5"), D("7.5"), 0)
    assert fee_rate_for(D("100"), tiers) == FeeRate(D("0"), D("1"), 1)


@pytest.mark.parametrize("table, why", [
    ([], "tier starting at min_volume_30d 0"),
    ([{"min_volume_30d": "10", "maker_bps": "8", "taker_bps": "10"}], "tier starting at min_volume_30d 0"),
    ([{"min_volume_30d": "0", "maker_bps": "-1", "taker_bps": "10"}], "negative"),
    ([{"min_volume_30d": "0", "maker_bps": "x", "taker_bps": "10"}], "needs decimal"),
    ([{"min_volume_30d": "0", "maker_bps": "8"}], "needs decimal"),
    ([{"min_volume_30d": "0", "maker_bps": "8", "taker_bps": "10"},
      {"min_volume_30d": "0", "maker_bps": "6", "taker_bps": "8"}], "same min_volume_30d"),
])
def test_parser_refuses_broken_tables(table, why):
    with pytest.raises(ValueError, match=why):
        parse_fee_tiers(table)


BASE = fee_rate_for(D(0))


@pytest.mark.parametrize("amount, liquidity, fee", [
    ("6400.10", Liquidity.TAKER, "6.40010000"),
    ("6400.10", Liquidity.MAKER, "5.12008000"),
    ("123.45678901", Liquidity.TAKER, "0.12345679"),  # 0.123456789010 rounded UP
    ("123.45678900", Liquidity.TAKER, "0.12345679"),  # 0.1234567890 -> up
    ("100.00000000", Liquidity.TAKER, "0.10000000"),  # exact stays exact
    ("0.00000001", Liquidity.TAKER, "0.00000001"),  # a dust fill still pays the smallest unit
    ("0", Liquidity.MAKER, "0E-8"),
])
def test_fee_is_bps_of_the_quote_amount_rounded_up_to_8_places(amount, liquidity, fee):
    assert fee_for(D(amount), BASE, liquidity) == D(fee)


def test_zero_bps_tier_charges_nothing():
    assert fee_for(D("1000"), FeeRate(D(0), D(0)), Liquidity.TAKER) == 0


def test_negative_amount_is_refused():
    with pytest.raises(ValueError):
        fee_for(D("-1"), BASE, Liquidity.TAKER)


@given(amount=st.decimals(min_value=0, max_value=10**9, places=8),
       bps=st.decimals(min_value=0, max_value=100, places=2),
       liquidity=st.sampled_from(list(Liquidity)))
def test_fee_never_negative_never_under_charged_at_most_one_unit_over(amount, bps, liquidity):
    fee = fee_for(amount, FeeRate(maker_bps=bps, taker_bps=bps), liquidity)
    exact = amount * bps / 10_000
    assert fee >= 0
    assert fee >= exact
    assert fee - exact < D("0.00000001")
    assert fee.as_tuple().exponent >= -8


def test_fee_tier_is_a_plain_value():
    assert FeeTier(D(0), D(8), D(10)).as_config() == {"min_volume_30d": "0", "maker_bps": "8", "taker_bps": "10"}


def test_highest_rate_is_what_locks_are_taken_at():
    assert highest_fee_rate(DEFAULT_FEE_TIERS) == FeeRate(D("8"), D("10"), 0)
    odd = parse_fee_tiers([{"min_volume_30d": "0", "maker_bps": "5", "taker_bps": "9"},
                           {"min_volume_30d": "10", "maker_bps": "7", "taker_bps": "8"}])
    assert (highest_fee_rate(odd).maker_bps, highest_fee_rate(odd).taker_bps) == (D("7"), D("9"))
