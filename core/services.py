"""Writes with no domain: ``model_update``, the one way a service applies a partial update."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models


def model_update(*, instance: models.Model, fields: Iterable[str], data: Mapping[str, Any]) -> bool:
    """Set the ``fields`` that ``data`` holds on ``instance``; save only those that changed.

    ``fields`` names what the caller allows; a key of ``data`` outside it is a
    programming error (``TypeError``), as is a name the model does not have. Fields
    absent from ``data`` are left alone. The row is written only when a value differs,
    with ``update_fields`` naming the changed fields (plus an ``auto_now`` field such
    as ``updated_at``, so it still moves). Returns whether anything changed.
    """
    allowed = set(fields)
    unknown = set(data) - allowed
    if unknown:
        raise TypeError(f"not updatable: {sorted(unknown)}")
    changed = []
    for name in sorted(allowed & set(data)):
        if _set_if_different(instance, name, data[name]):
            changed.append(name)
    if not changed:
        return False
    auto_now = [f.name for f in instance._meta.concrete_fields if getattr(f, "auto_now", False)]
    instance.save(update_fields=sorted({*changed, *auto_now}))
    return True


def _set_if_different(instance: models.Model, name: str, value: Any) -> bool:
    field = instance._meta.get_field(name)
    if field.is_relation:
        # Compared on ``<name>_id``: reading ``instance.<name>`` would fetch the row.
        new_id = value.pk if isinstance(value, models.Model) else value
        if getattr(instance, field.attname) == new_id:
            return False
        setattr(instance, name if isinstance(value, models.Model) else field.attname, value)
        return True
    if getattr(instance, name) == value:
        return False
    setattr(instance, name, value)
    return True
