"""Real images for the bundled demo cases, written from packages, never downloaded.

- ``fundus``: the retina photograph shipped with scikit-image (``skimage.data.retina``,
  1411x1411; "Fundus photograph of normal left eye", M. Haggstrom 2014, Wikimedia
  Commons, CC0). It shows a *normal* eye: a diabetic-retinopathy demo must not claim
  lesions in it;
- ``mr_abdomen``: pydicom's ``examples_overlay.dcm`` (axial MR of the upper abdomen
  with a liver lesion);
- ``ct``: pydicom's ``CT_small.dcm`` (axial CT, 128x128);
- ``ultrasound``: pydicom's ``examples_ybr_color.dcm`` (30-frame colour echo, JPEG).

For demonstration and education only, not for clinical use.
"""

from __future__ import annotations

from pathlib import Path

from knowledge.imaging.errors import ImageError

PYDICOM_FILES = {
    "mr_abdomen": "examples_overlay.dcm",
    "ct": "CT_small.dcm",
    "ultrasound": "examples_ybr_color.dcm",
}


def demo_image_paths(folder: Path) -> dict[str, Path]:
    """Paths of the demo images; the fundus PNG is written into ``folder`` once."""
    from pydicom.data import get_testdata_file

    paths: dict[str, Path] = {}
    for name, filename in PYDICOM_FILES.items():
        found = get_testdata_file(filename)
        if not found:
            raise ImageError(f"pydicom does not ship {filename}")
        paths[name] = Path(str(found))
    paths["fundus"] = _fundus(folder)
    return paths


def _fundus(folder: Path) -> Path:
    target = folder / "fundus_retina.png"
    if target.exists():
        return target
    try:
        from PIL import Image
        from skimage import data
    except ImportError as exc:  # pragma: no cover - scikit-image is a dependency
        raise ImageError("the fundus demo image needs scikit-image") from exc
    folder.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    Image.fromarray(data.retina()).save(tmp, format="PNG")
    tmp.replace(target)
    return target
