"""Demo images come from installed packages and load as the right kind of image."""

from __future__ import annotations

from pathlib import Path

from knowledge.imaging import ImageStore
from knowledge.imaging.demo import demo_image_paths


def test_demo_images_are_real_and_offline(store: ImageStore, tmp_path: Path) -> None:
    paths = demo_image_paths(tmp_path / "demo")
    infos = {name: store.add(path) for name, path in paths.items()}
    assert (infos["fundus"].width, infos["fundus"].height) == (1411, 1411)
    assert infos["mr_abdomen"].modality == "MR"
    assert infos["ct"].modality == "CT" and infos["ct"].units == "HU"
    assert infos["ultrasound"].modality == "US" and infos["ultrasound"].frames == 30
    assert infos["ct"].summary().startswith("CT 128x128, 0.661468 mm/pixel")
    again = demo_image_paths(tmp_path / "demo")  # written once, reused
    assert again["fundus"] == paths["fundus"]
