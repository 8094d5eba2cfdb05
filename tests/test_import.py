import ast
import json
import re
import subprocess
import sys
from pathlib import Path

COURSE = Path(__file__).resolve().parent.parent / "course"

PROBE = """
import json, sys
import course
alone = sorted(m for m in sys.modules if m.startswith("course.") or m in ("numpy", "torch"))
import course.autodiff, course.neuron, course.gradcheck, course.graph
import course.twolayer, course.data, course.layers, course.mlp, course.losses, course.optim
heavy = [m for m in ("torch", "matplotlib") if m in sys.modules]
print(json.dumps({"alone": alone, "heavy": heavy}))
"""


def _probe():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_course_scalar_and_numpy_modules_loads_neither_torch_nor_matplotlib():
    assert _probe()["heavy"] == []


def test_import_course_alone_loads_no_submodule_and_not_numpy():
    """The package is import-light: each concept loads where it is used."""
    assert _probe()["alone"] == []


def _map_rows() -> dict[str, str]:
    """course/__init__.py's map: module name -> the text of its row (continuation lines too)."""
    import course

    table = course.__doc__.split("====\n", 2)[2]
    rows: dict[str, str] = {}
    name = None
    for line in table.splitlines():
        if line.startswith("=") or not line.strip():
            continue
        if not line[0].isspace():
            name = line.split()[0].rstrip("/")
            rows[name] = line
        elif name is not None:
            rows[name] += " " + line.strip()
    return rows


def _modules() -> list[tuple[str, str]]:
    """(package, module) for every module file under course/; package '' for the top level."""
    found = []
    for path in sorted(COURSE.rglob("*.py")):
        parts = path.relative_to(COURSE).with_suffix("").parts
        if parts[-1] in ("__init__", "__main__") and len(parts) == 1:
            continue
        package = "/".join(parts[:-1])
        found.append((package, parts[-1] if parts[-1] != "__init__" else package))
    return found


def test_the_map_in_course_init_names_every_module_and_nothing_else():
    rows = _map_rows()
    missing = []
    for package, module in _modules():
        if not package:
            ok = module in rows
        elif module == package:
            ok = package in rows
        else:
            word = "lessonNN" if re.fullmatch(r"lesson\d\d", module) else module
            ok = package in rows and re.search(rf"\b{word}\b", rows[package]) is not None
        if not ok:
            missing.append(f"{package}/{module}" if package else module)
    assert not missing, f"course/__init__.py's map does not name: {missing}"
    stale = [name for name in rows if not (COURSE / f"{name}.py").is_file()
             and not (COURSE / name / "__init__.py").is_file()]
    assert not stale, f"the map names modules that do not exist: {stale}"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_widgets_and_tools_import_the_widgets_so_no_import_circle_exists():
    offenders = [
        str(path.relative_to(COURSE))
        for path in sorted(COURSE.rglob("*.py"))
        if path.relative_to(COURSE).parts[0] not in ("widgets", "tools")
        and any(name == "course.widgets" or name.startswith("course.widgets.")
                for name in _imports(path))
    ]
    assert not offenders, f"plain modules importing course.widgets: {offenders}"


def test_no_private_name_is_imported_from_another_course_module():
    private = [
        f"{path.relative_to(COURSE)}: from {node.module} import {alias.name}"
        for path in sorted(COURSE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course")
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert not private, "private names imported across modules:\n" + "\n".join(private)
