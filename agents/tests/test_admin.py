"""The accounts/agents/keys admin: names and flags editable, money and keys not, key hashes never shown, keys
revocable at once."""

import os
import shutil

import pytest
from django.urls import reverse

from accounts.models import Account
from agents.models import Agent, AgentKey
from agents.services import agent_key_issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = Account.objects.create_superuser(email="root@example.com", password="admin-password-123",
                                             display_name="Root")
    client.force_login(admin)
    return client


def test_key_pages_never_show_a_hash_or_a_secret(admin_client, agent_factory):
    agent, key = agent_factory(name="Hash Bot")
    signing = agent_key_issue(agent=agent, scope="read", signing=True, name="signer")
    stored = AgentKey.objects.get(pk=signing.key.pk)
    pages = [reverse("admin:agents_agentkey_changelist"),
             reverse("admin:agents_agentkey_change", args=[stored.pk]),
             reverse("admin:agents_agent_change", args=[agent.pk])]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for secret in (key, signing.api_key, signing.signing_secret, stored.key_hash,
                       stored.signing_secret_encrypted):
            assert secret not in html, (url, secret[:12])
        assert signing.api_key[:16] in html  # the clear prefix identifies the key


def test_keys_are_read_only_except_revoke(admin_client, agent_factory, agent_client):
    agent, key = agent_factory()
    row = AgentKey.objects.get(agent=agent)
    assert admin_client.get(reverse("admin:agents_agentkey_add")).status_code == 403
    change = admin_client.get(reverse("admin:agents_agentkey_change", args=[row.pk])).content.decode()
    assert 'name="scope"' not in change and 'name="allowed_ips"' not in change
    admin_client.post(reverse("admin:agents_agentkey_change", args=[row.pk]), {"scope": "read"})
    assert AgentKey.objects.get(pk=row.pk).scope == "trade"
    assert admin_client.post(reverse("admin:agents_agentkey_delete", args=[row.pk]),
                             {"post": "yes"}).status_code == 403

    assert agent_client(key).get("/api/v1/agents/me").status_code == 200
    response = admin_client.post(reverse("admin:agents_agentkey_changelist"),
                                 {"action": "revoke_selected", "_selected_action": [str(row.pk)]}, follow=True)
    assert response.status_code == 200 and "Revoked 1 key(s)." in response.content.decode()
    assert AgentKey.objects.get(pk=row.pk).revoked_at is not None
    assert agent_client(key).get("/api/v1/agents/me").status_code == 401


def test_agent_admin_edits_names_and_status_not_money(admin_client, agent_factory):
    agent, _ = agent_factory(name="Editable")
    url = reverse("admin:agents_agent_change", args=[agent.pk])
    html = admin_client.get(url).content.decode()
    assert 'name="name"' in html and 'name="starting_balance"' not in html and 'name="reset_epoch"' not in html
    form = {"name": "Renamed", "description": "d", "status": "paused",
            "keys-TOTAL_FORMS": "1", "keys-INITIAL_FORMS": "1", "keys-MIN_NUM_FORMS": "0",
            "keys-MAX_NUM_FORMS": "1000", "keys-0-id": str(AgentKey.objects.get(agent=agent).pk),
            "keys-0-agent": str(agent.pk), "starting_balance": "999999", "reset_epoch": "9"}
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    agent.refresh_from_db()
    assert (agent.name, agent.status, agent.reset_epoch) == ("Renamed", "paused", 0)
    assert str(agent.starting_balance) != "999999"
    assert admin_client.get(reverse("admin:agents_agent_add")).status_code == 403


def test_archive_action(admin_client, agent_factory, agent_client):
    agent, key = agent_factory()
    admin_client.post(reverse("admin:agents_agent_changelist"),
                      {"action": "archive_selected", "_selected_action": [str(agent.pk)]})
    assert Agent.objects.get(pk=agent.pk).status == "archived"
    assert agent_client(key).get("/api/v1/agents/me").status_code == 401


def test_account_admin_shows_no_hashes_and_cannot_add(admin_client, account_factory):
    registered = account_factory(email="someone@example.com")
    account = registered.account
    listing = admin_client.get(reverse("admin:accounts_account_changelist"))
    assert listing.status_code == 200 and "someone@example.com" in listing.content.decode()
    html = admin_client.get(reverse("admin:accounts_account_change", args=[account.pk])).content.decode()
    for secret in (account.password, account.api_key_hash, account.api_secret_hash, registered.api_key,
                   registered.api_secret):
        assert secret not in html
    assert f"ak_live_{account.api_key_lookup}" in html
    assert 'name="email"' not in html and 'name="password"' not in html
    assert admin_client.get(reverse("admin:accounts_account_add")).status_code == 403


def test_staff_only(client, account_factory):
    account = account_factory().account
    client.force_login(account)
    response = client.get(reverse("admin:agents_agentkey_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- in a real browser ----------------------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs a Chromium binary")
@pytest.mark.django_db(transaction=True)
def test_a_staff_member_revokes_a_key_in_the_browser(live_server, agent_factory, agent_client):
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls happen between browser steps
    Account.objects.create_superuser(email="ops@example.com", password="ops-password-123", display_name="Ops")
    agent, key = agent_factory(name="Leaky Bot")
    assert agent_client(key).get("/api/v1/agents/me").status_code == 200

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "ops@example.com")
            page.fill("#id_password", "ops-password-123")
            page.click("input[type=submit]")
            page.wait_for_selector("#site-name")

            page.goto(f"{live_server.url}/admin/agents/agentkey/?q=Leaky")
            rows = page.inner_text("#result_list")
            assert key[:16] in rows and "live" in rows
            assert key not in page.content()
            page.check("#result_list input.action-select >> nth=0")
            page.select_option("select[name=action]", "revoke_selected")
            page.click("button[name=index]")
            page.wait_for_selector(".messagelist")
            assert "Revoked 1 key(s)." in page.inner_text(".messagelist")
            assert "revoked" in page.inner_text("#result_list")
        finally:
            browser.close()

    assert agent_client(key).get("/api/v1/agents/me").status_code == 401
