import hashlib
import json
import re

import pytest

from coursekit import runtime
from coursekit.data import download


def _entry(path, **kw):
    data = path.read_bytes()
    e = {"url": path.as_uri(), "filename": "thing.bin", "sha256": hashlib.sha256(data).hexdigest(),
         "size": len(data), "license": "test", "offline": "the test's fallback"}
    e.update(kw)
    return {"thing": e}


def test_registry_is_complete_and_well_formed():
    reg = download.registry()
    assert {"mnist-train-images", "omniglot-background"} <= set(reg)
    for name, e in reg.items():
        assert re.fullmatch(r"[0-9a-f]{64}", e["sha256"]), name
        assert e["url"].startswith("https://") and e["size"] > 0 and e["license"] and e["offline"]


def test_fetch_downloads_checks_and_caches(tmp_path, tmp_cache):
    src = tmp_path / "source.bin"
    src.write_bytes(b"hello course" * 100)
    entries = _entry(src)
    path = download.fetch("thing", entries=entries, progress=False)
    assert path.parent == tmp_cache and path.read_bytes() == src.read_bytes()
    src.unlink()  # a cached, valid file needs no network
    assert download.fetch("thing", entries=entries, progress=False) == path


def test_bad_checksum_keeps_nothing(tmp_path, tmp_cache):
    src = tmp_path / "source.bin"
    src.write_bytes(b"changed upstream")
    entries = _entry(src, sha256="0" * 64)
    with pytest.raises(download.DownloadError, match="corrupt or changed upstream"):
        download.fetch("thing", entries=entries, progress=False)
    assert list(tmp_cache.iterdir()) == []


def test_corrupt_cached_file_is_moved_aside_and_replaced(tmp_path, tmp_cache, capsys):
    src = tmp_path / "source.bin"
    src.write_bytes(b"good bytes")
    entries = _entry(src)
    tmp_cache.mkdir(parents=True, exist_ok=True)
    (tmp_cache / "thing.bin").write_bytes(b"half a downl")
    path = download.fetch("thing", entries=entries, progress=False)
    assert path.read_bytes() == b"good bytes"
    assert (tmp_cache / "thing.bin.corrupt").read_bytes() == b"half a downl"  # kept for inspection
    assert "wrong checksum" in capsys.readouterr().out


def test_no_network_is_a_clear_error_and_falls_back(tmp_cache, capsys):
    entries = {"thing": {"url": "http://127.0.0.1:9/thing.bin", "filename": "thing.bin", "sha256": "0" * 64,
                         "size": 10, "license": "x", "offline": "glyph digits"}}
    with pytest.raises(download.DownloadError, match="offline.*glyph digits.*copy"):
        download.fetch("thing", entries=entries, timeout=2, progress=False)
    out = download.fetch_or_fallback("thing", load=lambda p: "real", fallback=lambda: "offline",
                                     entries=entries, timeout=2, progress=False)
    assert out == "offline"
    assert "using the offline source instead: glyph digits" in capsys.readouterr().out
    assert not list(tmp_cache.glob("*.part"))


def test_unknown_dataset_and_missing_registry(tmp_path):
    with pytest.raises(download.DownloadError, match="unknown dataset 'nope'.*registered"):
        download.fetch("nope", entries={})
    with pytest.raises(download.DownloadError, match="not found"):
        download.registry(tmp_path / "missing.json")
    bad = tmp_path / "r.json"
    bad.write_text(json.dumps({"datasets": {"x": {"url": "u"}}}))
    with pytest.raises(download.DownloadError, match="lacks"):
        download.registry(bad)


def test_can_download_never_hangs():
    import time

    t = time.perf_counter()
    assert download.can_download("http://127.0.0.1:9", timeout=0.5) is False
    assert time.perf_counter() - t < 3
    assert download.can_download("file:///definitely/not/here") is False


def test_cache_dir_env(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_DATA", str(tmp_path / "c"))
    assert runtime.cache_dir() == download.cache_dir() == tmp_path / "c" and (tmp_path / "c").is_dir()


def test_data_readme_lists_every_registered_dataset():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "data" / "README.md").read_text()
    for name, e in download.registry().items():
        assert f"`{name}`" in readme and e["url"] in readme and e["sha256"][:16] in readme
