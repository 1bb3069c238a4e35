"""A read compiled once per process returns what the ORM's ``get`` returns, in one query."""

import pytest
from django.db import connection, transaction
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


def test_a_read_gives_the_orms_instance_and_its_related_rows_in_one_query(ticket, customer):
    CustomerProfile.objects.create(user=customer, plan="enterprise")
    expected = Ticket.objects.select_related("customer__support_profile").get(pk=ticket.pk)
    for _ in range(2):  # compiled by the first read, reused by the second
        with CaptureQueriesContext(connection) as queries:
            read = WITH_CUSTOMER.get(ticket.pk)
            assert read.customer.support_profile.plan == "enterprise"
        assert len(queries) == 1
        assert [getattr(read, f.attname) for f in Ticket._meta.concrete_fields] == [
            getattr(expected, f.attname) for f in Ticket._meta.concrete_fields
        ]
        assert read.customer.email == customer.email
        assert read._state.adding is False and read._state.db == "default"


def test_a_missing_related_row_reads_as_the_orm_says(ticket):
    read = WITH_CUSTOMER.get(ticket.pk)
    assert not hasattr(read.customer, "support_profile")


def test_a_missing_row_raises_does_not_exist(ticket):
    with pytest.raises(Ticket.DoesNotExist):
        WITH_CUSTOMER.get(ticket.pk + 1)


@pytest.mark.django_db(transaction=True)
def test_a_read_that_locks_needs_a_transaction(ticket):
    locked = CompiledGet(Ticket.objects.select_for_update())
    with pytest.raises(TransactionManagementError):
        locked.get(ticket.pk)
    with transaction.atomic():
        assert locked.get(ticket.pk).pk == ticket.pk


def test_a_queryset_with_parameters_of_its_own_is_refused(ticket):
    with pytest.raises(ValueError, match="no parameters"):
        CompiledGet(Ticket.objects.filter(subject="The export fails")).get(ticket.pk)
