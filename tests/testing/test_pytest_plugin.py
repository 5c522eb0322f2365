"""The pytest plugin: its fixtures in a project of their own, in strict and auto mode.

Each run writes a small project into a temporary directory and runs pytest on it in a
subprocess, the way a user's suite meets the plugin: named with ``-p``, or loaded
through the ``pytest11`` entry point of the installed package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from asyncmailstats.testing import pytest_plugin

#: A user's test module: only the plugin's fixtures, markers and the public test kit.
USAGE = '''
import datetime as dt

import pytest

import asyncmailstats as ams
from asyncmailstats.testing import FakePostmark, FaultPlan

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.asyncio
async def test_session_and_fake(ams_session, fake_postmark):
    """The defaults: a small seeded dataset and an open session."""
    assert isinstance(fake_postmark, FakePostmark)
    assert fake_postmark.running
    assert len(fake_postmark.messages) == 200
    pm = ams_session.postmark(server_token=fake_postmark.token, base_url=fake_postmark.url)
    got = await pm.opens(message_stream="outbound").to_list()
    assert got == [o for o in fake_postmark.open_models() if o.message_stream == "outbound"]


@pytest.mark.asyncio
@pytest.mark.fake_postmark(messages=300, seed=4, now=NOW)
@pytest.mark.ams_session(retry=ams.RetryPolicy(max_attempts=10))
async def test_nothing_lost_under_faults(fake_postmark, postmark_api):
    """Every open arrives exactly once through 429s, 5xx, resets and cut bodies."""
    fake_postmark.set_faults(
        FaultPlan(rate_limit=0.1, server_error=0.2, reset=0.05, truncate=0.05, seed=9)
    )
    got = await postmark_api.opens(message_stream="outbound", page_size=10).to_list()
    want = [o for o in fake_postmark.open_models() if o.message_stream == "outbound"]
    assert got == want
    assert sum(fake_postmark.faults_injected.values()) > 0


@pytest.mark.asyncio
@pytest.mark.fake_postmark(messages=30, faults=FaultPlan(server_error=0.5, seed=1))
async def test_faults_from_the_marker(postmark_api, fake_postmark):
    got = await postmark_api.outbound_messages(page_size=5).to_list()
    assert len(got) == len(fake_postmark.search_messages({"messagestream": "outbound"}))
    assert fake_postmark.faults_injected["server_error"] > 0


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "fake_getresponse", [{"messages": 5}, {"messages": 12, "seed": 3}], indirect=True
)
async def test_indirect(fake_getresponse, getresponse_api):
    assert len(fake_getresponse.messages) in {5, 12}
    listed = {"newsletter", "autoresponder"}
    want = [m for m in fake_getresponse.message_models().values() if m.type in listed]
    assert await getresponse_api.messages() == want
    for message in want:
        got = await getresponse_api.message_stats(message.id, grouping="daily")
        assert got == fake_getresponse.stats_models(message.id, "daily")


@pytest.mark.asyncio
@pytest.mark.fake_emailconsul(link_logs=50, seed=2, now=NOW)
async def test_emailconsul(emailconsul_api, fake_emailconsul):
    query = {"period_from": NOW - dt.timedelta(days=31), "period_to": NOW, "group": "country"}
    got = await emailconsul_api.link_stats(**query).to_list()
    assert got == fake_emailconsul.link_stat_models(**query)
    assert sum(row.count for row in got) == 50


def test_without_fixtures():
    """A test that asks for nothing is untouched by the plugin."""
    assert True
'''

STRICT_INI = """
[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""

AUTO_INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""

#: In auto mode the same tests run without ``@pytest.mark.asyncio``.
AUTO_USAGE = USAGE.replace("@pytest.mark.asyncio\n", "")

#: What both modules give: every test passes.
EXPECTED = {"tests": 7, "failures": 0, "errors": 0, "skipped": 0}


def _run(project: Path, *args: str, autoload: bool = True) -> tuple[dict[str, int], str]:
    """Run pytest on *project* in a subprocess; return the outcome counts and the output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    if not autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    report = project / "report.xml"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--junitxml={report}",
        *args,
    ]
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        command, cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    output = done.stdout + done.stderr
    if not report.exists():
        pytest.fail(f"pytest wrote no report (exit {done.returncode}):\n{output}")
    suite = ET.parse(report).getroot()  # noqa: S314 - a report we just wrote
    if suite.tag == "testsuites":
        suite = suite[0]
    counts = {key: int(suite.get(key, "0")) for key in EXPECTED}
    return counts, output


def _setup_errors(project: Path) -> dict[str, str]:
    """The text of each error in the last run's report, by test name."""
    root = ET.parse(project / "report.xml").getroot()  # noqa: S314 - a report we just wrote
    return {
        case.get("name", ""): f"{error.get('message', '')}\n{error.text or ''}"
        for case in root.iter("testcase")
        for error in case.iter("error")
    }


def _project(tmp_path: Path, ini: str, module: str) -> Path:
    (tmp_path / "pytest.ini").write_text(textwrap.dedent(ini))
    (tmp_path / "test_usage.py").write_text(module)
    return tmp_path


def test_strict_mode_with_the_plugin_named(tmp_path: Path) -> None:
    """``-p asyncmailstats.testing.pytest_plugin`` in strict mode, nothing auto-loaded."""
    project = _project(tmp_path, STRICT_INI, USAGE)
    counts, output = _run(
        project, "-p", "asyncio", "-p", "asyncmailstats.testing.pytest_plugin", autoload=False
    )
    assert counts == EXPECTED, output


def test_strict_mode_through_the_entry_point(tmp_path: Path) -> None:
    """The installed entry point loads the plugin without any ``-p``."""
    project = _project(tmp_path, STRICT_INI, USAGE)
    counts, output = _run(project)
    assert counts == EXPECTED, output


def test_auto_mode_through_the_entry_point(tmp_path: Path) -> None:
    """In auto mode the tests need no asyncio mark."""
    project = _project(tmp_path, AUTO_INI, AUTO_USAGE)
    counts, output = _run(project)
    assert counts == EXPECTED, output


def test_naming_the_plugin_while_it_is_auto_loaded(tmp_path: Path) -> None:
    """``-p`` with the module's name next to the entry point loads the plugin once."""
    project = _project(tmp_path, STRICT_INI, USAGE)
    counts, output = _run(project, "-p", "asyncmailstats.testing.pytest_plugin")
    assert counts == EXPECTED, output


def test_without_pytest_asyncio_the_fixtures_say_why(tmp_path: Path) -> None:
    """With pytest-asyncio off, asking for a fixture is a clear setup error; nothing else breaks."""
    module = textwrap.dedent(
        """
        def test_asks_for_a_fake(fake_postmark):
            pass

        def test_asks_for_a_session(ams_session):
            pass

        def test_asks_for_nothing():
            pass
        """
    )
    project = _project(tmp_path, "[pytest]\nfilterwarnings = error\n", module)
    counts, output = _run(project, "-p", "no:asyncio")
    assert counts == {"tests": 3, "failures": 0, "errors": 2, "skipped": 0}, output
    # Read per test from the report: the terminal's summary lines are cut to its width
    # unless the CI variable is set, so counting in the output depends on the machine.
    errors = _setup_errors(project)
    assert sorted(errors) == ["test_asks_for_a_fake", "test_asks_for_a_session"], output
    for text in errors.values():
        assert "need the pytest-asyncio plugin, which is disabled" in text, output


def test_a_bad_option_is_reported(tmp_path: Path) -> None:
    """Positional marker arguments, non-mapping parameters and unknown options fail setup."""
    module = textwrap.dedent(
        """
        import pytest

        pytestmark = pytest.mark.asyncio

        @pytest.mark.fake_postmark(10)
        async def test_positional(fake_postmark):
            pass

        @pytest.mark.parametrize("fake_getresponse", [7], indirect=True)
        async def test_not_a_mapping(fake_getresponse):
            pass

        @pytest.mark.fake_emailconsul(colour="blue")
        async def test_unknown(fake_emailconsul):
            pass
        """
    )
    project = _project(tmp_path, STRICT_INI, module)
    counts, output = _run(project, "-rE")
    assert counts == {"tests": 3, "failures": 0, "errors": 3, "skipped": 0}, output
    assert "takes keyword options only" in output, output
    assert "must be a mapping of options, got int" in output, output
    assert "colour" in output, output


def test_the_plugin_is_inert() -> None:
    """Only fixtures and pytest_configure: no autouse fixture, no other hook."""
    hooks = {name for name in vars(pytest_plugin) if name.startswith("pytest_")}
    assert hooks == {"pytest_configure"}
    fixtures: dict[str, Any] = {
        name: obj
        for name, obj in vars(pytest_plugin).items()
        if type(obj).__name__ == "FixtureFunctionDefinition"
    }
    assert set(fixtures) == {
        "_asyncmailstats_asyncio",
        "ams_session",
        "emailconsul_api",
        "fake_emailconsul",
        "fake_getresponse",
        "fake_postmark",
        "getresponse_api",
        "postmark_api",
    }
    for obj in fixtures.values():
        marker = obj._fixture_function_marker
        assert marker.autouse is False
        assert marker.scope == "function"


def test_loading_the_plugin_loads_no_fake() -> None:
    """The fakes, aiohttp's server and the provider clients load only when a fixture is used."""
    code = (
        "import sys, asyncmailstats.testing.pytest_plugin\n"
        "names = ('aiohttp.web', 'asyncmailstats.testing._server',"
        " 'asyncmailstats.testing._postmark', 'asyncmailstats.testing._getresponse',"
        " 'asyncmailstats.testing._emailconsul')\n"
        "print(sorted(n for n in names if n in sys.modules))\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_defaults_are_read_only() -> None:
    """The documented defaults cannot be changed by accident from a test."""
    assert pytest_plugin.FAKE_DEFAULTS["fake_postmark"]["seed"] == 0
    with pytest.raises(TypeError):
        pytest_plugin.FAKE_DEFAULTS["fake_postmark"]["seed"] = 1  # type: ignore[index]
