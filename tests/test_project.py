"""Project files: environment.yml matches the declared dependencies and the lock;
notebooks are committed thin and without outputs; data stays out of git."""

from __future__ import annotations

import json
import re
import tomllib

import yaml
from conftest import ROOT


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.lower())


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + project["optional-dependencies"]["dev"]
    return {_norm(re.split(r"[<>=!~ \[;]", d)[0]) for d in deps}


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[_norm(name)] = version.strip()
    return pins


def _conda() -> dict[str, str]:
    """Pins of environment.yml: conda packages and those its pip section installs."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = [d for d in env["dependencies"] if isinstance(d, str)]
    deps += next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pins = {}
    for dep in deps:
        if "==" in dep:
            name, version = dep.split("==")
            pins[_norm(name)] = version
        else:  # only conda's own pip, python and the editable install of the project
            assert dep in ("pip", "python=3.11", "--no-deps", "-e ."), dep
    return pins


def test_environment_yml_lists_exactly_the_declared_dependencies():
    assert set(_conda()) == _declared()


def test_environment_yml_pins_the_locked_versions():
    lock = _lock()
    assert {name: lock[name] for name in _conda()} == _conda()


def test_lock_pins_every_declared_dependency():
    assert _declared() <= set(_lock())


def test_environment_yml_uses_python_311():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]


def _notebooks():
    paths = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert paths, "no notebooks found"
    return [(p, json.loads(p.read_text())) for p in paths]


def test_notebooks_have_no_outputs():
    for path, nb in _notebooks():
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell["outputs"] and cell["execution_count"] is None, path.name


def test_notebooks_define_no_functions():
    for path, nb in _notebooks():
        for cell in nb["cells"]:
            src = "".join(cell["source"])
            assert not re.search(r"^\s*(def|class)\s", src, re.M), path.name


def test_notebooks_have_a_typed_parameters_cell():
    for path, nb in _notebooks():
        params = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(params) == 1, path.name
        for line in "".join(params[0]["source"]).splitlines():
            if line and not line.startswith("#"):
                assert re.match(r"^\w+: [\w| ]+ = .+  # .+", line), f"{path.name}: {line}"


def test_gitignore_keeps_data_and_reports_out():
    text = (ROOT / ".gitignore").read_text()
    for folder in ("data/raw", "data/processed", "reports"):
        assert f"{folder}/*" in text and f"!{folder}/README.md" in text
        assert (ROOT / folder / "README.md").is_file()


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci/run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make reports" in readme
