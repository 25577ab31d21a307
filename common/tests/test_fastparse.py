"""``common.fastparse.fast_parser`` answers exactly what the serializer's validation answers for valid input, and
None (the serializer then raises its own error) for everything it refuses."""

from hypothesis import given, settings
from hypothesis import strategies as st

from common.fastparse import fast_parser
from trading.api.orders import OrderInputSerializer

VALUES = {
    "symbol": ["BTCUSDT", " ethusdt ", "", "X" * 21, 5, None, True],
    "side": ["buy", "sell", "BUY", "hold", None, 1],
    "type": ["market", "limit", "stop_loss", "take_profit", "stop_limit", "iceberg", None],
    "quantity": ["0.001", "1", "0", "-1", "1e3", "1.123456789", 1, 1.5, "99999999999999999", None, "", " 1", True],
    "quote_quantity": ["10", "0.5", "abc", None, 0],
    "price": ["60000", "60000.00000001", "0", None, "1000000000000", 2.5],
    "trigger_price": ["59000", None, "-5"],
    "time_in_force": ["gtc", "ioc", "fok", "day", None],
    "post_only": [True, False, "true", "no", 1, None, "maybe"],
    "reduce_only": [False, True, 0, "1", None],
    "client_order_id": ["abc-1", "a b", "x" * 65, None, "", 7],
    "unknown": ["ignored"],
}


@settings(max_examples=600, deadline=None)
@given(st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in VALUES.items()}))
def test_the_fast_parser_agrees_with_the_serializer(body):
    s = OrderInputSerializer(data=body)
    fast = fast_parser(OrderInputSerializer)(body)
    if s.is_valid():
        assert fast == dict(s.validated_data)
        assert list(fast) == list(s.validated_data)
    else:
        assert fast is None


def test_non_objects_go_to_the_serializer():
    from django.http import QueryDict

    parse = fast_parser(OrderInputSerializer)
    assert parse([{"symbol": "BTCUSDT"}]) is None
    assert parse("x") is None
    assert parse(QueryDict("symbol=BTCUSDT&side=buy&type=market&quantity=1")) is None
    assert parse({"symbol": "BTCUSDT", "side": "buy", "type": "market", "quantity": "1"})["time_in_force"] == "gtc"


VALID = {"quantity": ["0.001", "1", 3, None], "price": ["60000", "0.5", None], "trigger_price": ["59000", None],
         "time_in_force": ["gtc", "ioc", "fok"], "post_only": [True, False, "true"], "reduce_only": [False, "1"],
         "client_order_id": ["abc-1", None], "quote_quantity": ["10", None]}


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({"symbol": st.sampled_from(["BTCUSDT", " ethusdt"]),
                              "side": st.sampled_from(["buy", "sell"]),
                              "type": st.sampled_from(["market", "limit", "stop_limit"])},
                             optional={k: st.sampled_from(v) for k, v in VALID.items()}))
def test_valid_bodies_take_the_fast_path(body):
    s = OrderInputSerializer(data=body)
    assert s.is_valid(), s.errors
    assert fast_parser(OrderInputSerializer)(body) == dict(s.validated_data)
