"""Schemathesis over every operation of the app's own OpenAPI schema: no input may produce a 5xx, and every
documented response must match its schema.

Runs in-process through WSGI (no server) on PostgreSQL and Redis, in autocommit like production (each request
commits, so a request that breaks its transaction cannot hide behind the test's). The schema is read from
``/api/schema/`` when the tests are collected, one test per operation, so endpoints that other apps add are fuzzed
without touching this file.
Protected operations get credentials: an agent key where the schema asks for ``AgentKey``, an account JWT where
it asks for ``jwtAuth``.

Bounded for CI: ``FUZZ_MAX_EXAMPLES`` examples per operation (default 25).
"""

import itertools
import json
import os
import time
from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))


@schemathesis.check
def no_undocumented_server_error(ctx, response, case):
    """Any 5xx fails, except one the operation documents (``/health`` answers 503 when a dependency is down)."""
    if str(response.status_code) in case.operation.definition.raw.get("responses", {}):
        return None
    return not_a_server_error(ctx, response, case)


CHECKS = [no_undocumented_server_error, response_schema_conformance]


@pytest.fixture(autouse=True)
def _limits_out_of_the_way(settings):
    # The fuzzer sends thousands of requests from one IP; the limiter stays on (it is on the path of every
    # request) but must not turn the run into a wall of 429s.
    settings.RATE_LIMIT_ANONYMOUS = settings.RATE_LIMIT_PER_KEY = settings.RATE_LIMIT_PER_ACCOUNT = 10**9


def _load_schema():
    """The schema as the app serves it, read at collection so that each operation becomes a test of its own.

    (``schemathesis.pytest.from_fixture`` would read it lazily, but its lazy mode breaks on pytest 9.)
    """
    from config.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def credentials(transactional_db, settings):
    """Header sets per security scheme of the schema: a live agent key and a fresh JWT of its owner."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # a fast fixture, not a test
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.services import account_register
    from agents.services import agent_create

    account = account_register(email="fuzz@example.com", password="fuzz-password-123", display_name="Fuzz").account
    _, issued = agent_create(account=account, name="fuzz")
    return {
        "AgentKey": {"X-API-Key": issued.api_key},
        "jwtAuth": {"Authorization": f"Bearer {RefreshToken.for_user(account).access_token}"},
    }


def headers_for(operation: dict, credentials) -> dict:
    """The credentials one of the operation's security requirements names (the agent key first)."""
    requirements = operation.get("security") or []
    names = {name for requirement in requirements for name in requirement}
    for scheme in ("AgentKey", "jwtAuth"):
        if scheme in names:
            return credentials[scheme]
    return {}


schema = _load_schema()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_input_breaks_any_endpoint(case, credentials, transactional_db):
    case.call_and_validate(headers=headers_for(case.operation.definition.raw, credentials), checks=CHECKS)


def test_the_fuzzer_gets_past_authentication(credentials, transactional_db):
    """Each protected GET without parameters answers something else than 401 with the credentials the fuzzer
    sends: otherwise the fuzz above would only ever exercise the authentication layer."""
    from rest_framework.test import APIClient

    checked = []
    for path, operations in schema.raw_schema["paths"].items():
        get = operations.get("get")
        if not get or "{" in path or any(p.get("required") for p in get.get("parameters", [])):
            continue
        names = {name for requirement in get.get("security") or [] for name in requirement}
        if not names or {} in (get.get("security") or []):
            continue  # public
        headers = headers_for(get, credentials)
        client = APIClient()
        client.credentials(**{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
        response = client.get(path)
        assert response.status_code != 401, (path, response.content[:300])
        checked.append(path)
    assert "/api/v1/account/balance" in checked and "/api/v1/agents" in checked


# --- extreme decimals -------------------------------------------------------------------------------------------
# Random strings rarely get past a body's symbol and enums, so the fuzz above seldom hands the engine a huge price.
# This walk does: every operation whose JSON body has decimal fields gets well-formed bodies (each enum combination
# of its side/type-like fields, a listed symbol) with one decimal at a time set to an extreme, valid or not. Any
# 5xx fails (a limit price of 1e16 was a decimal.InvalidOperation 500 in the engine).

EXTREME_DECIMALS = ["10000000000000000.00", "9" * 20 + "." + "9" * 12, "999999999999.999999999999",
                    "1000000000000", "0.000000000001"]


def _resolve(node: dict) -> dict:
    while "$ref" in node:
        node = schema.raw_schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in node and len(node["allOf"]) == 1:
        return _resolve(node["allOf"][0])
    return node


def _bodies_with_decimals():
    for path, operations in schema.raw_schema["paths"].items():
        if "{" in path:
            continue
        for method, operation in operations.items():
            content = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
            if not content:
                continue
            props = _resolve(content["schema"]).get("properties", {})
            decimals = [name for name, p in props.items() if _resolve(p).get("format") == "decimal"]
            if decimals:
                yield pytest.param(method.upper(), path, operation, props, decimals, id=f"{method.upper()} {path}")


def _templates(props: dict, decimals: list[str]) -> list[dict]:
    """Bodies with every field plausible: enums in each combination (first value for fields beyond two), each
    decimal field absent or "1" (up to two of them present, as fields like quantity / quote_quantity exclude each
    other); the test then adds one extreme decimal."""
    base, varying = {}, []
    for name, prop in props.items():
        prop = _resolve(prop)
        if name in decimals:
            continue
        elif "enum" in prop:
            values = [v for v in prop["enum"] if v not in (None, "")]
            (varying.append((name, values)) if len(varying) < 2 else base.__setitem__(name, values[0]))
        elif name == "symbol":
            base[name] = "BTCUSDT"
    bodies = [base]
    for name, values in varying:
        bodies = [dict(body, **{name: value}) for body in bodies for value in values]
    return bodies


@pytest.mark.parametrize("method, path, operation, props, decimals", list(_bodies_with_decimals()))
def test_extreme_decimals_never_break_an_endpoint(method, path, operation, props, decimals, credentials,
                                                  transactional_db):
    from rest_framework.test import APIClient

    from market.feed.store import PriceWriter
    from market.feed.types import Book, MarketUpdate
    from market.prices import instruments_cache_clear
    from market.services import ensure_default_pairs
    from trading.engine.types import BookLevel

    ensure_default_pairs()
    instruments_cache_clear()
    now = time.time()
    book = Book(bids=(BookLevel(Decimal("59990"), Decimal("5")),), asks=(BookLevel(Decimal("60010"), Decimal("5")),))
    PriceWriter().write([MarketUpdate(symbol="BTCUSDT", price=Decimal("60000"), ts_ms=int(now * 1000),
                                      received_at=now, book=book)], source="synthetic")
    client = APIClient()
    client.credentials(**{"HTTP_" + k.upper().replace("-", "_"): v
                          for k, v in headers_for(operation, credentials).items()})
    sent = 0
    for template in _templates(props, decimals):
        for field in decimals:
            others = [d for d in decimals if d != field]
            companions = [()] + [(a,) for a in others] + list(itertools.combinations(others, 2))
            for value, companion in itertools.product(EXTREME_DECIMALS, companions):
                body = dict(template, **{name: "1" for name in companion}, **{field: value})
                response = client.generic(method, path, json.dumps(body),
                                          content_type="application/json")
                assert response.status_code < 500, (method, path, body, response.content[:300])
                sent += 1
    assert sent
