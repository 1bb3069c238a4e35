"""docs/events.md is the catalog as declared: generated, and checked for staleness."""

import pytest
from django.core.management import CommandError, call_command

from eventplatform.events.documentation import catalog_markdown
from tests.events import sample


def test_the_committed_catalog_matches_the_declarations():
    call_command("document_events", "--check")


def test_a_stale_catalog_fails_the_check(tmp_path):
    stale = tmp_path / "events.md"
    stale.write_text(catalog_markdown().replace("support.reply-email", "support.old-name"))

    with pytest.raises(CommandError, match="stale"):
        call_command("document_events", "--check", "--output", str(stale))


def test_each_type_shows_who_sees_it_and_what_reacts():
    document = catalog_markdown()
    note = document.split("## `support.ticket.note_added.v1`")[1].split("\n## ")[0]

    assert "- **Audience:** `agents`\n" in note, "customers never see internal notes"
    assert "| `body` | string |" in note
    created = document.split("## `training.enrollment.created.v1`")[1].split("\n## ")[0]
    assert "`instructor.<instructor_id>`, `user.<learner_id>`" in created
    assert "`training.onboarding-email`" in created


def test_only_the_installed_apps_types_are_documented():
    assert sample.WIDGET_ORDERED.name.startswith("sample.")  # declared in this process
    assert "sample." not in catalog_markdown()
