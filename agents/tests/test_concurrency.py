"""Concurrent resets and key regenerations of one agent, on real PostgreSQL connections from real threads."""

import threading

import pytest
from django.db import connection

from agents.models import AgentKey
from trading.models import Wallet
from trading.wallet import ledger_mismatches

THREADS = 8


def run_concurrently(fn, n=THREADS):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(fn())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection; close it before the test database goes

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_resets_each_open_one_epoch(account_factory, agent_factory, jwt_client):
    account = account_factory().account
    agent, _ = agent_factory(account=account)
    url = f"/api/v1/agents/{agent.pk}/reset"

    statuses = run_concurrently(lambda: jwt_client(account).post(url, format="json").status_code)

    assert statuses == [200] * THREADS
    agent.refresh_from_db()
    assert agent.reset_epoch == THREADS
    wallets = Wallet.objects.filter(agent=agent, kind=Wallet.Kind.MAIN)
    assert sorted(wallets.values_list("epoch", flat=True)) == list(range(THREADS + 1))
    assert wallets.filter(retired_at__isnull=True).get().epoch == THREADS
    assert ledger_mismatches() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_regenerations_leave_exactly_one_live_primary(account_factory, agent_factory, jwt_client,
                                                                agent_client):
    account = account_factory().account
    agent, _ = agent_factory(account=account)
    url = f"/api/v1/agents/{agent.pk}/regenerate-key"

    responses = run_concurrently(lambda: jwt_client(account).post(url))

    assert [r.status_code for r in responses] == [200] * THREADS
    live = AgentKey.objects.filter(agent=agent, is_primary=True, revoked_at__isnull=True)
    assert live.count() == 1
    working = [r.json()["api_key"] for r in responses
               if agent_client(r.json()["api_key"]).get("/api/v1/agents/me").status_code == 200]
    assert len(working) == 1 and working[0][:16] == live.get().display_prefix
