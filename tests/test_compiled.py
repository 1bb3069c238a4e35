"""A read compiled once returns what the ORM's ``get`` returns, in one query."""

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from eventplatform.compiled import CompiledGet
from support import services
from support.models import CustomerProfile, Ticket

pytestmark = pytest.mark.django_db

WITH_CUSTOMER = CompiledGet(Ticket.objects.select_related("customer__support_profile"))


@pytest.fixture
def ticket(customer):
    return services.ticket_create(customer=customer, subject="The export fails", body="Since 9:00.")


def columns(instance) -> list:
    return [getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields]


def test_a_read_gives_the_orms_instance_and_its_related_rows_in_one_query(ticket, customer):
    CustomerProfile.objects.create(user=customer, plan="enterprise")
    expected = Ticket.objects.select_related("customer__support_profile").get(pk=ticket.pk)
    for _ in range(2):  # compiled by the first read, reused by the second
        with CaptureQueriesContext(connection) as queries:
            read = WITH_CUSTOMER.get(ticket.pk)
            assert read.customer.support_profile.plan == "enterprise"
        assert len(queries) == 1
        assert columns(read) == columns(expected)
        assert columns(read.customer) == columns(expected.customer)
        assert read._state.adding is False and read._state.db == "default"


def test_a_read_converts_its_columns_as_the_orm_does(ticket):
    read = WITH_CUSTOMER.get(ticket.pk)
    assert read.created_at == ticket.created_at and read.created_at.tzinfo is not None


def test_a_missing_related_row_reads_as_the_orm_says(ticket):
    read = WITH_CUSTOMER.get(ticket.pk)
    assert not hasattr(read.customer, "support_profile")


def test_no_row_or_several_raise_as_get_does(ticket, customer):
    with pytest.raises(Ticket.DoesNotExist):
        WITH_CUSTOMER.get(ticket.pk + 1)
    for text in ("First", "Second"):
        services.message_post(ticket=ticket, author=customer, body=text)
    with pytest.raises(Ticket.MultipleObjectsReturned):
        CompiledGet(Ticket.objects.filter(messages__isnull=False)).get(ticket.pk)


@pytest.mark.django_db(transaction=True)
def test_a_read_that_locks_outside_a_transaction_fails_where_the_orms_fails(ticket):
    def refused(read) -> bool:
        try:
            read()
        except TransactionManagementError:
            return True
        return False

    locked = CompiledGet(Ticket.objects.select_for_update())
    with transaction.atomic():
        assert locked.get(ticket.pk).pk == ticket.pk
    orm_refuses = refused(lambda: Ticket.objects.select_for_update().get(pk=ticket.pk))
    assert refused(lambda: locked.get(ticket.pk)) == orm_refuses
    assert orm_refuses == (connection.vendor == "postgresql")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite does not lock rows")
def test_prioritisation_locks_the_ticket_alone(ticket):
    with CaptureQueriesContext(connection) as queries:
        services.ticket_prioritise(ticket_id=ticket.pk)
    (read,) = [q["sql"] for q in queries if "FOR UPDATE" in q["sql"]]
    assert read.endswith('FOR UPDATE OF "support_ticket"')


@pytest.mark.parametrize(
    "queryset",
    [
        Ticket.objects.filter(subject="The export fails"),
        Ticket.objects.annotate(messages_count=Count("messages")),
        Ticket.objects.prefetch_related("messages"),
        Ticket.objects.values("subject"),
    ],
    ids=["parameters", "annotation", "prefetch", "values"],
)
def test_what_the_orm_adds_after_the_rows_are_read_is_refused(queryset, ticket):
    with pytest.raises(ValueError):
        CompiledGet(queryset).get(ticket.pk)
