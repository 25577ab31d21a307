"""``select_related`` for hot paths, without compiling SQL on every call.

The ORM compiles a query's SQL each time the query runs; for a three-table ``select_related`` that is a few
hundred microseconds, several times what PostgreSQL needs to answer it. :class:`RowLoader` builds the same SQL once
(from the models' metadata, so it follows schema changes) and turns rows into model instances with the same
converters and ``Model.from_db`` the ORM uses, related objects attached as ``select_related`` would attach them.

    keys = RowLoader(AgentKey, "agent", "agent__account")
    keys.fetch("lookup", "abcd1234")  # -> [AgentKey] with .agent and .agent.account loaded
"""

from functools import cached_property

from django.db import connections


class RowLoader:
    def __init__(self, model, *relations: str, using: str = "default"):
        self.model = model
        self.relations = relations  # each a "__"-path of forward foreign keys, parents before children
        self.using = using

    @cached_property
    def _plan(self):
        """[(model, alias, fields, parent_alias, attribute)], and the FROM/JOIN clause."""
        plan = [(self.model, "t0", self.model._meta.concrete_fields, None, None)]
        by_path = {"": (self.model, "t0")}
        joins = [f'"{self.model._meta.db_table}" t0']
        for n, path in enumerate(self.relations, start=1):
            parent_path, _, name = path.rpartition("__")
            parent_model, parent_alias = by_path[parent_path]
            field = parent_model._meta.get_field(name)
            model, alias = field.related_model, f"t{n}"
            joins.append(f'JOIN "{model._meta.db_table}" {alias} '
                         f'ON {alias}."{field.target_field.column}" = {parent_alias}."{field.column}"')
            plan.append((model, alias, model._meta.concrete_fields, parent_alias, name))
            by_path[path] = (model, alias)
        return plan, " ".join(joins)

    @cached_property
    def _select(self) -> str:
        plan, joins = self._plan
        columns = ", ".join(f'{alias}."{f.column}"' for _, alias, fields, _, _ in plan for f in fields)
        return f"SELECT {columns} FROM {joins}"

    @cached_property
    def _converters(self):
        """[(converters, column)] per selected column; they depend on the backend, not on a connection."""
        connection = connections[self.using]
        out = []
        for _, alias, fields, _, _ in self._plan[0]:
            for field in fields:
                col = field.get_col(alias)
                out.append((connection.ops.get_db_converters(col) + col.get_db_converters(connection), col))
        return out

    def fetch(self, field_name: str, value) -> list:
        """Instances of the base model whose ``field_name`` equals ``value``, with their relations attached."""
        field = self.model._meta.get_field(field_name)
        connection = connections[self.using]
        return self.fetch_where(f't0."{field.column}" = %s', [field.get_db_prep_value(value, connection)])

    def fetch_where(self, where: str, params: list, order_by: str = "", tail: str = "") -> list:
        """Like :meth:`fetch` with a SQL condition of your own on the aliases ``t0`` (the base model), ``t1``...
        (the relations, in order). ``params`` must already be database values (``field.get_db_prep_value``).
        ``tail`` follows the ORDER BY: ``LIMIT 1``, ``FOR NO KEY UPDATE OF t0``."""
        plan, _ = self._plan
        converters = self._converters
        connection = connections[self.using]  # this thread's
        sql = f"{self._select} WHERE {where}" + (f" ORDER BY {order_by}" if order_by else "") + (
            f" {tail}" if tail else "")
        # PostgreSQL: prepared once per connection (common/db/postgresql); these few statements run on every
        # request, and planning them cost PostgreSQL more than running them (the balance read: 0.13-0.16 ms of its
        # CPU as text, 0.04 ms prepared)
        prepared = getattr(connection, "prepared_cursor", None)
        with (prepared or connection.cursor)() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        out = []
        for row in rows:
            values = list(row)
            for i, (funcs, col) in enumerate(converters):
                for func in funcs:
                    values[i] = func(values[i], col, connection)
            instances, start = {}, 0
            for model, alias, fields, parent_alias, attribute in plan:
                end = start + len(fields)
                instance = model.from_db(self.using, [f.attname for f in fields], values[start:end])
                instances[alias] = instance
                if parent_alias is not None:
                    setattr(instances[parent_alias], attribute, instance)  # as select_related caches it
                start = end
            out.append(instances["t0"])
        return out
