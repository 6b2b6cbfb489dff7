"""The package's shape: stages import only lower stages; modules and functions stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "msticnb_iforest"

#: Stages from the bottom up; a module may import its own stage or lower ones.
STAGES = [
    {
        "errors",
        "_version",
        "constraints",
        "wording",
        "schema",
        "params",
        "identity",
        "intkeys",
        "moved",
        "windows",
    },
    {"sources"},
    {"summarize"},
    {"model", "forest_paths"},  # forest_paths: how the forest scores a row (model, explain)
    {"features"},
    {"explain"},
    {"incidents"},
    {"state"},
    {"pipeline"},
    {"present"},
    {"selftest"},  # plants attacks in a copy of the events and hunts it (pipeline, present)
    {"frontends"},
    {"__main__"},  # ``python -m msticnb_iforest``: the command line
]

#: Stages that may import only the vocabulary (the first stage) and themselves:
#: the renderers read a finished hunt by attribute name and never call back
#: into the analysis, so a front end hands its data down once: source, hunt,
#: present.
VOCABULARY_ONLY = {"present"}

#: Imports that go up a stage, each with the reason it is allowed.
KNOWN_UPWARD: set[tuple[str, str]] = set()

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def _rank(parts: tuple[str, ...]) -> int:
    head = parts[0].removesuffix(".py")
    return next(i for i, stage in enumerate(STAGES) if head in stage)


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")


def _imported(path: Path) -> set[tuple[str, ...]]:
    """Every package module `path` imports (at any depth of the code), as path parts."""
    here = path.relative_to(PACKAGE).parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[: len(here) - (node.level - 1)]
            target = (*base, *(node.module.split(".") if node.module else ()))
            if target:
                found.add(target)
            else:  # "from .. import x": x is a module, or a name of the package's face
                found.update((a.name,) for a in node.names if any(a.name in st for st in STAGES))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "msticnb_iforest."
        ):
            found.add(tuple(node.module.split(".")[1:]))
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_stage(path):
    own = path.relative_to(PACKAGE).parts
    for target in _imported(path):
        pair = (own[0].removesuffix(".py"), target[0])
        if _rank(target) > _rank(own) and pair not in KNOWN_UPWARD:
            pytest.fail(f"{'/'.join(own)} imports {'.'.join(target)}, a higher stage")


def _beyond_vocabulary(own: tuple[str, ...], targets: set[tuple[str, ...]]) -> list[str]:
    """The imports of a `VOCABULARY_ONLY` module that are neither vocabulary nor its own stage."""
    return sorted(".".join(t) for t in targets if t[0] != own[0] and _rank(t) != 0)


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if p.relative_to(PACKAGE).parts[0] in VOCABULARY_ONLY],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_renderers_import_only_the_vocabulary(path):
    own = path.relative_to(PACKAGE).parts
    assert _beyond_vocabulary(own, _imported(path)) == []


def _code_lines(node: ast.AST, lines: list[str]) -> int:
    body = node.body
    doc = set()
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
        doc = set(range(first.lineno, first.end_lineno + 1))
    return sum(
        1
        for number in range(node.lineno, node.end_lineno + 1)
        if number not in doc
        and lines[number - 1].strip()
        and not lines[number - 1].strip().startswith("#")
    )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_stay_small(path):
    text = path.read_text()
    lines = text.splitlines()
    assert len(lines) <= MAX_MODULE_LINES, f"{path.name}: {len(lines)} lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            size = _code_lines(node, lines)
            assert size <= MAX_FUNCTION_LINES, f"{path.name}:{node.lineno} {node.name}: {size}"


def test_the_checks_can_fail(tmp_path):
    """The measures see an upward import and a long function when there is one."""
    fake = tmp_path / "schema.py"
    fake.write_text("def f():\n" + "    x = 1\n" * 81 + "\n\nfrom .frontends import cli\n")
    tree = ast.parse(fake.read_text())
    func = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))
    assert _code_lines(func, fake.read_text().splitlines()) == 82
    upward = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert upward and _rank(("frontends",)) > _rank(("schema.py",))
    own = ("present", "report.py")
    assert _beyond_vocabulary(own, {("pipeline",), ("params",), ("present", "display")}) == [
        "pipeline"
    ]
