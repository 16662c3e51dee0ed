"""Every app's factories, indexed by model, for tests that walk all models.

A model registered in the admin must have a factory here (tests/test_admin_tenancy.py
fails otherwise). Factories are collected from ``tests/<app_label>/factories.py`` of
every installed app, so a new app's factories join by existing; nothing to list here.

``object_of_merchant(model, merchant)`` makes one row that belongs to ``merchant``
in the sense of ``model.objects.for_merchant(merchant)``:

- a model scoped through a path (``scoped_manager("account__merchant")``) gets it by
  passing the path to its factory (factory_boy reaches through SubFactories:
  ``FollowFactory(account__merchant=merchant)``); ``"pk"`` means the merchant itself;
- a model scoped another way (a shopper belongs to the merchants it follows or joined)
  registers a builder in its factories module's ``MERCHANT_OBJECT_BUILDERS``.
"""

import importlib
from pathlib import Path

import factory
from django.apps import apps
from django.db import models


def _factories_modules():
    tests_dir = Path(__file__).resolve().parent
    for config in apps.get_app_configs():
        if (tests_dir / config.label / "factories.py").is_file():
            yield importlib.import_module(f"tests.{config.label}.factories")


def _is_factory(value) -> bool:
    # Not ``hasattr(value, "_meta")``: the models imported into a factories module have
    # a ``_meta.model`` too, and would stand in for their own factories.
    return (
        isinstance(value, type)
        and issubclass(value, factory.base.BaseFactory)
        and not value._meta.abstract
        and value._meta.model is not None
    )


FACTORIES_BY_MODEL: dict = {}
MERCHANT_OBJECT_BUILDERS: dict = {}
for _module in _factories_modules():
    for _value in vars(_module).values():
        if _is_factory(_value):
            # The first factory of a model in its module is the canonical one.
            FACTORIES_BY_MODEL.setdefault(_value._meta.model, _value)
    MERCHANT_OBJECT_BUILDERS.update(getattr(_module, "MERCHANT_OBJECT_BUILDERS", {}))


def factory_for(model: type[models.Model]):
    try:
        return FACTORIES_BY_MODEL[model]
    except KeyError:
        raise LookupError(
            f"No factory for {model._meta.label}: add one to tests/{model._meta.app_label}/factories.py "
            "(every model registered in the admin needs one for tests/test_admin_tenancy.py)."
        ) from None


def object_of_merchant(model: type[models.Model], merchant) -> models.Model:
    """A new row of ``model`` that ``model.objects.for_merchant(merchant)`` returns."""
    if model in MERCHANT_OBJECT_BUILDERS:
        return MERCHANT_OBJECT_BUILDERS[model](merchant)
    path = getattr(model._default_manager.get_queryset(), "merchant_path", None)
    if path is None:
        raise LookupError(
            f"{model._meta.label} is scoped by a custom for_merchant(): register how to make a row of a "
            f"merchant in MERCHANT_OBJECT_BUILDERS in tests/{model._meta.app_label}/factories.py."
        )
    if path == "pk":
        return merchant
    return factory_for(model)(**{path: merchant})
