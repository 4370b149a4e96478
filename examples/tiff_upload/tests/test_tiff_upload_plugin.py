"""The tiff_upload example tested with the synapse_testing kit: fake backend seeded in one call
per record, the plugin run by path, and a snapshot of the whole run."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

Image = pytest.importorskip("PIL.Image", reason="the example needs Pillow (the 'examples' extra)")

PLUGIN = Path(__file__).resolve().parents[1]


def tiff(pages: int) -> bytes:
    """A multi-page TIFF of ``pages`` grey 8x8 pages (page n filled with n * 10)."""
    frames = [Image.new("L", (8, 8), color=10 * n) for n in range(1, pages + 1)]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()


@pytest.fixture
def scans(synapse_backend):
    """A storage with two scans (3 and 1 pages), a label for the first, a broken file."""
    storage = synapse_backend.add_storage(
        files={
            "image/letter.tif": tiff(3),
            "image/note.tiff": tiff(1),
            "image/broken.tif": b"II*\x00 this is no tiff",
            "label/letter.json": '{"kind": "letter"}',
        }
    )
    collection = synapse_backend.add_data_collection(
        specs=[
            {"name": "image", "file_type": "image", "is_required": True,
             "extensions": [".tif", ".tiff", ".png"]},
            {"name": "label", "file_type": "text", "extensions": [".json"]},
        ]
    )  # fmt: skip
    return {"name": "scans", "path": ".", "storage": storage["id"],
            "data_collection": collection["id"]}  # fmt: skip


def test_every_page_becomes_a_data_unit_with_the_scans_label(synapse_run, synapse_backend, scans):
    result = synapse_run(PLUGIN, "upload", scans).result
    assert (result.data_units, result.lost_files_count) == (4, 1)
    (lost,) = result.lost_files
    assert (lost.file, lost.step) == ("image/broken.tif", "split_tiff_pages")
    assert lost.reason.startswith("is not a readable TIFF")
    units = synapse_backend.list_data_units(scans["data_collection"])
    pages = [(u["files"]["image"]["name"], u["meta"]["page"], "label" in u["files"]) for u in units]
    assert pages == [
        ("letter_0001.png", 1, True),
        ("letter_0002.png", 2, True),
        ("letter_0003.png", 3, True),
        ("note_0001.png", 1, False),
    ]
    page = Image.open(io.BytesIO(synapse_backend.read_file(units[1]["files"]["image"]["sha256"])))
    assert page.format == "PNG" and page.getpixel((0, 0)) == 20
    assert synapse_backend.held_files == {} and synapse_backend.unused_files() == []


def test_uploading_the_same_scans_again_makes_nothing_new(synapse_run, scans):
    synapse_run(PLUGIN, "upload", scans)
    again = synapse_run(PLUGIN, "upload", scans).result
    assert (again.data_units, again.existing_data_units, again.uploaded_files) == (0, 4, 0)


def test_the_run_matches_its_snapshot(synapse_run, synapse_snapshot, scans):
    assert synapse_run(PLUGIN, "upload", scans) == synapse_snapshot
