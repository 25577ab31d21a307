"""``{% platform_status %}``: the health report (``common.health.health_report``) as rows for the admin index."""

from django import template

register = template.Library()

_HEALTHY = {"ok", "embedded", "unknown", "fresh", "alive", "up"}


def _rows(checks: dict, prefix: str = "") -> list[dict]:
    """Flatten the report's checks: a dict with a ``status`` is one row; a dict of such dicts, a group of rows."""
    rows = []
    for name, check in (checks or {}).items():
        label = f"{prefix}{name}"
        if isinstance(check, dict) and "status" in check:
            detail = ", ".join(f"{k}: {v}" for k, v in check.items() if k != "status" and not isinstance(v, dict))
            rows.append({"name": label, "status": str(check["status"]), "detail": detail,
                         "healthy": str(check["status"]) in _HEALTHY})
            nested = {k: v for k, v in check.items() if isinstance(v, dict)}
            rows.extend(_rows(nested, prefix=f"{label} / "))
        elif isinstance(check, dict):
            rows.extend(_rows(check, prefix=f"{label} / "))
    return rows


@register.inclusion_tag("admin/platform_status.html")
def platform_status():
    from common.health import health_report

    try:
        healthy, body = health_report()
    except Exception as exc:  # the admin index must render even when the report itself fails
        return {"status": "unknown", "healthy": False, "rows": [], "error": f"{type(exc).__name__}: {exc}"}
    return {"status": body.get("status", "ok" if healthy else "down"), "healthy": healthy,
            "time": body.get("time"), "rows": _rows(body.get("checks", {})), "error": None}
