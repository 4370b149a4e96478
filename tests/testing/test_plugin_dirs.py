"""Plugin directories under plain ``pytest``: tests import the plugin's code, and two plugins
with the same layout (``plugin`` package, ``tests/test_train.py``) collect together."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.filterwarnings("error")


def make_plugin(root: Path, name: str) -> Path:
    """A scaffold-shaped plugin whose test imports its code by package name."""
    (root / "plugin").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "config.yaml").write_text(
        f"name: {name}\ncode: {name}\nactions:\n  train:\n    entrypoint: plugin.train:train\n"
    )
    (root / "plugin" / "__init__.py").write_text("")
    (root / "plugin" / "train.py").write_text(
        "from synapse_sdk.plugins import action\n\n"
        f"NAME = {name!r}\n\n\n"
        "@action\n"
        "def train(params, ctx):\n"
        "    ctx.set_progress(1, 1)\n"
        "    return NAME\n"
    )
    (root / "tests" / "conftest.py").write_text(
        "import pytest\nfrom plugin.train import NAME\n\n\n"
        "@pytest.fixture\ndef plugin_name():\n    return NAME\n"
    )
    (root / "tests" / "test_train.py").write_text(
        "from pathlib import Path\n\n"
        "from plugin.train import NAME, train\n\n"
        "PLUGIN = Path(__file__).parents[1]\n\n\n"
        "def test_imports_its_own_plugin(plugin_name):\n"
        f"    assert NAME == plugin_name == {name!r}\n\n\n"
        "def test_runs_its_own_action(synapse_run):\n"
        f"    assert synapse_run(train).result == {name!r}\n"
        f"    assert synapse_run(PLUGIN, 'train').result == {name!r}\n\n\n"
        "def test_a_late_import_finds_its_own_plugin():\n"
        "    import plugin.train\n\n"
        f"    assert plugin.train.NAME == {name!r}\n"
    )
    return root


def test_a_plugins_tests_import_its_code_under_plain_pytest(pytester):
    make_plugin(pytester.path, "alpha")
    # in process, the plugin directory is not on sys.path (as with the `pytest` command)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    # one directory down, as `pytest tests/` from the plugin or `pytest myplugin` from above
    assert pytester.runpytest("-p", "no:cacheprovider", "tests").ret == 0


def test_two_plugins_with_the_same_layout_collect_and_run_together(pytester):
    make_plugin(pytester.path / "alpha", "alpha")
    make_plugin(pytester.path / "beta", "beta")
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", "alpha", "beta")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(
        [
            "alpha/tests/test_train.py::test_imports_its_own_plugin PASSED*",
            "alpha/tests/test_train.py::test_runs_its_own_action PASSED*",
            "alpha/tests/test_train.py::test_a_late_import_finds_its_own_plugin PASSED*",
            "beta/tests/test_train.py::test_imports_its_own_plugin PASSED*",
            "beta/tests/test_train.py::test_runs_its_own_action PASSED*",
            "beta/tests/test_train.py::test_a_late_import_finds_its_own_plugin PASSED*",
        ]
    )
    # interleaved (beta's test between alpha's): each still sees its own plugin
    mixed = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "alpha/tests/test_train.py::test_imports_its_own_plugin",
        "beta/tests/test_train.py::test_a_late_import_finds_its_own_plugin",
        "alpha/tests/test_train.py::test_a_late_import_finds_its_own_plugin",
    )
    mixed.assert_outcomes(passed=3)


def test_asserts_in_a_plugins_tests_are_still_rewritten(pytester):
    root = make_plugin(pytester.path / "alpha", "alpha")
    (root / "tests" / "test_fails.py").write_text(
        "from plugin.train import NAME\n\n\n"
        "def test_compare():\n"
        "    assert {'name': NAME} == {'name': 'gamma'}\n"
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "alpha/tests/test_fails.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: assert {'name': 'alpha'} == {'name': 'gamma'}",
            "E         Differing items:",
            "E         {'name': 'alpha'} != {'name': 'gamma'}",
        ]
    )


def test_an_import_error_in_a_plugins_test_says_where_the_plugin_is(pytester):
    root = make_plugin(pytester.path / "alpha", "alpha")
    (root / "tests" / "test_broken.py").write_text("from plugin.missing import thing\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "alpha/tests/test_broken.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "ImportError while importing test module '*/alpha/tests/test_broken.py'.",
            "The plugin directory */alpha is first on sys.path while its tests are imported "
            "and run, so its own packages import by name (plugin.train).",
            "Traceback:",
            "*from plugin.missing import thing",
            "E   ModuleNotFoundError: No module named 'plugin.missing'",
        ]
    )


def test_a_config_yaml_without_actions_is_not_a_plugin_directory(pytester):
    pytester.makefile(".yaml", config="settings:\n  debug: true\n")
    pytester.makepyfile(test_plain="def test_it():\n    assert __name__ == 'test_plain'\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_tests_outside_the_plugins_do_not_see_their_modules(pytester):
    make_plugin(pytester.path / "alpha", "alpha")
    pytester.makepyfile(
        test_zz_outside="""
        import importlib.util
        import sys


        def test_no_plugin_here():
            assert "plugin" not in sys.modules
            assert importlib.util.find_spec("plugin") is None
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "alpha", "test_zz_outside.py")
    result.assert_outcomes(passed=4)


def test_the_repositorys_own_tests_package_is_left_alone(pytester):
    """A repository with a `tests` package and example plugins that have `tests/` folders:
    collecting the plugins' tests must not take `tests.*` away from the repository's tests (a
    class of theirs would then no longer pickle, being another module's)."""
    make_plugin(pytester.path / "examples" / "alpha", "alpha")
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "__init__.py").write_text("")
    (pytester.path / "tests" / "test_own.py").write_text(
        "import pickle\nimport sys\n\n\n"
        "class Entry:\n    pass\n\n\n"
        "def test_its_classes_still_pickle():\n"
        "    assert sys.modules[Entry.__module__].Entry is Entry\n"
        "    pickle.dumps(Entry())\n"
    )
    # in a subprocess: this process has a `tests` package of its own already
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "examples", "tests")
    result.assert_outcomes(passed=4)
