"""A session's images go with it, caches are freed, and image work stays off the event loop.

Real sessions (SQLite), the real imaging tools and image store, a scripted model, and the
service under uvicorn on loopback for the HTTP face.
"""

from __future__ import annotations

import asyncio
import io
import threading
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from agent.resources import Resources
from agent.session import Lingshu
from agent.settings import Settings
from knowledge.imaging import ImageStore
from tests.fakes import ScriptedChatModel, call
from tests.loopback import ThreadedUvicorn
from tests.server.conftest import make_service
from tools.imaging import IMAGING_TOOLS

ZOOM = call("zoom", image_id="I1", box=[0.25, 0.25, 0.75, 0.75])


def picture(path: Path, seed: int, size: tuple[int, int] = (200, 160)) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0]), dtype=np.uint8)).save(path)
    return path


def make_agent(tmp_path: Path, script: list[Any], store: ImageStore | None = None) -> Lingshu:
    settings = Settings(data_dir=tmp_path / "data")
    resources = Resources(images=store or ImageStore(settings.images_path))
    return Lingshu(
        settings,
        model=ScriptedChatModel(script=script),
        tools=list(IMAGING_TOOLS),
        resources=resources,
    )


def files(agent: Lingshu) -> set[str]:
    root = agent.resources.images.root
    return {p.name for p in root.iterdir() if p.suffix in (".png", ".npz", ".dcm")}


def test_deleting_sessions_deletes_their_images_but_not_shared_ones(tmp_path: Path) -> None:
    shared = picture(tmp_path / "shared.png", 1)
    own = picture(tmp_path / "own.png", 2)
    agent = make_agent(
        tmp_path,
        ["Looking closer.\n" + ZOOM, "Seen [I1, I2].", "Seen [I1].", "Seen [I1]."],
    )
    a = agent.ask("Opacity?", images=[shared])  # stores the picture and a zoomed view
    zoomed = Path(a.evidence["I2"]["citation"]["path"]).name
    b = agent.ask("Same picture, other session?", images=[shared])
    c = agent.ask("And this one?", images=[own])
    root_of = {
        key: Path(res.evidence["I1"]["citation"]["path"]).name
        for key, res in (("a", a), ("b", b), ("c", c))
    }
    assert root_of["a"] == root_of["b"]  # content-addressed: one file for both sessions
    assert files(agent) == {root_of["a"], zoomed, root_of["c"]}
    store = agent.resources.images
    store.data_url(store.root / root_of["c"], 256 * 784, 1280 * 784)
    assert any(key[0].endswith(root_of["c"]) for key in store.urls.cached_keys())

    agent.delete(a.session_id)  # b still holds the shared picture (and so its zoom)
    assert files(agent) == {root_of["a"], zoomed, root_of["c"]}
    agent.delete(c.session_id)  # nobody else holds c's picture
    assert files(agent) == {root_of["a"], zoomed}
    assert not any(key[0].endswith(root_of["c"]) for key in store.urls.cached_keys())
    assert not any(key.endswith(root_of["c"]) for key in store.volumes.cached_keys())
    agent.delete(b.session_id)  # the last holder: the picture and the view derived from it go
    assert files(agent) == set()
    assert len(store.urls) == 0 and len(store.volumes) == 0


class _Recording(ImageStore):
    """The real store, noting which thread encodes each model image."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.threads: list[int] = []

    def data_url(self, path: str | Path, min_pixels: int, max_pixels: int) -> str:
        self.threads.append(threading.get_ident())
        return super().data_url(path, min_pixels, max_pixels)


def test_image_decoding_and_encoding_run_off_the_event_loop(tmp_path: Path) -> None:
    store = _Recording(tmp_path / "data" / "images")
    agent = make_agent(tmp_path, ["Looking closer.\n" + ZOOM, "Seen [I1, I2]."], store)
    assert agent.runs_on_loop
    image = picture(tmp_path / "p.png", 3, (900, 700))

    async def turn() -> tuple[int, Any]:
        result = await agent.aask("Look", images=[image])
        return threading.get_ident(), result

    loop_thread, result = asyncio.run(turn())
    assert result.answer["citations"] == ["I1", "I2"]
    assert len(store.threads) >= 2  # the picture, then the zoomed view
    assert loop_thread not in store.threads


def test_http_delete_removes_the_session_images(tmp_path: Path) -> None:
    script = ["Looking closer.\n" + ZOOM, "Seen [I1, I2].", "Seen [I1]."]
    app, _ = make_service(tmp_path, script)
    images = tmp_path / "data" / "images"
    buf = io.BytesIO()
    Image.open(picture(tmp_path / "x.png", 4)).save(buf, format="PNG")
    with ThreadedUvicorn(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        first = http.post("/v1/sessions", json={}).json()["session_id"]
        second = http.post("/v1/sessions", json={}).json()["session_id"]
        for sid in (first, second):
            res = http.post(
                f"/v1/sessions/{sid}/turns",
                data={"text": "Opacity?"},
                files=[("images", ("x.png", buf.getvalue(), "image/png"))],
            )
            assert res.status_code == 200, res.text
        stored = {p.name for p in images.glob("*.png")}
        assert len(stored) == 2  # the upload (shared by content) and the zoom of the first
        assert http.delete(f"/v1/sessions/{first}").status_code == 204
        assert {p.name for p in images.glob("*.png")} == stored  # the second still holds it
        assert http.get(f"/v1/sessions/{second}/images/I1").status_code == 200
        assert http.delete(f"/v1/sessions/{second}").status_code == 204
        assert list(images.glob("*.png")) == []
