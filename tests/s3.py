"""The S3 test bucket's name and credentials; the `s3_endpoint` (moto in server mode, on
loopback) and `s3_bucket` (media storage on it) fixtures are in tests/conftest.py."""

import socket

BUCKET = "imagemonkey-test"
CREDENTIALS = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
