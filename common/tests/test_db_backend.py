"""Our PostgreSQL backend (common/db/postgresql/base.py): a health check with no round trip on a healthy idle
connection that still finds a terminated backend (what a PostgreSQL restart does to a connection) and replaces it; and
prepared_cursor(), whose statements are prepared once per connection."""

import time

import pytest
from django.db import connection, connections

pytestmark = [pytest.mark.django_db, pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")]


@pytest.fixture
def own_connection():
    """A second persistent connection to the test database, as a web thread holds one between requests."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid() /* marker */")
        return cursor.fetchone()[0]


def last_query(pid: int) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row and row[0]


def test_healthy_idle_connection_is_usable_without_a_query(own_connection):
    pid = backend_pid(own_connection)
    assert own_connection.is_usable()
    # the server saw no SELECT 1: the connection's last statement is still ours
    assert "marker" in last_query(pid)


def test_terminated_backend_is_unusable_and_replaced(own_connection):
    pid = backend_pid(own_connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while last_query(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not own_connection.is_usable()

    # what Django does at the start of a request with CONN_HEALTH_CHECKS: close it, then connect afresh
    own_connection.health_check_enabled, own_connection.health_check_done = True, False
    own_connection.close_if_health_check_failed()
    assert own_connection.connection is None
    assert backend_pid(own_connection) != pid


def test_settings_use_this_backend():
    assert connection.settings_dict["ENGINE"] == "common.db.postgresql"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def test_prepared_cursor_prepares_once_and_counts_as_a_query(own_connection, django_assert_num_queries):
    sql = "SELECT %s::int + 1 /* prepared-test */"
    for n in range(3):
        with own_connection.prepared_cursor() as cursor:
            cursor.execute(sql, [n])
            assert cursor.fetchone() == (n + 1,)
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%prepared-test%"])
        assert cursor.fetchone() == (1,)
    with django_assert_num_queries(1) as captured, connection.prepared_cursor() as cursor:  # seen like any query
        cursor.execute(sql, [41])
    assert captured.captured_queries[0]["sql"] == "SELECT 41::int + 1 /* prepared-test */"  # with its values
