"""Entitlements follow the user: the changes that may alter what a user's open sockets may
see, and the sockets told to check again (``entitlements_changed``).

Connected in ``EventsConfig.ready()``. Bulk queryset writes (``update()``) send no signal and
reach no socket: a user's sockets learn of those when they next connect.
"""

from django.contrib.auth import get_user_model, user_logged_out
from django.contrib.auth.models import Group as Role
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from .broadcast import entitlements_changed

User = get_user_model()
# A many-to-many change, announced where its rows are still there to be named ("pre_clear").
CHANGES = {"post_add", "post_remove", "pre_clear"}


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="stream.roles-changed")
def roles_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    # "pre_clear": the members are still there to be named; the check runs after commit.
    if action not in {"post_add", "post_remove", "pre_clear"}:
        return
    if not reverse:
        entitlements_changed(instance.pk)
    elif action == "pre_clear":
        entitlements_changed(*members(instance))
    else:
        entitlements_changed(*pk_set)


@receiver(
    m2m_changed, sender=User.user_permissions.through, dispatch_uid="stream.permissions-changed"
)
def permissions_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """The backbone's own audience (operators) follows a permission, from either side."""
    if action not in CHANGES:
        return
    if not reverse:
        entitlements_changed(instance.pk)
    elif action == "pre_clear":  # ``instance`` is the permission
        entitlements_changed(*instance.user_set.values_list("pk", flat=True))
    else:
        entitlements_changed(*pk_set)


@receiver(
    m2m_changed, sender=Role.permissions.through, dispatch_uid="stream.role-permissions-changed"
)
def role_permissions_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if action not in CHANGES:
        return
    if not reverse:
        entitlements_changed(*members(instance))
        return
    # ``instance`` is the permission; the roles that gained or lost it are named by pk.
    if action == "pre_clear":
        roles = instance.group_set.all()
    else:
        roles = Role.objects.filter(pk__in=pk_set)
    entitlements_changed(
        *User.objects.filter(groups__in=roles).values_list("pk", flat=True).distinct()
    )


@receiver(post_save, sender=Role, dispatch_uid="stream.role-renamed")
@receiver(pre_delete, sender=Role, dispatch_uid="stream.role-deleted")
def role_renamed_or_deleted(sender, instance: Role, created: bool = False, **kwargs) -> None:
    """Entitlements read roles by name: a renamed or deleted role may cost its members."""
    if not created:
        entitlements_changed(*members(instance))


def members(role: Role) -> list[int]:
    return list(role.user_set.values_list("pk", flat=True))


@receiver(post_save, sender=User, dispatch_uid="stream.user-changed")
def user_changed(sender, instance, created: bool, update_fields=None, **kwargs) -> None:
    """Deactivation, a new password (which ends its sessions), or anything an app's
    entitlement reads. Logging in, which saves ``last_login`` only, changes none of it."""
    if not created and set(update_fields or ()) != {"last_login"}:
        entitlements_changed(instance.pk)


@receiver(post_delete, sender=User, dispatch_uid="stream.user-deleted")
@receiver(post_delete, sender=Token, dispatch_uid="stream.token-deleted")
def user_or_token_deleted(sender, instance, **kwargs) -> None:
    entitlements_changed(instance.pk if sender is User else instance.user_id)


@receiver(user_logged_out, dispatch_uid="stream.logged-out")
def logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        entitlements_changed(user.pk, ended_session=request.session.session_key or "")
