"""Schemathesis over every operation of /api/schema/, with an API token and without one.

Generated requests, valid and invalid, must never get a 5xx, and every response must conform to
the schema: a documented status code, the documented content type and body shape. Bounded in
examples per operation, so the suite stays within CI's time.
"""

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.factories import (
    AnnotationTaskFactory,
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    RegisteredContributorFactory,
    api_token_for,
    submitted_annotation,
)

EXAMPLES_PER_OPERATION = 15
# A request the schema allows may still break a rule no schema can state (a label outside the
# catalog, cc0 false, a lease that is not yours); those get a documented 4xx, so "schema-valid
# means accepted" is not asserted. Everything else is: no 5xx, documented status codes, content
# types, headers and bodies, and schema-violating requests rejected.
EXCLUDED = [positive_data_acceptance]


@pytest.fixture
def site_with_data(db, settings):
    """Rows for every list and task to return, so responses are checked with content."""
    # Rate limits have their own tests; here they would turn most requests into 429s.
    settings.RATELIMIT_ENABLE = False
    dog = LabelFactory(name="dog")
    for _ in range(3):
        ImageLabelFactory(label=dog)
    ImageFactory(status="unlocked")
    ImageFactory(status="pending")
    AnnotationTaskFactory()
    submitted_annotation(shapes=[{"type": "rect", "x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5}])


@pytest.fixture
def connection_kept_open():
    """Django closes the database connection after each request; the test's transaction (and
    its rows) must outlive the requests, as the test client arranges for its own."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


# The plain WSGI handler checks CSRF like a browser session would (the test client would not).
# Generating the schema touches no database, so it is loaded when the tests are collected.
everything = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())
# The site's own API, held to every check; the ImageMonkey-compatible /v1 answers in the
# original's shapes (its error bodies, `null` successes, text/plain image errors), which the
# schema describes in words, so there only the server-error check applies.
schema = everything.exclude(path_regex="^/v1/")
v1_schema = everything.include(path_regex="^/v1/")


def fuzz_settings(test):
    return settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )(test)


@pytest.mark.usefixtures("site_with_data", "connection_kept_open")
@schema.parametrize()
@fuzz_settings
def test_every_operation_without_credentials_conforms(case):
    case.call_and_validate(excluded_checks=EXCLUDED)


@pytest.fixture
def token_header(site_with_data):
    """One account for every generated request (making one per example would mostly measure
    password hashing)."""
    contributor = RegisteredContributorFactory()
    return {"Authorization": f"Token {api_token_for(contributor.user)}"}


@pytest.mark.usefixtures("connection_kept_open")
@schema.parametrize()
@fuzz_settings
def test_every_operation_with_an_api_token_conforms(case, token_header):
    case.call_and_validate(headers=token_header, excluded_checks=EXCLUDED)


@pytest.mark.usefixtures("site_with_data", "connection_kept_open")
@v1_schema.parametrize()
@fuzz_settings
def test_no_v1_operation_answers_a_server_error(case):
    case.call_and_validate(checks=[not_a_server_error])


@pytest.mark.usefixtures("connection_kept_open")
@v1_schema.parametrize()
@fuzz_settings
def test_no_v1_operation_answers_a_server_error_with_a_token(case, token_header):
    bearer = {"Authorization": token_header["Authorization"].replace("Token", "Bearer")}
    case.call_and_validate(headers=bearer, checks=[not_a_server_error])
