"""``synapse new NAME``: scaffold a plugin that runs and tests as generated."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from ._output import EXIT_OK

__all__ = ["register", "scaffold"]

# the action a new plugin starts with, per category
_DEFAULT_ACTION = {
    "neural_net": "train",
    "export": "export",
    "upload": "upload",
    "smart_tool": "predict",
    "pre_annotation": "annotate",
    "post_annotation": "annotate",
    "data_validation": "validate",
    "custom": "run",
}


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "new",
        help="create a new plugin",
        description="Create directory NAME with config.yaml, one typed action and a test "
        "that uses the synapse_testing fixtures. `synapse run NAME ACTION` and `pytest NAME` "
        "work right away.",
    )
    parser.add_argument("name", metavar="NAME", help="plugin directory to create")
    parser.add_argument(
        "--category",
        default="custom",
        choices=sorted(_DEFAULT_ACTION),
        help="plugin category (default: custom)",
    )
    parser.add_argument("--action", help="name of the first action (default: from the category)")
    parser.add_argument(
        "--force", action="store_true", help="write into NAME even when it is not empty"
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
    name, and ConfigError when ``directory`` is not empty (unless ``force``).
    """
    from ..plugins.errors import ConfigError, ValidationError, did_you_mean

    if category not in _DEFAULT_ACTION:
        guess = did_you_mean(category, _DEFAULT_ACTION)
        raise ValidationError(
            f"unknown plugin category {category!r}",
            hint=f"did you mean {guess!r}?"
            if guess
            else "use one of: " + ", ".join(sorted(_DEFAULT_ACTION)),
        )
    root = Path(directory)
    if root.exists() and any(root.iterdir()) and not force:
        raise ConfigError(
            f"{root} already exists and is not empty",
            path=str(root),
            hint="choose another name, or pass --force to write into it",
        )
    title = root.resolve().name
    code = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "plugin"
    action_name = _identifier(action or _DEFAULT_ACTION[category], "action name")
    cls = "".join(part.capitalize() for part in action_name.split("_"))
    description = f"{action_name.replace('_', ' ').capitalize()} with the {title} plugin."
    values = {
        "title": title,
        "code": code,
        "category": category,
        "action": action_name,
        "cls": cls,
        "category_member": category.upper(),
        "description": description,
    }
    files = {
        "config.yaml": _CONFIG,
        "README.md": _README,
        "plugin/__init__.py": '"""Code of the {title} plugin."""\n',
        f"plugin/{action_name}.py": _ACTION,
        f"tests/test_{action_name}.py": _TEST,
    }
    written = []
    for rel, template in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values), encoding="utf-8")
        written.append(path)
    return written


def new_command(args: argparse.Namespace) -> int:
    written = scaffold(args.name, category=args.category, action=args.action, force=args.force)
    root = Path(args.name)
    for path in written:
        print(f"created {path}")
    action = written[-1].stem[len("test_") :]
    print(
        f"\nnext:\n  synapse run {root} {action} -p steps=3\n  synapse actions {root}\n"
        f"  python -m pytest {root}",
        file=sys.stderr,
    )
    return EXIT_OK


_CONFIG = """\
# {title}: a synapse-sdk plugin (created by `synapse new`).
#   run it:   synapse run . {action} -p steps=3
#   test it:  python -m pytest
#   after editing the code: synapse sync .
name: {title}
code: {code}
version: 0.1.0
category: {category}
description: A {category} plugin.
readme: README.md

package_manager: pip

actions:
  {action}:
    entrypoint: plugin.{action}:{cls}Action
    method: task
    description: {description}
"""

_README = """\
# {title}

A synapse-sdk plugin.

```console
synapse actions .                       # list the actions
synapse run . {action} -p steps=3        # run one
synapse schema . {action}                # its params and result schema
python -m pytest                        # run the tests
```
"""

_ACTION = '''\
"""The `{action}` action."""

from pydantic import BaseModel, Field

from synapse_sdk.plugins import BaseAction
from synapse_sdk.plugins.enums import PluginCategory


class {cls}Params(BaseModel):
    steps: int = Field(default=3, ge=1, le=1000, description="How many steps to run")
    message: str = Field(default="hello", description="What to return")


class {cls}Result(BaseModel):
    message: str
    steps: int


class {cls}Action(BaseAction[{cls}Params]):
    """{description}"""

    category = PluginCategory.{category_member}
    result_model = {cls}Result

    def execute(self) -> {cls}Result:
        for step in range(self.params.steps):
            self.set_progress(step + 1, self.params.steps, step="{action}")
        self.set_metrics({{"steps_done": self.params.steps}}, step="{action}")
        return {cls}Result(message=self.params.message, steps=self.params.steps)
'''

_TEST = '''\
"""Tests of the `{action}` action (fixtures from synapse_testing, installed with synapse-sdk)."""

from pathlib import Path

from synapse_testing import assert_progress_complete

PLUGIN = Path(__file__).resolve().parent.parent


def test_{action}_returns_the_message(synapse_run):
    run = synapse_run(PLUGIN, "{action}", {{"steps": 2, "message": "hi"}})
    assert run.result.message == "hi"
    assert run.result.steps == 2
    assert_progress_complete(run, step="{action}")
'''
