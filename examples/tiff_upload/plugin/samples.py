"""``samples``: scans to upload. Writes multi-page TIFFs (and a label per scan) into a folder
and registers it as a storage, with a data collection to upload them into."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field

from synapse_sdk.plugins import BaseAction

SPECS = [
    {"name": "image", "file_type": "image", "is_required": True, "extensions": [".tif", ".png"]},
    {"name": "label", "file_type": "text", "is_required": False, "extensions": [".json"]},
]


class SamplesParams(BaseModel):
    output_dir: str = Field(default="scans", description="Folder to write the scans into")
    scans: int = Field(default=3, ge=1, le=100, description="How many scans")
    pages: int = Field(default=4, ge=1, le=50, description="Pages per scan")


class SamplesResult(BaseModel):
    folder: str
    files: int
    storage: int
    data_collection: int


def write_scans(folder: Path, scans: int, pages: int) -> int:
    """``scans`` TIFFs of ``pages`` 64x48 grey pages each (page n shows n bars), plus a
    label per scan; returns how many files were written."""
    from PIL import Image, ImageDraw

    (folder / "image").mkdir(parents=True, exist_ok=True)
    (folder / "label").mkdir(parents=True, exist_ok=True)
    for s in range(scans):
        frames = []
        for p in range(pages):
            page = Image.new("L", (64, 48), color=255)
            draw = ImageDraw.Draw(page)
            for bar in range(p + 1):
                draw.rectangle([4 + bar * 6, 8, 7 + bar * 6, 40 - s], fill=0)
            frames.append(page)
        frames[0].save(folder / "image" / f"scan{s:02}.tif", save_all=True,
                       append_images=frames[1:], compression="tiff_deflate")  # fmt: skip
        (folder / "label" / f"scan{s:02}.json").write_text(json.dumps({"scan": s}))
    return 2 * scans


class MakeSamples(BaseAction[SamplesParams]):
    result_model = SamplesResult

    def execute(self) -> SamplesResult:
        folder = Path(self.params.output_dir).resolve()
        files = write_scans(folder, self.params.scans, self.params.pages)
        client = self.ctx.client
        storage = client.create_storage(f"scans-{folder.name}-{len(client.list_storages())}",
                                        path=folder)  # fmt: skip
        collection = client.create_data_collection("scans", file_specifications=SPECS)
        self.log("samples_written", {"folder": str(folder), "files": files})
        return SamplesResult(
            folder=str(folder), files=files, storage=storage["id"],
            data_collection=collection["id"],
        )  # fmt: skip
