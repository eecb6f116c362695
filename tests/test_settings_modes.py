"""One settings file, switched by environment: each case runs Django in a fresh process."""

import json
import os
import stat
import subprocess
import sys

import pytest
from django.conf import settings

# Prints what the process ended up with, including the backends it really instantiates.
REPORT_SETTINGS = """
import json

import django

django.setup()

from channels.layers import get_channel_layer
from django.conf import settings
from django.core.files.storage import storages

layer = get_channel_layer()
storage = storages["default"]
print(json.dumps({
    "data_dir": str(settings.DATA_DIR),
    "database": settings.DATABASES["default"],
    "cache": settings.CACHES["default"],
    "channel_layer": f"{type(layer).__module__}.{type(layer).__name__}",
    "channel_layer_hosts": getattr(layer, "hosts", None),
    "storages": settings.STORAGES,
    "storage": f"{type(storage).__module__}.{type(storage).__name__}",
    "storage_bucket": getattr(storage, "bucket_name", None),
    "storage_endpoint": getattr(storage, "endpoint_url", None),
    "media_root": str(settings.MEDIA_ROOT),
    "secret_key": settings.SECRET_KEY,
    "email_backend": settings.EMAIL_BACKEND,
}, default=str))
"""

OPEN_DATABASE = """
import django

django.setup()

from django.db import connection

connection.ensure_connection()
"""

# Everything the settings read that would change a case; CI sets DATABASE_URL and REDIS_URL.
CLEARED_VARIABLES = (
    "DATABASE_URL",
    "DATABASE_CONN_MAX_AGE",
    "REDIS_URL",
    "CACHE_KEY_PREFIX",
    "CHANNEL_LAYER_PREFIX",
    "SECRET_KEY",
    "MEDIA_ROOT",
    "EMAIL_BACKEND",
)


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def python_in(data_dir):
    """Runs a script in a fresh process with the given environment overrides."""

    def run(script: str, **overrides: str) -> subprocess.CompletedProcess:
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in CLEARED_VARIABLES and not name.startswith("S3_")
        }
        env.update(DJANGO_SETTINGS_MODULE="imagemonkey_site.settings", DATA_DIR=str(data_dir))
        env.update(overrides)
        return subprocess.run(  # noqa: S603
            [sys.executable, "-c", script],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


@pytest.fixture
def settings_in(python_in):
    """The settings a fresh process ends up with under the given environment overrides."""

    def run(**overrides: str) -> dict:
        result = python_in(REPORT_SETTINGS, **overrides)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    return run


def test_without_environment_everything_is_embedded(settings_in, data_dir):
    report = settings_in()

    assert report["database"]["ENGINE"] == "django.db.backends.sqlite3"
    assert report["database"]["NAME"] == str(data_dir / "imagemonkey.sqlite3")
    assert report["database"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in report["database"]["OPTIONS"]["init_command"]
    assert report["cache"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert report["channel_layer"] == "channels.layers.InMemoryChannelLayer"
    assert report["storages"]["default"] == {
        "BACKEND": "django.core.files.storage.FileSystemStorage"
    }
    assert report["storage"] == "django.core.files.storage.filesystem.FileSystemStorage"
    assert report["media_root"] == str(data_dir / "media")
    assert report["email_backend"] == "django.core.mail.backends.console.EmailBackend"


def test_database_url_switches_to_postgresql(settings_in):
    report = settings_in(DATABASE_URL="postgres://u@h:5432/db")

    database = report["database"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["NAME"], database["USER"], database["HOST"], database["PORT"]) == (
        "db",
        "u",
        "h",
        5432,
    )
    assert "transaction_mode" not in database.get("OPTIONS", {})
    assert report["cache"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_redis_url_switches_cache_and_channel_layer_to_redis(settings_in):
    report = settings_in(REDIS_URL="redis://h:6379/2")

    assert report["cache"]["BACKEND"] == "core.cache.RedisCache"
    assert report["cache"]["LOCATION"] == "redis://h:6379/2"
    assert report["channel_layer"] == "channels_redis.core.RedisChannelLayer"
    assert report["channel_layer_hosts"] == [{"address": "redis://h:6379/2"}]
    assert report["database"]["ENGINE"] == "django.db.backends.sqlite3"


def test_s3_bucket_switches_media_storage_to_s3(settings_in):
    report = settings_in(
        S3_BUCKET="b",
        S3_ENDPOINT_URL="http://127.0.0.1:9000",
        S3_ACCESS_KEY_ID="access",
        S3_SECRET_ACCESS_KEY="secret",
    )

    default = report["storages"]["default"]
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    assert default["OPTIONS"]["bucket_name"] == "b"
    assert default["OPTIONS"]["endpoint_url"] == "http://127.0.0.1:9000"
    assert default["OPTIONS"]["access_key"] == "access"
    assert default["OPTIONS"]["secret_key"] == "secret"
    # Media is streamed through permission-checked views; a public URL would bypass them.
    assert default["OPTIONS"]["querystring_auth"] is True
    assert default["OPTIONS"]["default_acl"] is None
    assert default["OPTIONS"]["file_overwrite"] is False
    assert report["storage"] == "storages.backends.s3.S3Storage"
    assert report["storage_bucket"] == "b"
    assert report["storage_endpoint"] == "http://127.0.0.1:9000"
    assert report["storages"]["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedStaticFilesStorage"
    )


def test_without_secret_key_a_generated_key_is_kept_private_and_stable(settings_in, data_dir):
    first = settings_in()

    key_file = data_dir / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() == first["secret_key"]
    assert len(first["secret_key"]) >= 50
    second = settings_in()
    assert second["secret_key"] == first["secret_key"]


def test_each_installation_generates_its_own_secret_key(settings_in, tmp_path):
    first = settings_in(DATA_DIR=str(tmp_path / "one"))
    second = settings_in(DATA_DIR=str(tmp_path / "two"))

    assert first["secret_key"] != second["secret_key"]


def test_secret_key_from_environment_wins_and_nothing_is_generated(settings_in, data_dir):
    report = settings_in(SECRET_KEY="from-the-environment-" + "x" * 40)

    assert report["secret_key"] == "from-the-environment-" + "x" * 40
    assert not (data_dir / "secret_key").exists()


def test_secret_key_from_environment_wins_over_a_generated_one(settings_in, data_dir):
    generated = settings_in()["secret_key"]

    report = settings_in(SECRET_KEY="from-the-environment-" + "x" * 40)

    assert report["secret_key"] == "from-the-environment-" + "x" * 40
    assert (data_dir / "secret_key").read_text().strip() == generated


def test_embedded_database_opens_in_a_new_data_dir_when_secret_key_is_given(python_in, data_dir):
    result = python_in(OPEN_DATABASE, SECRET_KEY="from-the-environment-" + "x" * 40)

    assert result.returncode == 0, result.stderr
    assert (data_dir / "imagemonkey.sqlite3").exists()
