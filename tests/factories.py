"""Every app's factories, indexed by model, for tests that walk all models.

A model registered in the admin must have a factory here (tests/test_admin_tenancy.py
fails otherwise), and the factory's ``merchant`` (or the path to it) must be settable.
"""

from tests.members import factories as members_factories

FACTORIES_BY_MODEL = {
    factory._meta.model: factory
    for module in (members_factories,)
    for factory in vars(module).values()
    if isinstance(factory, type) and hasattr(factory, "_meta") and getattr(factory._meta, "model", None)
}
