"""Helm repository indexes, version picking and safe chart unpacking (no network)."""

from __future__ import annotations

import contextlib
import io
import tarfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from gitward.model.errors import SourceError
from gitward.source.helmrepo import (
    ChartIntegrityError,
    ChartNotFound,
    parse_index,
    pick_version,
    unpack_chart,
)
from gitward.source.http import check_url
from gitward.source.policy import RepoURLRefused

URL = "https://charts.example.com/stable"


def _index(*versions: str) -> dict[str, list[dict[str, object]]]:
    return {
        "web": [
            {"version": v, "urls": [f"web-{v}.tgz"], "digest": f"{i:064x}"}
            for i, v in enumerate(versions)
        ]
    }


@pytest.mark.parametrize(
    ("wanted", "picked"),
    [
        ("1.2.3", "1.2.3"),
        ("v1.2.3", "1.2.3"),
        ("^1.0.0", "1.4.0"),
        ("~1.2", "1.2.3"),
        (">=1.0.0 <1.3.0", "1.2.3"),
        ("1.x", "1.4.0"),
        ("*", "2.0.0"),
        ("", "2.0.0"),
        ("2.1.0-rc.1", "2.1.0-rc.1"),
        (">=2.1.0-0", "2.1.0-rc.1"),
    ],
)
def test_versions_resolve_as_argo_cd_resolves_them(wanted: str, picked: str) -> None:
    entries = _index("1.0.0", "1.2.3", "1.4.0", "2.0.0", "2.1.0-rc.1")
    version = pick_version(entries, "web", wanted, URL)
    assert version.version == picked
    assert version.urls == (f"web-{picked}.tgz",)


def test_unknown_charts_and_versions_name_what_exists() -> None:
    entries = _index("1.0.0", "1.1.0")
    with pytest.raises(ChartNotFound, match="no chart named 'api'"):
        pick_version(entries, "api", "1.0.0", URL)
    with pytest.raises(ChartNotFound, match=r"no version matching '\^3.0.0' \(has 1.0.0, 1.1.0\)"):
        pick_version(entries, "web", "^3.0.0", URL)
    with pytest.raises(ChartNotFound, match="neither a version in the index nor a semver"):
        pick_version(entries, "web", "main", URL)


def test_index_errors_are_source_errors() -> None:
    with pytest.raises(SourceError, match="not valid YAML"):
        parse_index(b"entries: [", URL)
    with pytest.raises(SourceError, match="no entries"):
        parse_index(b"apiVersion: v1\n", URL)
    assert parse_index(yaml.safe_dump({"entries": {"web": [{"version": "1"}, 3]}}).encode(), URL)


@given(st.binary(max_size=400))
def test_any_index_bytes_parse_or_fail_as_a_source_error(data: bytes) -> None:
    try:
        entries = parse_index(data, URL)
    except SourceError:
        return
    for name in entries:
        with contextlib.suppress(SourceError):
            pick_version(entries, name, "*", URL)


def _archive(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return out.getvalue()


def test_a_chart_archive_unpacks(tmp_path: Path) -> None:
    top = unpack_chart(
        _archive({"web/Chart.yaml": b"name: web\n", "web/templates/a.yaml": b"x: 1\n"}),
        tmp_path,
        "web",
    )
    assert top == tmp_path / "web"
    assert (top / "templates" / "a.yaml").read_text() == "x: 1\n"


@pytest.mark.parametrize(
    ("files", "links", "reason"),
    [
        ({"../evil/Chart.yaml": b"x"}, None, "not a chart archive"),
        ({"web/Chart.yaml": b"x"}, {"web/templates/pw": "/etc/passwd"}, "links are refused"),
        ({"web/values.yaml": b"x"}, None, "one chart directory"),
    ],
)
def test_hostile_archives_are_refused(
    tmp_path: Path, files: dict[str, bytes], links: dict[str, str] | None, reason: str
) -> None:
    with pytest.raises(ChartIntegrityError, match=reason):
        unpack_chart(_archive(files, links), tmp_path / "out", "web")
    assert not (tmp_path / "evil").exists()


def test_absolute_member_names_land_inside_the_destination(tmp_path: Path) -> None:
    archive = _archive({"/tmp/gitward-abs-test": b"x", "web/Chart.yaml": b"x"})
    unpack_chart(archive, tmp_path / "out", "web")
    assert (tmp_path / "out" / "tmp" / "gitward-abs-test").is_file()
    assert not Path("/tmp/gitward-abs-test").exists()


def test_not_an_archive(tmp_path: Path) -> None:
    with pytest.raises(ChartIntegrityError, match="not a chart archive"):
        unpack_chart(b"<html>hello</html>", tmp_path, "web")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only https:// and http://"),
        ("ftp://x/y", "only https:// and http://"),
        ("https://user:pw@host/x", "credentials in the URL are refused"),
        ("https:///x", "names no host"),
        ("https://host/a b", "whitespace"),
        ("https://host:99999/x", "not a valid URL"),
        ("", "empty"),
    ],
)
def test_urls_are_checked_before_any_request(url: str, reason: str) -> None:
    with pytest.raises(RepoURLRefused, match=reason):
        check_url(url)
    assert "pw" not in reason
