"""A server killed (SIGKILL) mid-upload loses nothing it acknowledged and shows nothing partial.

After a restart on the same data directory, completed blobs are served, uploads that never
finished are invisible by digest, and uploads begun before the crash can be resumed: the new
process has no running hash for them, so finishing them re-hashes the data from storage.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.backends import AppBackend, StorageProbe
from tests.support.servers import LiveServer

MiB = 1 << 20
NAME = "crash/test"
NO_AUTH = {"DOCKYARD_AUTH__ENABLED": "false"}
#: Bytes an in-flight request sends before it pauses, mid-body, until the server is killed.
SENT_BEFORE_PAUSE = 8 * MiB
#: Server-side growth that proves the paused request's body is being written.
SEEN_BEFORE_KILL = 4 * MiB


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def content(size: int, seed: int) -> bytes:
    """``size`` deterministic bytes, different for each ``seed``."""
    block = hashlib.sha256(seed.to_bytes(4, "big")).digest() * 2048  # 64 KiB
    counter = bytearray()
    for i in range(size // len(block) + 1):
        counter += i.to_bytes(4, "big") + block[4:]
    return bytes(counter[:size])


def range_size(response: httpx.Response) -> int:
    """Bytes an upload holds, from its ``Range: 0-<last>`` header."""
    match = re.fullmatch(r"(?:bytes=)?0-(\d+)", response.headers["Range"])
    assert match, response.headers["Range"]
    return int(match.group(1)) + 1


def start_upload(client: httpx.Client) -> tuple[str, str]:
    """A new upload session: its Location and its id."""
    response = client.post(f"/v2/{NAME}/blobs/uploads/")
    assert response.status_code == 202, response.text
    return response.headers["Location"], response.headers["Docker-Upload-UUID"]


def patch(client: httpx.Client, location: str, offset: int, chunk: bytes) -> str:
    """Send one chunk at ``offset``; return the next Location."""
    response = client.patch(
        location,
        content=chunk,
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
        },
    )
    assert response.status_code == 202, response.text
    assert range_size(response) == offset + len(chunk)
    return str(response.headers["Location"])


def wait_until(condition: object, what: str, timeout: float = 30.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


class PausedRequest:
    """A request in a thread whose body stops mid-stream until :meth:`release`."""

    def __init__(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> None:
        self.released = threading.Event()
        self.sent = 0
        self.outcome: BaseException | httpx.Response | None = None
        self.body = body
        self._thread = threading.Thread(target=self._run, args=(method, url, headers), daemon=True)
        self._thread.start()

    def _chunks(self) -> Iterator[bytes]:
        for start in range(0, len(self.body), 256 * 1024):
            if start >= SENT_BEFORE_PAUSE:
                self.released.wait(timeout=60)
            chunk = self.body[start : start + 256 * 1024]
            self.sent += len(chunk)
            yield chunk

    def _run(self, method: str, url: str, headers: dict[str, str]) -> None:
        try:
            with httpx.Client(timeout=60) as client:
                self.outcome = client.request(method, url, content=self._chunks(), headers=headers)
        except BaseException as exc:  # the server dies under it: any transport error will do
            self.outcome = exc

    def release(self) -> None:
        self.released.set()
        self._thread.join(timeout=60)
        assert not self._thread.is_alive()


@pytest.fixture
def storage(tmp_path: Path, backend: AppBackend) -> Iterator[StorageProbe]:
    """What the servers' storage (data in ``tmp_path / "data"``) holds."""
    with StorageProbe(backend, tmp_path / "data") as probe:
        yield probe


def test_sigkill_mid_upload_then_restart_and_resume(
    tmp_path: Path, backend: AppBackend, storage: StorageProbe
) -> None:
    data_dir = tmp_path / "data"
    env = {**backend.env(), **NO_AUTH}
    if backend.driver == "s3":
        # S3 keeps what a PATCH sends in memory until a part is full: with the smallest parts
        # (5 MiB), SEEN_BEFORE_KILL of a paused request reaches storage.
        env["DOCKYARD_STORAGE__S3__PART_SIZE"] = str(5 * MiB)
    completed = content(3 * MiB + 11, seed=1)
    resumed_a = content(5 * MiB + 1, seed=2)  # two chunks before the crash, the rest after
    resumed_b = content(2 * MiB + 5, seed=3)  # one chunk before, the last one in the PUT
    killed_c = content(24 * MiB + 3, seed=4)  # one chunk before, then a PATCH cut by the kill
    killed_d = content(24 * MiB + 7, seed=5)  # a monolithic POST cut by the kill

    first = LiveServer(data_dir=data_dir, env=env).start()
    paused: list[PausedRequest] = []
    try:
        with httpx.Client(base_url=first.url, timeout=30) as client:
            location, _ = start_upload(client)
            location = patch(client, location, 0, completed[: 2 * MiB])
            location = patch(client, location, 2 * MiB, completed[2 * MiB :])
            done = client.put(location, params={"digest": digest_of(completed)})
            assert done.status_code == 201, done.text

            location_a, id_a = start_upload(client)
            location_a = patch(client, location_a, 0, resumed_a[:MiB])
            location_a = patch(client, location_a, MiB, resumed_a[MiB : 2 * MiB])
            location_b, id_b = start_upload(client)
            location_b = patch(client, location_b, 0, resumed_b[: MiB + 3])
            location_c, id_c = start_upload(client)
            location_c = patch(client, location_c, 0, killed_c[:MiB])

        known = storage.upload_ids()
        paused.append(
            PausedRequest(
                "PATCH",
                f"{first.url}{location_c}",
                killed_c[MiB:],
                {
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{MiB}-{len(killed_c) - 1}",
                },
            )
        )
        paused.append(
            PausedRequest(
                "POST",
                f"{first.url}/v2/{NAME}/blobs/uploads/?digest={digest_of(killed_d)}",
                killed_d,
                {"Content-Type": "application/octet-stream"},
            )
        )
        wait_until(
            lambda: storage.upload_size(id_c) >= MiB + SEEN_BEFORE_KILL,
            "the paused PATCH to reach storage",
        )

        def monolithic_ids() -> set[str]:
            return storage.upload_ids() - known

        wait_until(
            lambda: any(storage.upload_size(i) >= SEEN_BEFORE_KILL for i in monolithic_ids()),
            "the paused POST to reach storage",
        )
        assert all(p.sent < len(p.body) for p in paused), "a body finished before the kill"
        first.kill()
    finally:
        first.stop()
        for request in paused:
            request.release()
    for request in paused:
        assert isinstance(request.outcome, httpx.TransportError), request.outcome

    second = LiveServer(data_dir=data_dir, env=env).start()
    try:
        with httpx.Client(base_url=second.url, timeout=60) as client:
            # What was acknowledged survived.
            fetched = client.get(f"/v2/{NAME}/blobs/{digest_of(completed)}")
            assert fetched.status_code == 200, fetched.text
            assert fetched.content == completed
            assert fetched.headers["Docker-Content-Digest"] == digest_of(completed)

            # Nothing partial is visible, by GET or HEAD, nor stored as a blob.
            for data in (resumed_a, resumed_b, killed_c, killed_d):
                digest = digest_of(data)
                assert client.get(f"/v2/{NAME}/blobs/{digest}").status_code == 404
                assert client.head(f"/v2/{NAME}/blobs/{digest}").status_code == 404
                encoded = digest.split(":", 1)[1]
                assert storage.keys(f"blobs/sha256/{encoded[:2]}/{encoded}") == []

            # The uploads are where their acknowledged chunks left them.
            status_a = client.get(location_a)
            assert status_a.status_code == 204, status_a.text
            assert range_size(status_a) == 2 * MiB
            status_b = client.get(location_b)
            assert status_b.status_code == 204, status_b.text
            assert range_size(status_b) == MiB + 3

            # The cut PATCH kept an exact prefix of what was sent, and says how much.
            status_c = client.get(location_c)
            assert status_c.status_code == 204, status_c.text
            size_c = range_size(status_c)
            assert MiB + SEEN_BEFORE_KILL <= size_c <= MiB + SENT_BEFORE_PAUSE
            assert storage.upload_size(id_c) == size_c

            # A chunk at the wrong offset is refused with where the upload stands.
            wrong = client.patch(
                location_c,
                content=b"x",
                headers={"Content-Range": f"{size_c + 1}-{size_c + 1}"},
            )
            assert wrong.status_code == 416, wrong.text
            assert range_size(wrong) == size_c

            # Resume each upload; finishing re-hashes what the dead process received.
            location_a = patch(client, location_a, 2 * MiB, resumed_a[2 * MiB : 4 * MiB])
            location_a = patch(client, location_a, 4 * MiB, resumed_a[4 * MiB :])
            finished_a = client.put(location_a, params={"digest": digest_of(resumed_a)})
            assert finished_a.status_code == 201, finished_a.text
            assert finished_a.headers["Docker-Content-Digest"] == digest_of(resumed_a)

            finished_b = client.put(
                location_b,
                params={"digest": digest_of(resumed_b)},
                content=resumed_b[MiB + 3 :],
                headers={"Content-Type": "application/octet-stream"},
            )
            assert finished_b.status_code == 201, finished_b.text

            location_c = patch(client, location_c, size_c, killed_c[size_c:])
            finished_c = client.put(location_c, params={"digest": digest_of(killed_c)})
            assert finished_c.status_code == 201, finished_c.text

            # A wrong digest for a resumed upload is still caught.
            location_e, _ = start_upload(client)
            location_e = patch(client, location_e, 0, b"not what the digest says")
            bad = client.put(location_e, params={"digest": digest_of(b"something else")})
            assert bad.status_code == 400, bad.text
            assert bad.json()["errors"][0]["code"] == "DIGEST_INVALID"

            for data in (resumed_a, resumed_b, killed_c):
                fetched = client.get(f"/v2/{NAME}/blobs/{digest_of(data)}")
                assert fetched.status_code == 200, fetched.text
                assert fetched.content == data
            for upload_id in (id_a, id_b, id_c):
                assert storage.keys(f"uploads/{upload_id}") == []
    finally:
        second.stop()
