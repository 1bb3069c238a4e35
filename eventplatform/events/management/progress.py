"""A progress bar for the backbone's long-running commands."""

from django.core.management.base import OutputWrapper

WIDTH = 30


def show_progress(stdout: OutputWrapper, done: int, total: int) -> None:
    """Redraw ``[#####.....] done/total`` in place."""
    filled = WIDTH * done // total if total else WIDTH
    stdout.write(f"\r[{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total}", ending="")
    stdout.flush()
