"""Apps declare their own realtime audiences; the backbone names no role."""

import pytest
from django.contrib.auth.models import Group as Role

from eventplatform.events import audience
from eventplatform.events.audience import Group, entitlement, groups_for_user
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(monkeypatch):
    """Entitlements declared by a test are forgotten after it."""
    monkeypatch.setattr(audience, "_entitlements", list(audience._entitlements))


def test_a_new_app_adds_its_audience_without_editing_the_backbone(registry):
    @entitlement
    def reviewers_see_reviews(user, roles):
        return [Group("reviewers")] if "reviewers" in roles else []

    reviewer = UserFactory(username="reviewer")
    reviewer.groups.add(Role.objects.create(name="reviewers"))
    author = UserFactory(username="author")

    assert "reviewers" in groups_for_user(reviewer)
    assert groups_for_user(author) == [f"user.{author.pk}"]


def test_agents_and_instructors_are_the_apps_own_audiences(agent, instructor):
    assert groups_for_user(agent) == [f"user.{agent.pk}", "agents"]
    assert groups_for_user(instructor) == [f"user.{instructor.pk}", f"instructor.{instructor.pk}"]
