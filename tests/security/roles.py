"""The people the security suites act as, and a small world of objects some of them own.

Every role is a real user with the groups and permissions that make the role, so each suite
asks the platform the same question as a person would: may *this* user do *that*?
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from rest_framework.test import APIClient

from eventplatform.events.models import Delivery, Event
from support import services as support
from support.audience import AGENTS_ROLE
from support.models import Attachment
from tests.clients import api_client_for
from tests.factories import UserFactory
from tests.training.factories import course_with_lessons
from training import services as training
from training.audience import INSTRUCTORS_ROLE
from training.models import Notification

ANONYMOUS = "anonymous"
ROLES = (
    ANONYMOUS,
    "customer",
    "other_customer",
    "agent",
    "learner",
    "other_learner",
    "instructor",
    "other_instructor",
    "staff",  # can sign in to the admin, holds no permission
    "operator",  # staff with the permissions the event admin asks for
    "superuser",
)
SIGNED_IN = ROLES[1:]

OPERATOR_PERMISSIONS = ("view_event", "view_delivery", "change_delivery")

# Users are made by the dozen here: hashing their passwords at full strength would be most of
# the suites' time, and no test here is about the hash.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass(frozen=True)
class World:
    """One user per signed-in role, and the ids of the objects the matrix points at."""

    users: dict
    ids: dict[str, int | str]
    sessions: dict[str, str]  # a signed-in session's key per role

    def api_client(self, role: str) -> APIClient:
        """A token-authenticated API client, as an external client calls the API."""
        return APIClient() if role == ANONYMOUS else api_client_for(self.users[role])

    def browser(self, role: str) -> Client:
        """A web client with a signed-in session, as a person uses the pages."""
        client = Client()
        if role != ANONYMOUS:
            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[role]
        return client


def create_cast() -> dict:
    """A user for each signed-in role, with the groups and permissions that make it."""
    agents = Group.objects.get_or_create(name=AGENTS_ROLE)[0]
    instructors = Group.objects.get_or_create(name=INSTRUCTORS_ROLE)[0]
    users = {role: UserFactory(username=role.replace("_", "-")) for role in SIGNED_IN}
    users["agent"].groups.add(agents)
    users["instructor"].groups.add(instructors)
    users["other_instructor"].groups.add(instructors)
    for role in ("staff", "operator"):
        users[role].is_staff = True
        users[role].save(update_fields=["is_staff"])
    users["operator"].user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="events", codename__in=OPERATOR_PERMISSIONS
        )
    )
    superuser = users["superuser"]
    superuser.is_staff = superuser.is_superuser = True
    superuser.save(update_fields=["is_staff", "is_superuser"])
    return users


def _session_key(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def build_world() -> World:
    """Create the cast and what they own: each object is someone's, and not everyone's."""
    users = create_cast()
    customer_ticket = support.ticket_create(
        customer=users["customer"], subject="Export is empty", body="The CSV has no rows."
    )
    reply = support.message_post(
        ticket=customer_ticket, author=users["agent"], body="Looking into it."
    )
    note = support.message_post(
        ticket=customer_ticket, author=users["agent"], body="Known bug, see #42.", internal=True
    )
    other_ticket = support.ticket_create(
        customer=users["other_customer"], subject="Password reset", body="No email arrives."
    )
    course = course_with_lessons(
        users["instructor"], "Part 1", "Part 2", title="Event-Driven Django"
    )
    draft = course_with_lessons(
        users["instructor"], "Part 1", "Part 2", title="Unpublished draft", published=False
    )
    other_course = course_with_lessons(
        users["other_instructor"], "Part 1", "Part 2", title="Channels in Depth"
    )
    open_course = course_with_lessons(
        users["other_instructor"], "Part 1", "Part 2", title="Nobody Here Yet"
    )
    enrollment = training.enrollment_create(learner=users["learner"], course=course)
    other_enrollment = training.enrollment_create(
        learner=users["other_learner"], course=other_course
    )
    notification = training.notification_create(
        recipient_id=users["learner"].pk,
        role=Notification.Role.LEARNER,
        message="Welcome to Event-Driven Django",
        event_id=Event.objects.get(
            type="training.enrollment.created.v1", payload__enrollment_id=enrollment.pk
        ).id,
        course_id=course.pk,
    )
    # A dead letter, which operators may retry.
    created = Event.objects.get(
        type="support.ticket.created.v1", payload__ticket_id=other_ticket.pk
    )
    delivery, _ = Delivery.objects.update_or_create(
        event=created,
        handler="support.crm-update",
        defaults={"status": Delivery.Status.DEAD, "attempts": 5},
    )
    reply_file, note_file = (
        Attachment.objects.create(
            message=message,
            file=default_storage.save("attachments/world/log.txt", ContentFile(b"a log")),
            filename="log.txt",
            content_type="text/plain",
            size=5,
        )
        for message in (reply, note)
    )
    return World(
        users=users,
        sessions={role: _session_key(user) for role, user in users.items()},
        ids={
            "customer_ticket": customer_ticket.pk,
            "other_customer_ticket": other_ticket.pk,
            "course": course.pk,
            "lesson": course.lessons.first().pk,
            "draft": draft.pk,
            "other_course": other_course.pk,
            "open_course": open_course.pk,
            "enrollment": enrollment.pk,
            "other_enrollment": other_enrollment.pk,
            "notification": notification.pk,
            "event": str(created.id),
            "chain": created.correlation_id,
            "delivery": delivery.pk,
            "reply_file": reply_file.pk,
            "note_file": note_file.pk,
        },
    )
