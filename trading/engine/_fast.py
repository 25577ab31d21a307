"""A faster ``__init__`` for frozen dataclasses: the engine builds a dozen of them per order.

``@dataclass(frozen=True)`` generates an ``__init__`` that sets each field through ``object.__setattr__`` (a global
lookup, an attribute lookup and a generic setattr per field: about 0.1 us a field, 2.5 us for a ``RiskContext``).
``fast_init`` replaces it with one that writes the instance ``__dict__`` directly (or, for ``slots=True`` classes,
calls each slot's descriptor), with the same parameters, defaults, default factories and ``__post_init__``. The
class stays frozen (assignment still raises ``FrozenInstanceError``), equal, hashable and printable as before.
"""

from dataclasses import MISSING, fields, is_dataclass


def fast_init(cls):
    """Class decorator, applied above ``@dataclass(frozen=True, ...)``."""
    assert is_dataclass(cls) and cls.__dataclass_params__.frozen, cls
    slots = "__slots__" in cls.__dict__
    ns: dict = {"MISSING": MISSING}
    params, body = [], [] if slots else ["    _dict_ = self.__dict__"]
    for f in fields(cls):
        if f.init:
            if f.default is not MISSING:
                ns[f"_d_{f.name}"] = f.default
                params.append(f"{f.name}=_d_{f.name}")
            elif f.default_factory is not MISSING:
                ns[f"_f_{f.name}"] = f.default_factory
                params.append(f"{f.name}=MISSING")
                body.append(f"    if {f.name} is MISSING: {f.name} = _f_{f.name}()")
            else:
                params.append(f.name)
        elif f.default is not MISSING:
            ns[f"_d_{f.name}"] = f.default
            body.append(f"    {f.name} = _d_{f.name}")
        elif f.default_factory is not MISSING:
            ns[f"_f_{f.name}"] = f.default_factory
            body.append(f"    {f.name} = _f_{f.name}()")
        else:
            continue
        if slots:
            ns[f"_s_{f.name}"] = cls.__dict__[f.name].__set__
            body.append(f"    _s_{f.name}(self, {f.name})")
        else:
            body.append(f"    _dict_[{f.name!r}] = {f.name}")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    exec(f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or "    pass") + "\n", ns)  # noqa: S102
    init = ns["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init
    return cls
