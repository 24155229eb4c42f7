"""fetch-data against a local HTTP server: complete, interrupted and resumed, corrupted, offline."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cli import main
from coverage.loaders.fetch import CareSource, FetchError, care_sources, fetch_source

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class _Server:
    """A tiny file server with HTTP ranges, a cut-off mode and a data.gouv-like API."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {"/apl.xlsx": PAYLOAD}
        self.cut_after: int | None = None  # bytes sent before dropping the connection once
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                del format, args

            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Range")))
                if self.path.startswith("/api/1/datasets/finess/"):
                    body = json.dumps(
                        {
                            "resources": [
                                {"title": "autre", "url": f"{server.base}/other.csv"},
                                {
                                    "title": "etalab-cs1100507-stock-20261101.csv",
                                    "url": f"{server.base}/apl.xlsx",
                                },
                            ]
                        }
                    ).encode()
                    self._send(200, body, len(body))
                    return
                data = server.files.get(self.path)
                if data is None:
                    self._send(404, b"", 0)
                    return
                start = 0
                status = 200
                ranged = self.headers.get("Range")
                if ranged:
                    start = int(ranged.removeprefix("bytes=").split("-")[0])
                    status = 206
                body = data[start:]
                if server.cut_after is not None:
                    cut, server.cut_after = server.cut_after, None
                    self._send(status, body[:cut], len(body), start=start, total=len(data))
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self._send(status, body, len(body), start=start, total=len(data))

            def _send(
                self, status: int, body: bytes, length: int, start: int = 0, total: int = 0
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(length))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{total - 1}/{total}")
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    yield srv
    srv.close()


def _source(url: str | None, **extra: str) -> CareSource:
    return CareSource(
        key="apl_mg",
        title="DREES, APL aux médecins généralistes",
        page="https://data.drees.solidarites-sante.gouv.fr/explore/dataset/x/",
        filename="apl.xlsx",
        licence="Licence Ouverte",
        format="xlsx",
        url=url,
        **extra,  # type: ignore[arg-type]
    )


def test_sources_are_data() -> None:
    sources = care_sources()
    assert {
        "apl_mg",
        "apl_ide",
        "apl_mk",
        "apl_sf",
        "apl_cd",
        "rpps",
        "finess",
        "bpe",
        "ages",
    } <= set(sources)
    for source in sources.values():
        assert source.page.startswith("https://") and source.licence and source.filename
    assert sources["rpps"].manual and not sources["apl_mg"].manual


def test_complete_then_cached(server: _Server, tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    result = fetch_source(
        _source(f"{server.base}/apl.xlsx"),
        dest_dir=tmp_path,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert result.status == "downloaded"
    assert (tmp_path / "apl.xlsx").read_bytes() == PAYLOAD
    assert result.sha256 == hashlib.sha256(PAYLOAD).hexdigest()
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    record = json.loads((tmp_path / "fetched.json").read_text("utf-8"))
    assert record["apl_mg"]["sha256"] == result.sha256 and record["apl_mg"]["bytes"] == len(PAYLOAD)
    again = fetch_source(_source(f"{server.base}/apl.xlsx"), dest_dir=tmp_path)
    assert again.status == "cached"
    assert len(server.requests) == 1  # the cache was verified, not downloaded again


def test_interrupted_then_resumed(server: _Server, tmp_path: Path) -> None:
    server.cut_after = 300_000
    with pytest.raises(FetchError, match=r"interrompu.*reprendra"):
        fetch_source(_source(f"{server.base}/apl.xlsx"), dest_dir=tmp_path)
    part = tmp_path / "apl.xlsx.part"
    assert part.exists() and 0 < part.stat().st_size < len(PAYLOAD)
    assert not (tmp_path / "apl.xlsx").exists()
    size = part.stat().st_size
    result = fetch_source(_source(f"{server.base}/apl.xlsx"), dest_dir=tmp_path)
    assert result.status == "resumed"
    assert server.requests[-1][1] == f"bytes={size}-"
    assert (tmp_path / "apl.xlsx").read_bytes() == PAYLOAD
    assert not part.exists()


def test_corrupted_download_is_refused_and_corrupted_cache_replaced(
    server: _Server, tmp_path: Path
) -> None:
    with pytest.raises(FetchError, match="empreinte sha256"):
        fetch_source(_source(f"{server.base}/apl.xlsx", sha256="0" * 64), dest_dir=tmp_path)
    assert not (tmp_path / "apl.xlsx").exists() and not (tmp_path / "apl.xlsx.part").exists()
    fetch_source(_source(f"{server.base}/apl.xlsx"), dest_dir=tmp_path)
    (tmp_path / "apl.xlsx").write_bytes(b"damaged")
    repaired = fetch_source(_source(f"{server.base}/apl.xlsx"), dest_dir=tmp_path)
    assert repaired.status == "downloaded"
    assert (tmp_path / "apl.xlsx").read_bytes() == PAYLOAD


def test_offline_says_what_to_download_by_hand(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError) as info:
        fetch_source(_source(f"http://127.0.0.1:{port}/apl.xlsx"), dest_dir=tmp_path, timeout=5)
    message = str(info.value)
    assert "Pas d'accès à internet" in message
    assert "https://data.drees.solidarites-sante.gouv.fr/explore/dataset/x/" in message
    assert "apl.xlsx" in message and str(tmp_path) in message
    assert "Errno" not in message and "refused" not in message  # no library text


def test_manual_source_and_datagouv_resolution(server: _Server, tmp_path: Path) -> None:
    manual = _source(None)
    with pytest.raises(FetchError, match="Téléchargez à la main"):
        fetch_source(manual, dest_dir=tmp_path)
    (tmp_path / "apl.xlsx").write_bytes(b"by hand")
    assert fetch_source(manual, dest_dir=tmp_path).status == "manual"
    finess = CareSource(
        key="finess",
        title="FINESS",
        page="https://www.data.gouv.fr/fr/datasets/finess/",
        filename="finess.csv",
        licence="Licence Ouverte",
        format="csv",
        datagouv_dataset="finess",
        resource_contains="etalab-cs1100507-stock",
    )
    result = fetch_source(finess, dest_dir=tmp_path, api_base=f"{server.base}/api/1")
    assert result.url == f"{server.base}/apl.xlsx"
    assert (tmp_path / "finess.csv").read_bytes() == PAYLOAD


def test_fetch_data_command_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fetch-data", "--only", "rpps", "--dest", str(tmp_path), "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err
    assert "annuaire.sante.fr" in err and "PS_LibreAcces.zip" in err
    with pytest.raises(SystemExit):
        main(["fetch-data", "--only", "nope", "--dest", str(tmp_path)])
