"""Structural guards: every endpoint, present and future, parses input through the shared paths.

A new view that took `<int:pk>`, an unbounded integer, a plain CursorPagination or DRF's stock
JSON parser would reopen the 500s that tests/test_bad_input.py closes; these tests name it.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter
from drf_spectacular.generators import SchemaGenerator
from rest_framework.parsers import MultiPartParser
from rest_framework.views import APIView

from core.api.pagination import CheckedCursorPagination
from core.api.parsers import CheckedJSONParser


def url_patterns(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def all_converters(resolver=None):
    for entry in (resolver or get_resolver()).url_patterns:
        yield from getattr(entry.pattern, "converters", {}).values()
        if isinstance(entry, URLResolver):
            yield from all_converters(entry)


def api_views():
    for route, pattern in url_patterns():
        view_class = getattr(pattern.callback, "cls", None)
        if view_class is not None and issubclass(view_class, APIView):
            yield route, view_class


def test_no_url_takes_an_unbounded_int():
    assert not [c for c in all_converters() if isinstance(c, IntConverter)], "use <id:...>"


@pytest.mark.parametrize(("route", "view_class"), list(api_views()), ids=lambda v: str(v))
def test_api_views_page_with_checked_cursors_and_parse_bodies_through_the_checked_parser(
    route, view_class
):
    pagination = getattr(view_class, "pagination_class", None)
    if pagination is not None and route.startswith("api/"):
        assert issubclass(pagination, CheckedCursorPagination), route
    for parser in view_class.parser_classes:
        assert issubclass(parser, CheckedJSONParser | MultiPartParser), (route, parser)


def integer_schemas(node, where=""):
    if isinstance(node, dict):
        if node.get("type") == "integer" and not node.get("readOnly"):
            yield where, node
        for key, value in node.items():
            yield from integer_schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from integer_schemas(value, f"{where}/{index}")


def test_every_integer_an_api_client_sends_has_bounds():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    inputs = {
        "parameters": [
            parameter
            for operations in schema["paths"].values()
            for operation in operations.values()
            for parameter in operation.get("parameters", [])
        ],
        "requests": {
            name: component
            for name, component in schema["components"]["schemas"].items()
            if name.endswith("Request")
        },
    }

    unbounded = [
        where
        for where, node in integer_schemas(inputs)
        if "maximum" not in node or "minimum" not in node
    ]

    assert unbounded == []


def test_every_operation_documents_its_error_statuses_in_the_error_shape():
    schema = SchemaGenerator().get_schema(request=None, public=True)

    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            expected = {"400", "401"} | (
                {"403", "404", "409", "429"}
                if method in ("post", "put", "patch", "delete")
                else set()
            )
            missing += [f"{method} {path}: {code}" for code in expected - set(responses)]
            for code, response in responses.items():
                if int(code) >= 400:
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/Error"), (path, method, code)

    assert missing == []


def test_lease_release_kinds_are_an_enum_not_a_broken_pattern():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/annotations/leases/{id}/{kind}/"]["post"]

    kind = next(p for p in operation["parameters"] if p["name"] == "kind")

    assert set(kind["schema"]["enum"]) == {"passed", "nothing_here", "not_annotatable"}
    assert "pattern" not in kind["schema"]
