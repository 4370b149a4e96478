import pytest

from synapse_sdk.clients.local import LocalBackend


@pytest.fixture
def backend(tmp_path):
    with LocalBackend(tmp_path / "home", durable=False) as b:
        yield b


@pytest.fixture
def digits_like(backend):
    """A small dataset of three labelled data units."""
    ds = backend.create_dataset("tiny")
    backend.add_data_units(
        ds["id"], [({"image": f"img{i}".encode()}, {"label": i}) for i in range(3)]
    )
    return backend.get_dataset(ds["id"])
