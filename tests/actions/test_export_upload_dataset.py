"""BaseExportAction, BaseUploadAction and DatasetAction helpers."""

import pytest

import synapse_sdk.plugins as plugins
from synapse_sdk.plugins import (
    BaseExportAction,
    BaseUploadAction,
    PluginCategory,
    as_spec,
    run_action,
)
from synapse_sdk.plugins.actions.dataset import DatasetAction, DatasetParams
from synapse_sdk.plugins.actions.export import BaseExportParams
from synapse_sdk.plugins.actions.upload import BaseUploadParams, import_directory, iter_files
from synapse_sdk.plugins.errors import UnsafePathError
from synapse_sdk.plugins.events import ProgressEvent


class Export(BaseExportAction[BaseExportParams]):
    def execute(self):
        target = self.output_path("sub/labels.csv")
        target.write_text("a,b\n")
        return str(target.relative_to(self.output_dir))


class EscapingExport(BaseExportAction[BaseExportParams]):
    def execute(self):
        return self.output_path("../outside.txt")


def test_categories_follow_the_spec_table():
    assert as_spec(Export).category is PluginCategory.EXPORT
    assert BaseUploadAction.category is PluginCategory.UPLOAD
    assert DatasetAction.category is None
    assert "DatasetAction" not in dir(plugins)
    with pytest.raises(AttributeError):
        _ = plugins.DatasetAction  # type: ignore[attr-defined]


def test_export_writes_below_output_dir_only(tmp_path):
    run = run_action(Export, {"output_dir": str(tmp_path / "out")}).raise_for_status()
    assert run.result == "sub/labels.csv"
    assert (tmp_path / "out" / "sub" / "labels.csv").read_text() == "a,b\n"
    bad = run_action(EscapingExport, {"output_dir": str(tmp_path / "out")})
    assert isinstance(bad.error.__cause__, UnsafePathError)
    assert not (tmp_path / "outside.txt").exists()


def _tree(root):
    (root / "cats").mkdir(parents=True)
    (root / "dogs").mkdir()
    (root / "cats" / "1.png").write_bytes(b"c1")
    (root / "cats" / "2.png").write_bytes(b"c2")
    (root / "dogs" / "1.png").write_bytes(b"d1")
    (root / "dogs" / "notes.txt").write_text("skip me")
    (root / ".hidden").write_text("skip me too")
    return root


class Upload(BaseUploadAction[BaseUploadParams]):
    allowed_extensions = (".png",)

    def execute(self):
        return self.import_directory(self.ctx.env["SRC"], name=self.params.name)["id"]


def test_upload_imports_a_labelled_folder(backend, tmp_path):
    src = _tree(tmp_path / "src")
    run = run_action(Upload, {"name": "pets"}, client=backend, env={"SRC": str(src)})
    dataset = backend.get_dataset(run.raise_for_status().result)
    assert dataset["name"] == "pets" and dataset["data_unit_count"] == 3
    metas = [u["meta"] for u in backend.list_data_units(dataset["id"])]
    assert metas == [
        {"path": "cats/1.png", "label": "cats"},
        {"path": "cats/2.png", "label": "cats"},
        {"path": "dogs/1.png", "label": "dogs"},
    ]
    upload = [e.current for e in run.events_of(ProgressEvent) if e.step == "upload"]
    assert upload[0] == 0 and upload[-1] == 3


def test_a_symlink_leading_outside_the_folder_is_refused(backend, tmp_path):
    src = _tree(tmp_path / "src")
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"secret")
    (src / "cats" / "3.png").symlink_to(secret)
    with pytest.raises(UnsafePathError) as info:
        import_directory(backend, src)
    assert "outside" in str(info.value) and info.value.name.endswith("3.png")
    assert backend.list_datasets() == []


def test_a_symlink_inside_the_folder_is_not_imported_twice(tmp_path):
    src = _tree(tmp_path / "src")
    (src / "alias.png").symlink_to(src / "cats" / "1.png")
    names = [p.relative_to(src).as_posix() for p in iter_files(src, [".PNG"])]
    assert names == ["cats/1.png", "cats/2.png", "dogs/1.png"]


class Download(DatasetAction[DatasetParams]):
    def execute(self):
        root = self.download_dataset(self.ctx.env["DEST"])
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))


def test_dataset_action_downloads_every_file(backend, tmp_path):
    dataset = import_directory(backend, _tree(tmp_path / "src"), extensions=[".png"])
    run = run_action(Download, {"dataset": dataset["id"]}, client=backend,
                     env={"DEST": str(tmp_path / "dl")})  # fmt: skip
    assert run.raise_for_status().result == ["1/1.png", "2/2.png", "3/1.png"]
    assert (tmp_path / "dl" / "3" / "1.png").read_bytes() == b"d1"
    assert run.events_of(ProgressEvent)[-1].current == 3
