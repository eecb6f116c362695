import pytest
from django.test import Client
from rest_framework.test import APIClient


@pytest.fixture
def visitor():
    """A browser without an account that, like a real one, must send CSRF tokens."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def logged_in(registered_contributor):
    """A browser logged in as `registered_contributor`, enforcing CSRF like a real one."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(registered_contributor.user)
    client.contributor = registered_contributor
    return client


@pytest.fixture
def script_client():
    """An API client for scripts: CSRF is enforced, so only token authentication may skip it."""
    return APIClient(enforce_csrf_checks=True)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Log-in flows hash passwords many times; the real hasher's cost is not under test here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
