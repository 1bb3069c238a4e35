"""The figures fault tests record, printed at the end of the run: docs/reliability.md holds
those of the last clean-clone run. The hooks are the root conftest's, so that a run on several
processes (pytest-xdist) prints what each of its workers recorded."""

import statistics

import pytest

FIGURES: dict[str, list[float]] = {}
WORKER_OUTPUT = "reliability_figures"


def record(name: str, value: float) -> None:
    FIGURES.setdefault(name, []).append(value)


def pytest_sessionfinish(session):
    if hasattr(session.config, "workeroutput"):  # a pytest-xdist worker, ending
        session.config.workeroutput[WORKER_OUTPUT] = FIGURES


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    for name, values in node.workeroutput.get(WORKER_OUTPUT, {}).items():
        FIGURES.setdefault(name, []).extend(values)


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    for name, values in FIGURES.items():
        terminalreporter.write_line(
            f"{name}: n={len(values)} median={statistics.median(values):.2f} max={max(values):.2f}"
        )
