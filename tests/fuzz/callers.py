"""What both fuzz tests share: the schema generated in process, and each operation's caller."""

import json

import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer


def schema_in_process(config):
    """The OpenAPI schema as /api/schema/ serves it, calling the WSGI application."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(document)), config=config)
    schema.app = get_wsgi_application()
    return schema


def caller(operation) -> str | None:
    for requirement in operation.definition.raw.get("security", []):
        for name in requirement:
            if name in {"merchantApiKey", "shopperToken"}:
                return name
    return None


def authorization(world, operation) -> str | None:
    """The ``Authorization`` header of the caller the operation's security names, if any."""
    return {"merchantApiKey": world.merchant_auth, "shopperToken": world.shopper_auth}.get(caller(operation))
