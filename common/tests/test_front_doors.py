"""``/`` is a landing page and ``/api/v1/`` an index of the resources (issue 8 item 18); the demo's keys show only
on the developer's own machine."""

import os
import stat

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_api_root_is_an_index_of_the_routed_resources(api):
    response = api.get("/api/v1/")
    assert response.status_code == 200, response.content
    body = response.json()
    names = {r["name"]: r["url"] for r in body["resources"]}
    assert {"auth", "agents", "market", "account", "trade", "stream", "health"} <= set(names)
    assert names["market"] == "http://testserver/api/v1/market/pairs"
    assert body["docs"] == "http://testserver/api/docs/"
    for url in names.values():  # every link resolves (none sends a client to a 404)
        from django.urls import resolve

        resolve(url.removeprefix("http://testserver"))
    assert api.get(names["market"].removeprefix("http://testserver")).status_code == 200


def test_the_landing_page_links_docs_admin_and_health(client, settings):
    settings.LANDING_SHOW_DEMO_KEYS = False
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    for href in ('href="/api/docs/"', 'href="/admin/"', 'href="/api/v1/health"', 'href="/api/v1/"'):
        assert href in html
    assert 'id="demo-hidden"' in html and "ak_live_" not in html


@pytest.fixture
def demo(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEMO_CREDENTIALS_FILE = tmp_path / "var" / "demo-credentials.json"
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    return settings.DEMO_CREDENTIALS_FILE


def test_seed_demo_keeps_the_fresh_keys_in_an_owner_only_file(demo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=open(os.devnull, "w"))
    assert stat.S_IMODE(demo.stat().st_mode) == 0o600
    import json

    from rest_framework.test import APIClient

    data = json.loads(demo.read_text())
    assert len(data["agents"]) == 3
    for agent in data["agents"]:  # the keys in the file are the live ones of this start
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=agent["api_key"])
        assert client.get("/api/v1/agents/me").json()["id"] == agent["id"]


def test_demo_keys_show_only_to_a_loopback_client_when_enabled(demo, client, settings,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=open(os.devnull, "w"))
    import json

    key = json.loads(demo.read_text())["agents"][0]["api_key"]
    settings.LANDING_SHOW_DEMO_KEYS = True
    assert key in client.get("/", REMOTE_ADDR="127.0.0.1").content.decode()
    assert key in client.get("/", REMOTE_ADDR="::1").content.decode()
    assert key not in client.get("/", REMOTE_ADDR="203.0.113.9").content.decode()
    settings.LANDING_SHOW_DEMO_KEYS = False
    assert key not in client.get("/", REMOTE_ADDR="127.0.0.1").content.decode()
    # and the key shown works
    from rest_framework.test import APIClient

    agent = APIClient()
    agent.credentials(HTTP_X_API_KEY=key)
    assert agent.get("/api/v1/account/info").status_code == 200
