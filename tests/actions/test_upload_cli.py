"""`synapse backend storages|collections`: set up what an upload reads from and fills, then run
the upload from the command line."""

from __future__ import annotations

import json

import pytest

from synapse_sdk.cli import main
from synapse_sdk.cli._backend_collections import parse_spec
from synapse_sdk.clients.local import LocalBackend


def test_one_command_each_sets_up_a_storage_and_a_collection_an_upload_then_fills(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shots" / "image").mkdir(parents=True)
    (tmp_path / "shots" / "image" / "a.jpg").write_bytes(b"a")
    assert main(["backend", "storages", "add", "shots", "shots"]) == 0
    assert main(["backend", "collections", "add", "shots", "--spec", "image:required:.jpg"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"storage 1 'shots': {tmp_path / 'shots'}",
        "data collection 1 'shots': image* (.jpg)",
    ]
    assert main(["backend", "storages", "--json"]) == 0
    (storage,) = json.loads(capsys.readouterr().out)
    assert (storage["provider"], storage["path"]) == ("local", str(tmp_path / "shots"))
    assert main(["backend", "collections"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:4] == ["ID", "NAME", "DATA", "UNITS"]
    assert table[1].split()[:5] == ["1", "shots", "0", "image*", "(.jpg)"]

    with LocalBackend(tmp_path / ".synapse") as backend:
        from synapse_sdk.plugins.actions.upload import DefaultUploadAction, UploadParams
        from synapse_sdk.plugins.runner import run_action

        class Upload(DefaultUploadAction[UploadParams]):
            pass

        params = {"name": "s", "path": ".", "storage": 1, "data_collection": 1}
        assert run_action(Upload, params, client=backend).result.data_units == 1


def test_a_storage_without_a_path_is_a_folder_inside_the_backend(tmp_path, capsys):
    assert main(["backend", "storages", "add", "inbox", "--home", str(tmp_path / "h")]) == 0
    assert capsys.readouterr().out.strip() == f"storage 1 'inbox': {tmp_path / 'h/storages/inbox'}"
    assert (tmp_path / "h" / "storages" / "inbox").is_dir()


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("image", {"name": "image", "file_type": "image"}),
        ("image:required:.jpg,.png", {"name": "image", "file_type": "image", "is_required": True,
                                      "extensions": [".jpg", ".png"]}),
        ("label:text:optional:.json", {"name": "label", "file_type": "text",
                                       "is_required": False, "extensions": [".json"]}),
    ],
)  # fmt: skip
def test_spec_syntax(text, spec):
    assert parse_spec(text) == spec


def test_a_bad_spec_name_is_refused_with_the_rule(tmp_path, capsys):
    code = main(["backend", "collections", "add", "x", "--spec", "../up", "--home", str(tmp_path)])
    assert code != 0
    assert "file_specifications[0].name must be a folder-safe name" in capsys.readouterr().err
