"""A long onward chain audits in linear time with a small constant (SPEC §7: 50,000 flows in
under 10 s). The shortcuts it takes are pinned here against the plain answers they replace,
and the per-node work is counted (never timed): asked once per distinct answer, not per flow.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowaudit.audits import AuditResult, default_rulebook
from flowaudit.audits.engine import run_audit
from flowaudit.audits.findings import Waived
from flowaudit.audits import rulebook
from flowaudit.inventory import Inventory, load_inventory
from flowaudit.inventory.graph import PATH_LIMIT, InventoryView
from flowaudit.inventory.loader import SourceFile
from flowaudit.reports.machine import render_json, result_dict
from flowaudit.synth.jurisdictions import AS_OF
from flowaudit.synth.shapes import BUILDERS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "support-community"
FIXTURES = ROOT / "tests" / "fixtures"

# the pattern `SourceFile.id_line` used before it learned to jump from one `id:` to the next
_OLD_ID_LINE = re.compile(r"""(?:^|[{,\s-])id:\s*["']?([a-z0-9][a-z0-9._-]*)["']?\s*(?:[,}#]|$)""", re.MULTILINE)


def _old_id_lines(text: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    line, last = 1, 0
    for m in _OLD_ID_LINE.finditer(text):
        line += text.count("\n", last, m.start(1))
        last = m.start(1)
        lines.setdefault(m.group(1), line)
    return lines


def _new_id_lines(text: str) -> dict[str, int]:
    source = SourceFile(Path("x.yaml"), "x.yaml", text)
    source.id_line("")
    assert source._id_lines is not None
    return source._id_lines


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["id:", "id: ", "a", "b1", "-", ",", "{", "}", "#", " ", "\n", "'", '"', ":",
                                 "x", "\t", "\u2028", "é"]), max_size=40).map("".join))
def test_id_lines_are_the_old_patterns(text: str) -> None:
    assert _new_id_lines(text) == _old_id_lines(text)


def test_id_lines_of_an_inventory() -> None:
    text = ("organisations:\n- id: a\n  name: A\n- {id: b, name: B}\n-  id:  'c'  # c\nflows:\n"
            "- {from: x, id: d}\n- xid: e\n  tid: f\n- {id: g,id: h}\n")
    assert _new_id_lines(text) == _old_id_lines(text) == {"a": 2, "b": 4, "c": 5, "d": 7, "g": 10}


# --- the findings JSON: the finding writer against the generic one ------------------------------

def _results() -> list[AuditResult]:
    out = []
    for path in (EXAMPLE, FIXTURES / "golden" / "mixed", FIXTURES / "reports" / "injection"):
        result = run_audit(load_inventory(path), AS_OF)
        assert result.findings
        out.append(result)
    # every optional part of a finding: a waiver, an expired one, no location, no legal
    # reference, empty details, text that needs escaping
    f = out[0].findings
    f[0].waiver_expired = Waived("old \"reason\"", "dpo", dt.date(2020, 1, 1))
    f[1].waived, f[1].waiver = True, Waived("accepted\nrisk", "cto", dt.date(2030, 1, 1))
    f[2].location, f[2].legal, f[2].details = None, (), {}
    f[3].message, f[3].details = "é \u2028 \x00 </script>", {"when": dt.date(2026, 1, 2), "set": {"b", "a"}}
    f[4].location = ("a \"folder\"/inventory.yaml", None)  # a file without the entry's line
    f[4].details = {"mixed": ["a", 1], "nested": [{"k": ["v"]}], "t": ("x", "y"), "none": None, "n": 2.5}
    return out


def test_render_json_writes_what_the_generic_writer_writes() -> None:
    for result in _results():
        expected = json.dumps(result_dict(result, "inv"), indent=2, ensure_ascii=False) + "\n"
        assert render_json(result, "inv") == expected


# --- per-node questions asked once per distinct answer, not once per node -------------------------

@pytest.fixture(scope="module")
def chain_inventory(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    out = tmp_path_factory.mktemp("chain")
    BUILDERS["chain"](out, 1_500)
    return load_inventory(out)


def _count(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> Counter[str]:
    calls: Counter[str] = Counter()
    original = getattr(owner, name)

    def counted(*args: object, **kwargs: object) -> object:
        calls[name] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_a_chains_nodes_are_placed_once_per_kind_of_node(chain_inventory: Inventory,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """1,500 processors in eight countries: the law is asked about eight kinds of node (each
    regime's anchoring, the countries outside each area, adequacy without a decision), not
    about each node: the old code asked 9,000 anchoring, 1,500 destination and 1,500 adequacy
    questions."""
    anchored = _count(monkeypatch, InventoryView, "_anchored")
    outside = _count(monkeypatch, InventoryView, "_outside")
    adequacy = _count(monkeypatch, InventoryView, "_decide_adequacy")
    view = InventoryView(chain_inventory, default_rulebook(), AS_OF)
    transfers = list(view.transfers())
    assert len(transfers) >= 1_499
    regimes = len(default_rulebook().regime_ids)
    assert anchored["_anchored"] <= 12 * regimes
    assert outside["_outside"] <= 12
    # per importer only where a decision is in force (its scope may depend on the importer: the USA)
    law = default_rulebook()
    in_scope = sum(1 for o in chain_inventory.organisations.values() if law.adequacy("gdpr", o.country, AS_OF))
    assert 0 < in_scope < 300
    assert adequacy["_decide_adequacy"] <= 12 * regimes + in_scope


def test_each_transfers_mechanism_is_chosen_once(chain_inventory: Inventory,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten rules ask which mechanism counts for each transfer: the law decides it once (it was
    twice, once for `Transfer.mechanism` and once for the rules' memo; now the transfer keeps
    the choice), and the Chapter V transfers are listed once for the ten rules, not once per rule."""
    chosen = _count(monkeypatch, rulebook, "choose")  # `Rulebook.choose_mechanism` asks it
    listed = _count(monkeypatch, InventoryView, "transfers")
    result = run_audit(chain_inventory, AS_OF)
    assert not result.errors
    transfers = sum(len(ts) for ts in result.view._transfers.values())
    assert chosen["choose"] == transfers
    assert listed["transfers"] <= 3


def test_the_chain_findings_are_linear_in_its_length(tmp_path: Path) -> None:
    """Paths are cut to PATH_LIMIT nodes whatever the chain's length, and built from parent
    pointers: the findings JSON grows linearly with the chain."""
    sizes = []
    for flows in (400, 800):
        BUILDERS["chain"](tmp_path / str(flows), flows)
        result = run_audit(load_inventory(tmp_path / str(flows)), AS_OF)
        sizes.append(len(render_json(result, "chain")))
        longest = max(len(f.details.get("path", ())) for f in result.findings)
        assert longest == PATH_LIMIT
    assert sizes[1] < 2.1 * sizes[0]


def test_a_cut_paths_tail_is_the_same_in_any_order_of_asking(chain_inventory: Inventory) -> None:
    """`onward_chain` keeps the tail of each chain it was asked about: asked hop after hop (as
    the rules do), a tail grows from the previous hop's; asked backwards or at random, it is
    walked from parent pointers. Each gives the path the parent pointers give."""
    def paths(order: list[int]) -> dict[str, list[str]]:
        view = InventoryView(chain_inventory, default_rulebook(), AS_OF)
        onward = [t for t in view.transfers() if not t.first_hop]
        return {onward[i].flow.id: view.onward_chain(onward[i])[0] for i in order}

    count = sum(1 for t in InventoryView(chain_inventory, default_rulebook(), AS_OF).transfers() if not t.first_hop)
    forward = paths(list(range(count)))
    backward = paths(list(reversed(range(count))))
    shuffled = list(range(count))
    random.Random(7).shuffle(shuffled)
    assert forward == backward == paths(shuffled)
    view = InventoryView(chain_inventory, default_rulebook(), AS_OF)
    cut = 0
    for t in view.transfers():
        if t.first_hop:
            continue
        chains = view._chains(t.regime)
        walked = [t.flow.from_]  # the whole chain, by parent pointers
        while chains[walked[-1]][0] is not None:
            walked.append(chains[walked[-1]][0])
        whole = [*reversed(walked), t.flow.to]
        path = forward[t.flow.id]
        if len(whole) <= PATH_LIMIT:
            assert path == whole
        else:
            cut += 1
            assert path == [*whole[:PATH_LIMIT // 2], "…", *whole[-(PATH_LIMIT - PATH_LIMIT // 2 - 1):]]
            assert len(path) == PATH_LIMIT
    assert cut > 1000
