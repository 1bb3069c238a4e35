"""How each kind of process holds its PostgreSQL connections."""

import subprocess
import sys

import pytest
from django.db import connection

from tests.stack import ROOT, stack_env

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
    ),
]

# With the settings of the command named after it (``python -c ... qcluster``): one statement
# six times on its connection, then how many statements PostgreSQL holds prepared for it.
REPEAT_A_READ = """
import django
django.setup()
from django.db import connection
from eventplatform.events.models import Delivery
for _ in range(6):
    Delivery.objects.filter(pk=1).exists()
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM pg_prepared_statements")
    print(cursor.fetchone()[0])
"""


def prepared_after_repeating_a_read(command: str) -> int:
    env = stack_env(DJANGO_SETTINGS_MODULE="eventplatform.settings")
    done = subprocess.run(
        [sys.executable, "-c", REPEAT_A_READ, command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


def test_a_worker_prepares_what_it_runs_again_and_again():
    assert prepared_after_repeating_a_read("qcluster") == 1


@pytest.mark.parametrize("command", ["run_scheduler", "runserver"])
def test_the_scheduler_and_web_processes_prepare_nothing(command):
    # The scheduler's looks need plans made for their own parameters (settings.py).
    assert prepared_after_repeating_a_read(command) == 0
