"""Shared fixtures: a real AWS API emulator (moto_server) on loopback for the boto3 tests.

``moto_server`` starts ``moto.server.ThreadedMotoServer`` once per test session on 127.0.0.1 with a
free port (never beyond loopback) and stops it at the end; ``moto_url`` hands a test that server
with every emulated resource wiped first, so tests never see each other's "deployments".
After every test, what a failed offline run (``mlfabric.testing``) left behind is collected.
"""

from __future__ import annotations

import logging
import os
import sys
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

MOTO_REGION = "us-east-1"
# Dummy credentials: moto accepts any; real ones must never be picked up by these tests.
DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": MOTO_REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(autouse=True)
def _collect_failed_offline_runs() -> Iterator[None]:
    """After a test, collect what its failed offline runs left (see ``mlfabric.testing.collect_failed_runs``)."""
    yield
    testing = sys.modules.get("mlfabric.testing")  # not imported: no offline run happened
    if testing is not None:
        testing.collect_failed_runs()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """URL of a moto server listening on 127.0.0.1 (a free port), for the whole session."""
    from moto.server import ThreadedMotoServer

    # One line per request otherwise; failures still show.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset_moto(url: str) -> None:
    """Forget every emulated resource (moto's own reset API)."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


@pytest.fixture
def moto_url(moto_server: str) -> str:
    """The session's moto server, emptied for this test."""
    reset_moto(moto_server)
    return moto_server


@pytest.fixture
def aws_env() -> dict[str, str]:
    """Environment for a subprocess talking to moto: this process's, with dummy AWS credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(DUMMY_AWS_ENV)
    return env


@pytest.fixture
def aws(moto_url: str) -> Callable[[str], Any]:
    """boto3 clients (cached per service) pointed at the emptied moto server, dummy credentials."""
    import boto3  # type: ignore[import-untyped]

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=MOTO_REGION
    )
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = session.client(service, endpoint_url=moto_url)  # type: ignore[call-overload]
        return clients[service]

    return client
