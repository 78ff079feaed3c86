"""The Python level table (scripts/pipeline/levels.py) against docs/pack-format.md: names, strides and order of the
levels, and which level the SP generator injects at which stage."""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from pipeline import config, levels  # noqa: E402

DOC = (ROOT / "docs" / "pack-format.md").read_text()


def _section(title: str) -> str:
    start = DOC.index(f"## {title}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end >= 0 else None]


def _doc_levels():
    """(index, name, stride or None) of each row of the table in "The pyramid levels"."""
    rows = re.findall(r"^\|\s*(\d+)\s*\|\s*(\w+)\s*\|\s*([\d-]+)\s*\|", _section("The pyramid levels"), re.M)
    return [(int(i), name, None if stride == "-" else int(stride)) for i, name, stride in rows]


def _doc_injections():
    """{level: stage} from the generator's pseudo-code: stage k starts at the k-th `block(` line."""
    code = _section("Semantic Pyramid generator").split("```")[1]
    stage, found = 0, {}
    for line in code.splitlines():
        if re.match(r"\s*h\s*=\s*block\(", line):
            stage += 1
        loop = re.match(r"\s*for level in ([\w, ]+):", line)
        names = [n.strip() for n in loop.group(1).split(",")] if loop else re.findall(r"sp\.inject_(pool\d)", line)
        for name in names:
            found[name] = stage
    return found


def test_level_table_matches_the_document():
    assert _doc_levels() == [(lv.index, lv.name, lv.stride) for lv in levels.LEVELS]
    assert levels.LEVEL_NAMES == ["pool1", "pool2", "pool3", "pool4", "pool5", "fc7", "fc8"]
    assert [lv.spatial for lv in levels.LEVELS] == [True] * 5 + [False] * 2
    assert levels.SPATIAL_LEVELS == 5 and (levels.FC7, levels.FC8) == (5, 6)


def test_pack_level_table_has_the_sizes_the_strides_give():
    table = levels.level_table(32, [4, 8, 8, 8, 8], 16, 10)
    assert [t["size"] for t in table] == [16, 8, 4, 2, 1, None, None]
    assert [t["channels"] for t in table] == [4, 8, 8, 8, 8, 16, 10]


def test_injections_match_the_document_for_the_32px_pack():
    injected = {inj["level"]: inj["stage"] for inj in config.cifar10().sp.injections}
    assert _doc_injections() == injected == {"pool5": 0, "pool4": 0, "pool3": 0, "pool2": 1, "pool1": 2}


def test_a_full_resolution_level_is_not_injected():
    assert levels.injection_stage(16, base_size=4, num_stages=4) == 2
    assert levels.injection_stage(32, base_size=4, num_stages=4) is None, "the final stage's size: a copy of the input"
    table = [dict(name="pool1", size=32), dict(name="pool2", size=16)]
    assert levels.injections(table, base_size=4, num_stages=4) == [dict(level="pool2", stage=2)]
