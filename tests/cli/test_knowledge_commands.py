"""`steerwise sources`, `index` and `search` through the real executable."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from steerwise.demo import pack_path
from tests.cli.runner import steerwise


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("knowledge") / "ws"
    assert steerwise("init", str(root), cwd=root.parent).code == 0
    shutil.copytree(pack_path() / "docs", root / "docs")
    (root / "docs" / "notes.txt").write_bytes(b"\x00\x01binary")
    return root


def test_sources_add_reports_and_exits_1_when_files_were_skipped(ws: Path) -> None:
    added = steerwise(
        "sources", "add", "docs", "--owner", "policy", "--ttl", "365d", "--tag", "p", cwd=ws
    )
    assert added.code == 1
    assert added.out.startswith("docs: 8 new, 0 changed, 0 unchanged, 0 removed, 1 skipped\n")
    assert "skipped" in added.out and "notes.txt: binary content" in added.out
    assert "1 file(s) skipped; everything else was ingested" in added.err
    listing = steerwise("sources", "list", "--json", cwd=ws).json()
    assert [(s["name"], s["owner"], s["ttl_days"], s["tags"], s["documents"]) for s in listing] == [
        ("docs", "policy", 365.0, ["p"], 8)
    ]


def test_sources_show_and_stale(ws: Path) -> None:
    steerwise("sources", "add", "docs", cwd=ws)
    shown = steerwise("sources", "show", "returns-policy", cwd=ws)
    assert shown.code == 0
    assert shown.out.startswith("returns-policy@1  Returns and Refunds Policy\n")
    stale = steerwise("sources", "stale", "--json", cwd=ws).json()
    assert [s["document"]["doc_id"] for s in stale] == ["price-match-policy"]
    assert steerwise("sources", "show", "nope", cwd=ws).code == 2


def test_index_build_list_show_diff_and_search(ws: Path) -> None:
    steerwise("sources", "add", "docs", cwd=ws)
    built = steerwise("index", "build", cwd=ws)
    assert built.code == 0, built.err
    snapshot = built.out.split()[0]
    assert "(built: 8 documents" in built.out
    assert "unchanged, reused" in steerwise("index", "build", cwd=ws).out
    listing = steerwise("index", "list", "--json", cwd=ws).json()
    assert [s["id"] for s in listing] == [snapshot]
    assert (
        steerwise("index", "show", snapshot[:10], "--json", cwd=ws).json()["documents"][
            "returns-policy"
        ]
        == 1
    )
    assert (
        "the snapshots hold the same document versions"
        in steerwise("index", "diff", snapshot, "latest", cwd=ws).out
    )
    hits = steerwise("search", "membership annual fee", "--k", "3", "--json", cwd=ws).json()
    assert hits[0]["doc_id"] == "membership-programme"
    assert set(hits[0]["scores"]) == {"lexical", "dense"}
    text = steerwise("search", "price match", "--mode", "lexical", "--k", "2", cwd=ws).out
    assert "STALE: expired: valid until 2026-06-30" in text
    missing = steerwise("search", "refund", "--snapshot", "ffff0000", cwd=ws)
    assert missing.code == 2
    assert "snapshot 'ffff0000' does not exist" in missing.err


def test_bad_ttl_is_bad_input(ws: Path) -> None:
    outcome = steerwise("sources", "add", "docs", "--ttl", "ninety", cwd=ws)
    assert outcome.code == 2
    assert "invalid TTL 'ninety'" in outcome.err
