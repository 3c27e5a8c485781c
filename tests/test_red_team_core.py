"""Red-team cases (issue 9, item 6) the core owns, each with its reproducer: configuration of the
wrong shape or encoding (exit 2 with a message, not a traceback and exit 1), and a name with
U+0085 (NEXT LINE) in the diagram, drawn with the character folded instead of refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import AS_OF_TEXT, write_tree
from flowaudit.inventory import InventoryError, load_inventory

from flowaudit.cli import main

ORG = "organisations:\n  - {id: acme, name: Acme, country: DE, relation: self}\n"
BASE = {
    "organisations.yaml": ORG,
    "subjects.yaml": "subjects:\n  - {id: users, name: Users, locations: [DE]}\n",
    "elements.yaml": "elements:\n  - {id: email, name: Email, category: contact, subjects: [users]}\n",
    "purposes.yaml": ("purposes:\n  - {id: service, name: Service, legal_basis: contract, elements: [email],"
                      " subjects: [users], retention: P1Y}\n"),
    "systems.yaml": "systems:\n  - {id: crm, name: CRM, operator: acme, locations: [DE], elements: [email]}\n",
    "flows.yaml": "flows:\n  - {id: signup, from: users, to: crm, elements: [email], purposes: [service]}\n",
}


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def problems(path: Path) -> str:
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    return "\n".join(map(str, caught.value.problems))


# --- configuration of the wrong shape or encoding -----------------------------------------------

@pytest.mark.parametrize(("name", "content", "expected"), [
    ("flowaudit.toml", b"severity = 3\n", "severity must be a table"),
    ("flowaudit.toml", b"limits = [1]\n", "limits must be a table"),
    ("flowaudit.toml", b"skip = [1]\n", "skip must be a list of rule ids"),
    ("flowaudit.toml", b"fail_on = 3\n", "fail_on must be one of"),
    ("flowaudit.toml", b"[severity]\n\"TRF-001\" = 3\n", "severity of TRF-001 must be one of"),
    ("flowaudit.toml", b"skip = ['\xff']\n", "not valid UTF-8"),
    ("pyproject.toml", b"[tool]\nflowaudit = 3\n", "[tool.flowaudit] must be a table"),
    ("pyproject.toml", b"tool = 3\n", "[tool] must be a table"),
])
def test_configuration_of_the_wrong_shape_exits_2(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    inv = write_tree(tmp_path / "inv", BASE)
    (inv / name).write_bytes(content)
    code, out = run("audit", str(inv), "--as-of", AS_OF_TEXT)
    assert code == 2, out
    assert expected in out


def test_a_name_with_next_line_is_drawn(tmp_path: Path) -> None:
    inv = write_tree(tmp_path / "inv", {**BASE, "systems.yaml": BASE["systems.yaml"].replace(
        "name: CRM", 'name: "CRM\\x85two"')})
    code, out = run("graph", str(inv), "--format", "dot", "--as-of", AS_OF_TEXT)
    assert code == 0, out
    assert "CRM" in out and "\x85" not in out


