"""Render a DRF output serializer's fields without DRF's per-object machinery (the streams, after a sweep; the
order path's response)."""


def fast_renderer(serializer_cls):
    """``render(obj) -> dict``: what ``serializer_cls(obj).data`` gives, field by field through the serializer's own
    fields (their ``source`` and ``to_representation``), without DRF's per-object machinery (a sweep renders a
    thousand orders and fills after its commit). ``obj`` may be a dict or an object; dotted sources follow either.
    A test compares it with the serializer on the same data."""
    from rest_framework import serializers

    plan = []
    for name, field in serializer_cls().fields.items():
        if field.write_only:
            continue
        if isinstance(field, (serializers.SerializerMethodField, serializers.BaseSerializer)) or field.source == "*":
            raise ValueError(f"{serializer_cls.__name__}.{name}: not a plain field; render with the serializer")
        plan.append((name, tuple(field.source_attrs), field.to_representation))

    def render(obj) -> dict:
        out = {}
        for name, attrs, to_representation in plan:
            value = obj
            for attr in attrs:
                value = value.get(attr) if isinstance(value, dict) else getattr(value, attr, None)
                if value is None:
                    break
            out[name] = None if value is None else to_representation(value)
        return out

    return render
