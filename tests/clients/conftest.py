import pytest

from synapse_sdk.clients.local import LocalBackend


@pytest.fixture
def backend(tmp_path):
    with LocalBackend(tmp_path / "home", durable=False) as b:
        yield b
