"""DefaultUploadAction on the testing kit's fake backend: organizing, validating, reporting."""

from __future__ import annotations

import pydantic
import pytest

from synapse_sdk.plugins.actions.upload import (
    DefaultUploadAction,
    UploadContext,
    UploadParams,
    UploadResult,
)
from synapse_sdk.plugins.errors import ValidationError
from synapse_sdk.plugins.steps import BaseStep, StepResult


class Upload(DefaultUploadAction[UploadParams]):
    action_name = "upload"


IMAGE_AND_LABEL = ["image", {"name": "label", "extensions": [".json"]}]


def params(storage, collection, **more):
    return {"name": "u", "path": ".", "storage": storage["id"],
            "data_collection": collection["id"], **more}  # fmt: skip


def test_files_of_different_specifications_with_the_same_path_make_one_data_unit(
    synapse_run, synapse_backend
):
    storage = synapse_backend.add_storage(
        files={
            "image/a.jpg": b"A",
            "image/day2/a.jpg": b"A2",
            "label/a.json": "{}",
            "label/day2/a.json": '{"x": 1}',
            "image/b.jpg": b"B",
        }
    )
    collection = synapse_backend.add_data_collection(specs=IMAGE_AND_LABEL)
    result = synapse_run(Upload, params(storage, collection)).result
    assert isinstance(result, UploadResult)
    assert (result.data_units, result.uploaded_files, result.lost_files_count) == (3, 5, 0)
    units = synapse_backend.list_data_units(collection["id"])
    assert [(sorted(u["files"]), u["meta"]["data_unit_key"]) for u in units] == [
        (["image", "label"], "a"),
        (["image"], "b"),
        (["image", "label"], "day2/a"),
    ]
    assert synapse_backend.held_files == {} and synapse_backend.unused_files() == []


def test_not_recursive_reads_only_the_top_folder(synapse_run, synapse_backend):
    storage = synapse_backend.add_storage(files={"image/a.jpg": b"A", "image/deep/b.jpg": b"B"})
    collection = synapse_backend.add_data_collection(specs=["image"])
    result = synapse_run(Upload, params(storage, collection, is_recursive=False)).result
    assert result.data_units == 1


def test_every_unusable_file_is_reported_by_name_with_its_reason(synapse_run, synapse_backend):
    storage = synapse_backend.add_storage(
        files={
            "image/a.jpg": b"A",
            "image/a.png": b"A-again",  # a second image for unit 'a'
            "image/big.jpg": b"x" * 2048,
            "label/orphan.json": "{}",  # no image: the required spec is missing
            "label/a.txt": "wrong extension",
            ".hidden.jpg": b"never looked at",
        }
    )
    collection = synapse_backend.add_data_collection(specs=IMAGE_AND_LABEL)
    run = synapse_run(Upload, params(storage, collection, max_file_size_mb=0.001))
    result = run.result
    lost = {f.file: (f.step, f.reason) for f in result.lost_files}
    assert lost == {
        "image/a.png": (
            "organize_files",
            "image/a.jpg already gives specification 'image' of data unit 'a' "
            "(same name, another extension)",
        ),
        "label/orphan.json": (
            "organize_files",
            "data unit 'orphan' has no file for required specification 'image'",
        ),
        "label/a.txt": (
            "validate_files",
            "has extension '.txt'; specification 'label' accepts .json",
        ),
        "image/big.jpg": (
            "validate_files",
            "is 2,048 bytes, over the limit of 1,048 bytes (max_file_size_mb)",
        ),
    }
    assert result.lost_files_count == 4 and result.partial_failure
    assert result.data_units == 1  # a.jpg, without its bad label
    warned = [e for e in run.events if getattr(e, "event", None) == "upload_file_lost"]
    assert len(warned) == 4 and {e.level for e in warned} == {"warning"}


def test_a_collection_with_one_specification_takes_files_straight_from_the_path(
    synapse_run, synapse_backend
):
    storage = synapse_backend.add_storage(files={"0.jpg": b"0", "1.jpg": b"1"})
    collection = synapse_backend.add_data_collection(specs=["image"])
    assert synapse_run(Upload, params(storage, collection)).result.data_units == 2


def test_multi_path_mode_reads_each_specification_from_its_asset_folder(
    synapse_run, synapse_backend
):
    storage = synapse_backend.add_storage(
        files={"cams/front/1.jpg": b"f", "lidar/1.json": "{}", "lidar/sub/2.json": "{}"}
    )
    collection = synapse_backend.add_data_collection(
        specs=["image", {"name": "label", "extensions": [".json"]}]
    )
    assets = {"image": {"path": "cams/front"}, "label": {"path": "lidar", "is_recursive": False}}
    result = synapse_run(
        Upload,
        {"name": "m", "use_single_path": False, "assets": assets, "storage": storage["id"],
         "data_collection": collection["id"]},
    ).result  # fmt: skip
    assert result.data_units == 1
    (unit,) = synapse_backend.list_data_units(collection["id"])
    assert sorted(unit["files"]) == ["image", "label"]


def test_allowed_extensions_by_file_type_restrict_the_files_taken(synapse_run, synapse_backend):
    class OnlyTiff(DefaultUploadAction[UploadParams]):
        def get_allowed_extensions(self):
            return {"image": [".tif", ".tiff"]}

    storage = synapse_backend.add_storage(files={"image/a.tif": b"t", "image/b.jpg": b"j"})
    collection = synapse_backend.add_data_collection(
        specs=[{"name": "image", "file_type": "image", "is_required": True}]
    )
    result = synapse_run(OnlyTiff, params(storage, collection)).result
    assert result.data_units == 1
    assert [(f.file, f.reason) for f in result.lost_files] == [
        ("image/b.jpg", "has extension '.jpg'; this upload accepts .tif, .tiff for 'image'")
    ]


def test_excel_like_csv_metadata_joins_the_data_units_by_file_name(synapse_run, synapse_backend):
    storage = synapse_backend.add_storage(
        files={"image/a.jpg": b"a", "image/b.jpg": b"b", "meta.csv": "file,weather\na.jpg,rain\n"}
    )
    collection = synapse_backend.add_data_collection(specs=["image"])
    synapse_run(Upload, params(storage, collection, excel_metadata_path="meta.csv"))
    metas = {u["meta"]["origin_file_stem"]: u["meta"] for u in
             synapse_backend.list_data_units(collection["id"])}  # fmt: skip
    assert metas["a"]["weather"] == "rain" and "weather" not in metas["b"]


def test_xlsx_metadata_is_read_with_openpyxl(synapse_run, synapse_backend, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["file", "camera", "frame"])
    book.active.append(["a", "front", 7])
    book.save(tmp_path / "meta.xlsx")
    storage = synapse_backend.add_storage(files={"image/a.jpg": b"a"})
    collection = synapse_backend.add_data_collection(specs=["image"])
    sheet = str(tmp_path / "meta.xlsx")
    synapse_run(Upload, params(storage, collection, excel_metadata_path=sheet))
    (unit,) = synapse_backend.list_data_units(collection["id"])
    assert (unit["meta"]["camera"], unit["meta"]["frame"]) == ("front", 7)


def test_params_say_what_each_mode_needs(synapse_run):
    with pytest.raises(pydantic.ValidationError, match=r"single-path mode .* needs 'path'"):
        UploadParams.model_validate({"name": "u", "storage": 1, "data_collection": 1})
    with pytest.raises(pydantic.ValidationError, match=r"multi-path mode .* needs 'assets'"):
        UploadParams.model_validate(
            {"name": "u", "use_single_path": False, "storage": 1, "data_collection": 1}
        )
    with pytest.raises(ValidationError, match="name: Value error, must not be blank"):
        synapse_run(Upload, {"name": " ", "path": ".", "storage": 1, "data_collection": 1})


@pytest.mark.synapse(allow_unused=True)
def test_a_missing_storage_fails_with_how_to_make_one(synapse_run, synapse_backend):
    collection = synapse_backend.add_data_collection(specs=["image"])
    run = synapse_run(Upload, {"name": "u", "path": ".", "storage": 9,
                               "data_collection": collection["id"]}, check=False)  # fmt: skip
    assert "storage 9 does not exist" in str(run.error.__cause__)
    assert "synapse backend storages add" in str(run.error.__cause__)


@pytest.mark.synapse(allow_unused=True)
def test_a_path_leaving_the_storage_is_refused(synapse_run, synapse_backend):
    storage = synapse_backend.add_storage(files={"image/a.jpg": b"a"})
    collection = synapse_backend.add_data_collection(specs=["image"])
    run = synapse_run(Upload, params(storage, collection, path="../.."), check=False)
    assert "leads outside the storage folder" in str(run.error.__cause__)


def test_a_custom_step_inserted_after_organize_sees_and_changes_the_organized_files(
    synapse_run, synapse_backend
):
    class DropOdd(BaseStep[UploadContext]):
        name = "drop_odd"

        def execute(self, context: UploadContext) -> StepResult:
            keep = []
            for group in context.organized_files:
                if int(group["meta"]["origin_file_stem"]) % 2:
                    for path in group["files"].values():
                        context.lose(path, "odd numbers are not wanted")
                else:
                    keep.append(group)
            context.organized_files = keep
            return StepResult(success=True, data={"kept": len(keep)})

    class Even(DefaultUploadAction[UploadParams]):
        def setup_steps(self, registry):
            super().setup_steps(registry)
            registry.insert_after("organize_files", DropOdd())

    storage = synapse_backend.add_storage(files={f"image/{i}.jpg": bytes([i]) for i in range(4)})
    collection = synapse_backend.add_data_collection(specs=["image"])
    run = synapse_run(Even, params(storage, collection))
    assert run.result.data_units == 2 and run.result.steps_total == 9
    assert [f.file for f in run.result.lost_files] == ["image/1.jpg", "image/3.jpg"]
    assert {f.step for f in run.result.lost_files} == {"drop_odd"}
