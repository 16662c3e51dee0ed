"""The OpenAPI schema class of the API (settings' DEFAULT_SCHEMA_CLASS)."""

from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema


class AutoSchema(StandardizedErrorsAutoSchema):
    """Names a view's nested ``InputSerializer`` after its view: ``OrderCreateInput``.

    The style nests an ``InputSerializer`` in every view; without this, they would
    all be one component called ``Input`` in the OpenAPI schema.
    """

    def get_serializer_name(self, serializer, direction):
        cls = type(serializer)
        outer, _, inner = cls.__qualname__.rpartition(".")
        if outer:
            view = outer.rsplit(".", 1)[-1].removesuffix("Api")
            return f"{view}{inner.removesuffix('Serializer')}"
        return super().get_serializer_name(serializer, direction)
