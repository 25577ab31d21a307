"""Django's PostgreSQL backend, with two changes for the hot paths.

1. A connection health check that costs no round trip. With ``CONN_HEALTH_CHECKS`` Django pings a persistent
   connection (``SELECT 1``) before its first use in every request, so that a connection broken by a PostgreSQL restart
   is replaced instead of failing the request. That ping was a round trip per request: a tenth of a backtest step's
   wall time, and one of PostgreSQL's statements per request. An idle connection answers the question without one.
   Between our commands PostgreSQL sends nothing unless it is going away: a terminated backend
   (``pg_terminate_backend``, a shutdown or restart) writes its FATAL error and closes the socket, and a dead peer's
   socket reads as end of file. So a socket with nothing pending is healthy, and one with something pending is checked
   as Django checks it (``SELECT 1`` reads what is there: a stray notice passes, a FATAL error or end of file fails and
   the connection is replaced). Neither check sees a peer that vanished without a word (a cable pulled): Django's ping
   would hang on it as long as the first real query does.

2. ``prepared_cursor()``: a cursor whose statements are prepared once per connection and then only executed, for a
   few fixed statements run on every request, where PostgreSQL's parse and plan cost more than running them (the
   backtest clock's UPDATE: 0.22-0.24 ms of PostgreSQL CPU per call as plain text, 0.10 ms prepared). Everything else
   keeps Django's default (client-side binding, nothing prepared), which connection poolers need.
"""

import select

from django.db.backends.postgresql import base
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from psycopg import Cursor, errors


class PreparedCursor(base.CursorMixin, Cursor):
    """Server-side binding, and each statement prepared on its connection the first time it runs (psycopg keeps the
    connection's prepared statements, keyed by the query text)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)


class DatabaseOperations(PostgresOperations):
    def last_executed_query(self, cursor, sql, params):
        """The SQL of a query as logged or captured (DEBUG, ``CaptureQueriesContext``): a prepared statement's text
        has $n placeholders (or none at all once prepared), so it is shown with its values bound client side, as
        Django shows every statement when server-side binding is on."""
        if isinstance(cursor, PreparedCursor):
            try:
                return self.compose_sql(sql, params)
            except errors.DataError:
                return sql
        return super().last_executed_query(cursor, sql, params)


# psycopg's count of executions before it prepares a statement on its own. Django sets none (never prepare, which
# also ignores an explicit prepare=True); this count is never reached, so only PreparedCursor's statements prepare.
# (Django's default client-side-binding cursors never prepare whatever the count.)
ONLY_WHEN_ASKED = 2**31 - 1


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def get_connection_params(self):
        params = super().get_connection_params()
        if params.get("prepare_threshold") is None:
            params["prepare_threshold"] = ONLY_WHEN_ASKED
        return params

    def is_usable(self):
        conn = self.connection
        if conn is None or conn.closed or conn.broken:
            return False
        try:
            # poll, not select: select cannot watch a descriptor above 1023 (a web process with many open streams)
            poller = select.poll()
            poller.register(conn.fileno(), select.POLLIN)
            pending = poller.poll(0)
        except (OSError, ValueError):  # the descriptor is already gone
            return False
        return not pending or super().is_usable()

    def prepared_cursor(self):
        """Like ``cursor()`` (health check, error wrapping, query logging), with statements prepared."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            return self._prepare_cursor(PreparedCursor(self.connection))
