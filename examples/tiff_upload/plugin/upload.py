"""``upload``: the default upload, with every page of a multi-page TIFF made a data unit.

The step is a context step (``BaseStep[UploadContext]``) inserted after ``organize_files``:
it replaces each TIFF of the organized files by one PNG per page, written to the run's
scratch folder (removed when the run ends). A label file of the scan goes with every page.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from synapse_sdk.plugins.actions.upload import DefaultUploadAction, UploadContext, UploadParams
from synapse_sdk.plugins.steps import BaseStep, StepRegistry, StepResult

TIFF = (".tif", ".tiff")


class SplitTiffPagesStep(BaseStep[UploadContext]):
    """One data unit per page of every TIFF image: ``scan.tif`` (3 pages) becomes
    ``scan_0001.png``, ``scan_0002.png``, ``scan_0003.png``. An unreadable TIFF is
    reported lost, with why."""

    name = "split_tiff_pages"
    progress_weight = 0.2

    def __init__(self, spec: str = "image") -> None:
        self.spec = spec

    def execute(self, context: UploadContext) -> StepResult:
        try:
            from PIL import Image, UnidentifiedImageError
        except ImportError as exc:  # the example's extra
            raise ImportError(
                "splitting TIFF pages needs Pillow: pip install 'synapse-sdk[examples]'"
            ) from exc

        out = context.scratch_dir()
        groups: list[dict[str, Any]] = []
        scans = pages = 0
        total = len(context.organized_files)
        for done, group in enumerate(context.organized_files, 1):
            image = group["files"].get(self.spec)
            if image is None or Path(image).suffix.lower() not in TIFF:
                groups.append(group)
                continue
            try:
                count = self._split(Image, Path(image), group, out, groups)
            except (OSError, UnidentifiedImageError, Warning) as exc:
                for path in group["files"].values():
                    context.lose(path, f"is not a readable TIFF ({type(exc).__name__})")
                continue
            scans += 1
            pages += count
            context.set_progress(done, total)
        context.organized_files = groups
        context.log("tiff_pages_split", {"scans": scans, "pages": pages})
        return StepResult(success=True, data={"scans": scans, "pages": pages})

    def _split(
        self, image_module: Any, image: Path, group: dict[str, Any], out: Path,
        groups: list[dict[str, Any]],
    ) -> int:  # fmt: skip
        """Write each page of ``image`` as a PNG into ``out``; add one group per page."""
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # Pillow warns of corrupt data: refuse the file
            with image_module.open(image) as tiff:
                count = getattr(tiff, "n_frames", 1)
                pages = []
                for index in range(count):
                    tiff.seek(index)
                    page = out / f"{image.stem}_{index + 1:04}.png"
                    tiff.convert("L").save(page)
                    meta = {**group["meta"], "page": index + 1, "pages": count,
                            "origin_file": image.name}  # fmt: skip
                    pages.append({"files": {**group["files"], self.spec: page}, "meta": meta})
        groups.extend(pages)  # only once every page was read
        return int(count)


class TiffUpload(DefaultUploadAction[UploadParams]):
    """Upload scans: TIFF pages become PNG images, one data unit each."""

    def get_allowed_extensions(self) -> dict[str, list[str]]:
        # validate_files runs after the split: the pages are PNG by then
        return {"image": [".png"], "text": [".json"]}

    def setup_steps(self, registry: StepRegistry) -> None:
        super().setup_steps(registry)
        registry.insert_after("organize_files", SplitTiffPagesStep())
