"""``synapse new NAME``: scaffold a plugin that runs and tests as generated.

Each category starts on its base class (see :mod:`._scaffolds`): a neural_net plugin gets
``BaseTrainAction`` (dataset, checkpoint, ``create_model``) and an inference action, an export
plugin ``BaseExportAction`` with its output dir, an upload plugin ``DefaultUploadAction`` with
a step of its own, and so on; with tests on the synapse_testing kit, the first snapshot, a
notebook, a ``pytest.ini`` (plain ``pytest`` imports the plugin's code) and sample data.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from string import Template
from typing import Any

from ._output import EXIT_OK
from ._scaffolds import BLUEPRINTS, Blueprint, notebook_json

__all__ = ["register", "scaffold"]


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "new",
        help="create a new plugin",
        description="Create directory NAME with config.yaml, actions built on the category's "
        "base class, tests with the synapse_testing fixtures and their first snapshot, a "
        "notebook and a pytest.ini. `pytest` in NAME passes right away.",
    )
    parser.add_argument("name", metavar="NAME", help="plugin directory to create")
    parser.add_argument(
        "--category",
        default="custom",
        choices=sorted(BLUEPRINTS),
        help="plugin category (default: custom)",
    )
    parser.add_argument("--action", help="name of the first action (default: from the category)")
    parser.add_argument(
        "--force", action="store_true", help="write into NAME even when it is not empty"
    )
    parser.add_argument(
        "--no-snapshot",
        action="store_true",
        help="do not run the new tests once to write their first snapshot",
    )
    parser.set_defaults(handler=new_command)
    return parser


def _identifier(text: str, what: str) -> str:
    from ..plugins.errors import ValidationError

    ident = re.sub(r"\W+", "_", text.strip()).strip("_").lower()
    if not ident or ident[0].isdigit():
        raise ValidationError(
            f"{what} {text!r} cannot be turned into a Python name",
            hint="use letters, digits and underscores, starting with a letter",
        )
    return ident


def scaffold(
    directory: str | Path,
    *,
    category: str = "custom",
    action: str | None = None,
    force: bool = False,
) -> list[Path]:
    """Write a new plugin into ``directory``; return the files written.

    Raises ValidationError for an unknown ``category`` or an ``action`` that is no Python
    name (or the name of the category's other action), and ConfigError when ``directory`` is
    not empty (unless ``force``). The first snapshot is not written here: see
    :func:`write_first_snapshot`.
    """
    from ..plugins.errors import ConfigError, ValidationError, did_you_mean

    blueprint = BLUEPRINTS.get(category)
    if blueprint is None:
        guess = did_you_mean(category, BLUEPRINTS)
        raise ValidationError(
            f"unknown plugin category {category!r}",
            hint=f"did you mean {guess!r}?"
            if guess
            else "use one of: " + ", ".join(sorted(BLUEPRINTS)),
        )
    root = Path(directory)
    if root.exists() and any(root.iterdir()) and not force:
        raise ConfigError(
            f"{root} already exists and is not empty",
            path=str(root),
            hint="choose another name, or pass --force to write into it",
        )
    title = root.resolve().name
    main, *others = blueprint.actions
    name = _identifier(action or main.name, "action name")
    if name in {a.name for a in others}:
        raise ValidationError(
            f"action name {name!r} is taken by the {category} plugin's other action",
            hint="choose another name for the first action",
        )
    values = {
        "title": title,
        "code": re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "plugin",
        "package": _identifier(title, "plugin name") if re.search(r"[A-Za-z]", title) else "plugin",
        "category": category,
        "action": name,
        "module": name,
        "Cls": _class_name(name),
        "description": main.description,
        "dir": ".",
    }
    values["title_yaml"] = json.dumps(title)  # a JSON string is a YAML string, quoted
    files = _files(blueprint, values, others)
    written = []
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _class_name(action: str) -> str:
    return "".join(part.capitalize() for part in action.split("_"))


def _files(blueprint: Blueprint, values: dict[str, str], others: list[Any]) -> dict[str, str]:
    """Relative path -> text of every file of the new plugin."""
    main = blueprint.actions[0]
    actions = [(values["action"], values["module"], values["Cls"], main.description)]
    actions += [(a.name, a.module, a.cls or _class_name(a.name), a.description) for a in others]
    entries = "".join(
        f"  {name}:\n"
        f"    entrypoint: plugin.{module}:{cls}Action\n"
        f"    method: task\n"
        f"    description: {description}\n"
        for name, module, cls, description in actions
    )
    files = {
        "config.yaml": Template(_CONFIG).substitute(values, actions=entries),
        "README.md": _readme(blueprint, values),
        "pytest.ini": _PYTEST_INI,
        "plugin/__init__.py": f'"""Code of the {values["title"]} plugin."""\n',
    }
    modules = dict(blueprint.modules)
    files[f"plugin/{values['module']}.py"] = Template(modules.pop(main.module)).substitute(values)
    for module, template in modules.items():
        files[f"plugin/{module}.py"] = Template(template).substitute(values)
    files[f"tests/test_{values['package']}.py"] = Template(blueprint.tests).substitute(values)
    for name, text in blueprint.sample_data.items():
        files[f"sample_data/{name}"] = text + "\n"
    needs_backend = blueprint.category not in ("custom", "smart_tool", "pre_annotation")
    files["notebook.ipynb"] = notebook_json(
        values["title"], [name for name, *_ in actions], needs_backend
    )
    return files


def _readme(blueprint: Blueprint, values: dict[str, str]) -> str:
    rows = [
        ("pytest", "run the tests (the first snapshot is in tests/__snapshots__/)"),
        ("pytest --snapshot-update", "after a deliberate change: write the snapshots again"),
        ("synapse actions .", "list the actions"),
        (f"synapse schema . {values['action']}", "the params and result of an action"),
        *((Template(cmd).substitute(values), what) for cmd, what in blueprint.try_it),
        ("jupyter lab notebook.ipynb", "a form and a live panel per action"),
        ("synapse sync .", "after adding an action: update config.yaml"),
    ]
    width = max(len(cmd) for cmd, _ in rows) + 2
    lines = "\n".join(f"{cmd:<{width}}# {what}" for cmd, what in rows)
    return Template(_README).substitute(values, base=blueprint.base, commands=lines)


def write_first_snapshot(root: Path) -> tuple[bool, str]:
    """Run the new plugin's tests once with ``--snapshot-update`` (in a subprocess, as a user
    would); return (it passed, pytest's last line)."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--snapshot-update"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=300,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return done.returncode == 0, lines[-1] if lines else done.stderr.strip()[-200:]


def new_command(args: argparse.Namespace) -> int:
    written = scaffold(args.name, category=args.category, action=args.action, force=args.force)
    root = Path(args.name)
    for path in written:
        print(f"created {path}")
    blueprint = BLUEPRINTS[args.category]
    here = shlex.quote(str(root))
    if not args.no_snapshot:
        ok, last = write_first_snapshot(root)
        if ok:
            print(f"wrote the first snapshot ({last})", file=sys.stderr)
        else:
            print(
                f"could not write the first snapshot ({last}): "
                f"run `cd {here} && pytest --snapshot-update` once",
                file=sys.stderr,
            )
    action = args.action or blueprint.actions[0].name
    print(
        f"\nnext ({blueprint.base}):\n  cd {here}\n  pytest\n"
        f"  synapse run . {shlex.quote(_identifier(action, 'action name'))} --help\n"
        "  jupyter lab notebook.ipynb",
        file=sys.stderr,
    )
    return EXIT_OK


_PYTEST_INI = """\
[pytest]
# plain `pytest` here imports the plugin's code (`from plugin.module import ...`)
pythonpath = .
testpaths = tests
"""

_CONFIG = """\
# ${title}: a synapse-sdk plugin (created by `synapse new`).
#   test it:  pytest
#   after editing the code: synapse sync .
name: ${title_yaml}
code: ${code}
version: 0.1.0
category: ${category}
description: A ${category} plugin.
readme: README.md

package_manager: pip

actions:
${actions}"""

_README = """\
# ${title}

A synapse-sdk ${category} plugin, built on `${base}`.

```console
${commands}
```

- `plugin/`: the actions (`config.yaml` names their entrypoints).
- `tests/`: tests with the synapse_testing fixtures (`synapse_run`, `synapse_backend`,
  `synapse_snapshot`); `pytest.ini` puts this folder on the import path.
- `notebook.ipynb`: a panel per action (needs `pip install 'synapse-sdk[notebook]' jupyterlab`).
"""
