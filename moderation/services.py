"""Reports, hiding, the moderators' decisions on them, bans and the audit trail."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Max, OuterRef
from django.utils import timezone

from contributors.models import BANNED_FOR_GOOD, Contributor, TrustLevel
from core.errors import DomainError
from core.events import announce
from core.ratelimits import network_of
from donations.models import Image, ImageStatus
from donations.services import image_files_delete, image_files_protect, image_status_set

from . import alerts, live
from .models import (
    ActionKind,
    Alert,
    AlertState,
    Ban,
    CaseState,
    ModerationAction,
    Report,
    ReportCase,
    ReporterRecord,
    ReportReason,
    Revert,
    RevertState,
    TargetType,
)
from .querysets import ban_networks_of

# A report's weight before its reporter's record: what one newcomer's word is worth against
# REPORT_HIDE_SCORE (3 by default: six newcomers from six networks, three contributors, or two
# trusted contributors hide an image; a moderator's report hides it at once).
LEVEL_WEIGHTS = {
    TrustLevel.NEWCOMER: 0.5,
    TrustLevel.CONTRIBUTOR: 1.0,
    TrustLevel.TRUSTED: 2.0,
}
# The prior on a reporter's accuracy: as if they had PRIOR_DECIDED decided reports, half upheld.
PRIOR_DECIDED = 4


def reporter_accuracy(record: ReporterRecord | None) -> float:
    """The share of a reporter's decided reports that were upheld, pulled towards one half
    while they have few."""
    decided, upheld = (record.decided, record.upheld) if record else (0, 0)
    return (upheld + PRIOR_DECIDED / 2) / (decided + PRIOR_DECIDED)


_UNREAD = object()


def report_weight(reporter: Contributor, record: ReporterRecord | None = _UNREAD) -> float:
    """Trust level times accuracy, scaled so a new reporter (accuracy one half) weighs exactly
    their level's weight; a reporter always upheld weighs up to twice that, one never upheld
    next to nothing. `record`: their ReporterRecord (or None) when the caller has read it."""
    if reporter.trust_level == TrustLevel.MODERATOR:
        return settings.REPORT_HIDE_SCORE
    if record is _UNREAD:
        record = ReporterRecord.objects.filter(contributor=reporter).first()
    return LEVEL_WEIGHTS[reporter.trust_level] * 2 * reporter_accuracy(record)


def hide_score(*, target_type: str, target_id) -> float:
    """The score at which an item hides: REPORT_HIDE_SCORE, once more for every time a
    moderator already dismissed reports on it, so a group that keeps reporting a good image
    needs ever more independent voices to take it down again."""
    dismissed = (
        ReportCase.objects.of_target(target_type=target_type, target_id=target_id)
        .filter(state=CaseState.DISMISSED)
        .count()
    )
    return settings.REPORT_HIDE_SCORE * (1 + dismissed)


def permission_require(user: AbstractBaseUser, permission: str, doing: str) -> None:
    """Refuse a moderation step to someone without its permission (the admin checks too; the
    service is what every interface goes through)."""
    if not user.has_perm(permission):
        raise DomainError(
            f"You do not have permission to {doing}.", code="permission_denied", status=403
        )


NOT_REPORTABLE = {
    TargetType.IMAGE: "There is no public image with that id.",
    TargetType.ANNOTATION: "There is no visible annotation with that id.",
}


def reportable_or_none(target_type: str, target_id):
    """The public item a report page names, or None (not an id, not visible, not there)."""
    try:
        return _reportable(target_type, target_id)
    except DomainError:
        return None


def _reportable(target_type: str, target_id):
    """The public item a report names. Hidden, pending, removed and missing items answer
    alike: a reporter learns nothing of an item they cannot see."""
    from annotations.models import Annotation
    from core.params import id_or_none

    refused = DomainError(NOT_REPORTABLE[target_type], code="not_found", status=404)
    if target_type == TargetType.ANNOTATION:
        annotation_id = id_or_none(target_id)
        item = (
            Annotation.objects.shown()
            .select_related("image_label")
            .filter(pk=annotation_id)
            .first()
            if annotation_id
            else None
        )
    else:
        try:
            image_id = uuid.UUID(str(target_id))
        except ValueError:
            raise refused from None
        item = Image.objects.public().filter(pk=image_id).first()
    if item is None:
        raise refused
    return item


def _open_case(*, target_type: str, target_id) -> ReportCase:
    """The item's open case, locked; created with the first report."""
    cases = ReportCase.objects.open().of_target(target_type=target_type, target_id=target_id)
    case = cases.select_for_update().first()
    if case is not None:
        return case
    try:
        with transaction.atomic():
            return ReportCase.objects.create(
                target_type=target_type, **{f"{target_type}_id": target_id}
            )
    except IntegrityError:  # another report opened it a moment ago
        return cases.select_for_update().get()


@dataclass(frozen=True)
class ReportResult:
    report: Report
    counted: bool  # False for a repeat of the reporter's own report


def report_submit(
    *,
    reporter: Contributor | Callable[[], Contributor],
    reason: str,
    image_id=None,
    annotation_id=None,
    text: str = "",
    network: str = "",
) -> ReportResult:
    """Record a report on a public image or a visible annotation (name one) and hide the item
    once the reports' weighted score reaches its hiding score.

    One reporter's repeated reports on one item count once; reports from one wider network
    (`network`, core.ratelimits.network_key) weigh once per case however many identities it
    makes, so minting anonymous identities does not add weight. `reporter` may be a callable,
    called once the report is accepted, so a refused one creates no contributor.
    """
    if (image_id is None) == (annotation_id is None):
        raise DomainError(
            "Name the image or the annotation you report (one of them).", code="target_required"
        )
    text = text.strip()
    if reason == ReportReason.OTHER and not text:
        raise DomainError("Say what is wrong when the reason is 'other'.", code="text_required")
    target_type = TargetType.IMAGE if image_id is not None else TargetType.ANNOTATION
    item = _reportable(target_type, image_id if image_id is not None else annotation_id)
    if callable(reporter):
        reporter = reporter()  # outside the transaction: see contributor_for_first_write
    with transaction.atomic():
        return _report_record(
            reporter=reporter,
            target_type=target_type,
            item=item,
            reason=reason,
            text=text,
            network=network,
        )


def _report_record(
    *, reporter: Contributor, target_type: str, item, reason: str, text: str, network: str
) -> ReportResult:
    case = _open_case(target_type=target_type, target_id=item.pk)
    existing = Report.objects.filter(case=case, reporter=reporter).first()
    if existing is not None:
        return ReportResult(report=existing, counted=False)
    weight = report_weight(reporter)
    if network and Report.objects.filter(case=case, network_key=network).exists():
        weight = 0.0
    report = Report.objects.create(
        case=case,
        reporter=reporter,
        reason=reason,
        text=text,
        network_key=network,
        weight=weight,
    )
    ReportCase.objects.filter(pk=case.pk).update(score=F("score") + weight)
    case.refresh_from_db(fields=["score"])
    alerts.report_recorded(target=target_of(item), case_id=case.pk)
    transaction.on_commit(lambda: live.report_send(case.pk))
    if case.hidden_at is None and case.score >= hide_score(
        target_type=target_type, target_id=item.pk
    ):
        _case_hide(case)
    return ReportResult(report=report, counted=True)


def _case_hide(case: ReportCase) -> None:
    from annotations.services import annotation_hide

    reason = f"Reports reached a score of {case.score:g}."
    case.hidden_at = timezone.now()
    if case.target_type == TargetType.ANNOTATION:
        case.restore = annotation_hide(annotation_id=case.annotation_id) or {}
        case.save(update_fields=["hidden_at", "restore"])
        action_record(
            actor=None,
            kind=ActionKind.HIDE,
            target=case.annotation,
            reason=reason,
            before={"hidden": False},
            after={"hidden": True},
        )
        return
    case.save(update_fields=["hidden_at"])
    changed = image_status_set(image_id=case.image_id, to=ImageStatus.HIDDEN, by=None)
    if changed is not None:
        action_record(
            actor=None,
            kind=ActionKind.HIDE,
            target=changed[0],
            reason=reason,
            before={"status": changed[1]},
            after={"status": ImageStatus.HIDDEN},
        )


def _decidable_case(case_id: int, moderator: AbstractBaseUser) -> ReportCase:
    permission_require(moderator, "moderation.decide_reportcase", "decide on reports")
    case = ReportCase.objects.select_for_update().filter(pk=case_id).first()
    if case is None:
        raise DomainError("There is no such report case.", code="not_found", status=404)
    if case.state != CaseState.OPEN:
        raise DomainError(
            f"These reports were already decided ({case.get_state_display().lower()}).",
            code="already_decided",
            status=409,
        )
    return case


def _case_close(case: ReportCase, *, state: str, moderator: AbstractBaseUser) -> None:
    case.state = state
    case.decided_by = moderator
    case.decided_at = timezone.now()
    case.save(update_fields=["state", "decided_by", "decided_at"])
    upheld = state == CaseState.REMOVED
    reporters = list(case.reports.values_list("reporter_id", flat=True))
    ReporterRecord.objects.bulk_create(
        [ReporterRecord(contributor_id=reporter_id) for reporter_id in reporters],
        ignore_conflicts=True,
    )
    ReporterRecord.objects.filter(contributor_id__in=reporters).update(
        decided=F("decided") + 1, upheld=F("upheld") + (1 if upheld else 0)
    )


@transaction.atomic
def case_dismiss(*, case_id: int, moderator: AbstractBaseUser, reason: str = "") -> ReportCase:
    """The reports were wrong: the item comes back (if they hid it) and each reporter's
    record counts one report not upheld."""
    from annotations.services import annotation_unhide

    case = _decidable_case(case_id, moderator)
    _case_close(case, state=CaseState.DISMISSED, moderator=moderator)
    reason = reason or "Reports dismissed."
    if case.target_type == TargetType.ANNOTATION:
        shown = case.hidden_at is not None and annotation_unhide(
            annotation_id=case.annotation_id, shown=case.restore
        )
        action_record(
            actor=moderator,
            kind=ActionKind.DISMISS,
            target=case.annotation,
            reason=reason,
            before={"hidden": case.hidden_at is not None},
            after={"hidden": case.hidden_at is not None and not shown},
        )
        return case
    image = Image.objects.get(pk=case.image_id)
    before = {"status": image.status}
    if image.status == ImageStatus.HIDDEN:
        image_status_set(image_id=image.pk, to=ImageStatus.UNLOCKED, by=moderator)
    action_record(
        actor=moderator,
        kind=ActionKind.DISMISS,
        target=image,
        reason=reason,
        before=before,
        after={"status": Image.objects.values_list("status", flat=True).get(pk=image.pk)},
    )
    return case


@transaction.atomic
def case_remove(
    *,
    case_id: int,
    moderator: AbstractBaseUser,
    reason: str = "",
    ban_donor: bool = False,
) -> ReportCase:
    """The reports were right: the item is out everywhere and each reporter's record counts
    one report upheld. An image is removed and its files move to the protected folder (deleted
    after REMOVED_RETENTION_DAYS); an annotation stays hidden for good. With `ban_donor` the
    image's donor, or the annotation's author, is banned for good in the same step."""
    from annotations.services import annotation_hide

    case = _decidable_case(case_id, moderator)
    _case_close(case, state=CaseState.REMOVED, moderator=moderator)
    reason = reason or f"Reported: {', '.join(sorted(case_reasons(case)))}."
    if case.target_type == TargetType.ANNOTATION:
        annotation_hide(annotation_id=case.annotation_id)  # if the reports had not yet
        action_record(
            actor=moderator,
            kind=ActionKind.REMOVE,
            target=case.annotation,
            reason=reason,
            before={"hidden": case.hidden_at is not None},
            after={"hidden": True},
        )
        culprit = case.annotation.author
    else:
        image, previous = image_status_set(
            image_id=case.image_id, to=ImageStatus.REMOVED, by=moderator
        )
        action_record(
            actor=moderator,
            kind=ActionKind.REMOVE,
            target=image,
            reason=reason,
            before={"status": previous},
            after={"status": ImageStatus.REMOVED},
        )
        culprit = image.donor
        transaction.on_commit(lambda: _removed_files_schedule(image.pk))
    if ban_donor:
        ban_create(contributor=culprit, until=None, reason=reason, moderator=moderator)
    return case


def case_reasons(case: ReportCase) -> set[str]:
    return {report.get_reason_display() for report in case.reports.all()}


def _removed_files_schedule(image_id) -> None:
    from django_tasks import default_task_backend

    from . import tasks

    tasks.protect_removed_files.enqueue(image_id=str(image_id))
    if default_task_backend.supports_defer:
        run_after = timezone.now() + timedelta(days=settings.REMOVED_RETENTION_DAYS, minutes=1)
        tasks.delete_removed_files.using(run_after=run_after).enqueue()


def removed_files_delete(*, now: datetime | None = None) -> int:
    """Delete the files of images removed more than REMOVED_RETENTION_DAYS ago; returns how
    many images lost their files."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.REMOVED_RETENTION_DAYS)
    due = (
        Image.objects.filter(status=ImageStatus.REMOVED, reviewed_at__lt=cutoff)
        .exclude(file="")
        .values_list("pk", flat=True)
    )
    deleted = 0
    for image_id in list(due):
        image_files_protect(image_id=image_id)  # in case the move never ran
        deleted += bool(image_files_delete(image_id=image_id))
    return deleted


# --- Bans -------------------------------------------------------------------------------------

BANNED_NETWORKS_KEY = "moderation:banned-networks"
BANNED_NETWORKS_SECONDS = 60


def _ban_check(*, moderator: AbstractBaseUser) -> None:
    permission_require(moderator, "moderation.add_ban", "ban contributors")


def ban_fields_check(
    *, contributor: Contributor | None, network: str, until: datetime | None, reason: str
) -> tuple[str, str]:
    """The rules a ban must meet; returns its network and reason as stored."""
    reason = reason.strip()
    if not reason:
        raise DomainError("Give the reason for the ban.", code="reason_required")
    if contributor is None and not network:
        raise DomainError("Name a contributor or a network to ban.", code="nobody_named")
    if until is not None and until <= timezone.now():
        raise DomainError("The ban's end must be in the future.", code="invalid_until")
    if contributor is not None and contributor.trust_level == TrustLevel.MODERATOR:
        raise DomainError(
            "A moderator cannot be banned; take their moderator level away first.",
            code="cannot_ban_moderator",
        )
    return (_valid_network(network) if network else ""), reason[:500]


@transaction.atomic
def ban_create(
    *,
    contributor: Contributor | None,
    until: datetime | None,
    reason: str,
    moderator: AbstractBaseUser,
    network: str = "",
) -> Ban:
    """Ban a contributor (every write refused, reading allowed), their network, or both; for a
    period (`until`) or for good (None)."""
    _ban_check(moderator=moderator)
    network, reason = ban_fields_check(
        contributor=contributor, network=network, until=until, reason=reason
    )
    ban = Ban.objects.create(
        contributor=contributor,
        network=network,
        until=until,
        reason=reason,
        created_by=moderator,
    )
    before = {}
    if contributor is not None:
        before = {"banned_until": _stamp(contributor.banned_until)}
        _banned_until_update(contributor.pk)
    _banned_networks_forget()
    action_record(
        actor=moderator,
        kind=ActionKind.BAN,
        target=contributor or ban,  # the contributor's history shows their bans
        reason=ban.reason,
        before=before,
        after={"ban": ban.pk, "until": _stamp(until) or "for good", "network": network},
    )
    return ban


@transaction.atomic
def ban_lift(*, ban_id: int, moderator: AbstractBaseUser, reason: str = "") -> Ban:
    _ban_check(moderator=moderator)
    ban = Ban.objects.select_for_update().filter(pk=ban_id).first()
    if ban is None:
        raise DomainError("There is no such ban.", code="not_found", status=404)
    if not Ban.objects.active().filter(pk=ban.pk).exists():
        raise DomainError("This ban is not in force.", code="not_active", status=409)
    ban.lifted_at = timezone.now()
    ban.lifted_by = moderator
    ban.save(update_fields=["lifted_at", "lifted_by"])
    if ban.contributor_id:
        _banned_until_update(ban.contributor_id)
    _banned_networks_forget()
    action_record(
        actor=moderator,
        kind=ActionKind.LIFT,
        target=ban.contributor or ban,
        reason=reason or "Ban lifted.",
        before={"ban": ban.pk, "lifted_at": None},
        after={"ban": ban.pk, "lifted_at": _stamp(ban.lifted_at)},
    )
    return ban


def _banned_networks_forget() -> None:
    # Now, and again once committed: a write that re-reads the bans in between would cache
    # the state before this change.
    cache.delete(BANNED_NETWORKS_KEY)
    transaction.on_commit(lambda: cache.delete(BANNED_NETWORKS_KEY))


def _banned_until_update(contributor_id: int) -> None:
    """Contributor.banned_until (what every write checks) from the bans in force: the latest
    end, or BANNED_FOR_GOOD."""
    bans = Ban.objects.active().filter(contributor_id=contributor_id)
    if bans.filter(until__isnull=True).exists():
        until = BANNED_FOR_GOOD
    else:
        until = bans.aggregate(last=Max("until"))["last"]
    Contributor.objects.filter(pk=contributor_id).update(banned_until=until)
    # Merged identities point at the account; the ban is theirs as well.
    Contributor.objects.filter(merged_into_id=contributor_id).update(banned_until=until)


def _valid_network(network: str) -> str:
    import ipaddress

    try:
        parsed = ipaddress.ip_network(network.strip(), strict=False)
    except ValueError:
        raise DomainError(
            f"{network!r} is not an IP network; write e.g. 203.0.113.0/24 or 2001:db8::/64.",
            code="invalid_network",
        ) from None
    allowed = (32, 24) if parsed.version == 4 else (64,)
    if parsed.prefixlen not in allowed:
        raise DomainError(
            "Ban an IPv4 /32 or /24, or an IPv6 /64 (wider networks hold too many people).",
            code="invalid_network",
        )
    return str(parsed)


def banned_networks() -> dict[str, float | None]:
    """Every banned network in force and the end of its ban as a timestamp (None: for good),
    cached briefly and dropped on every change, so a write costs no query."""
    networks = cache.get(BANNED_NETWORKS_KEY)
    if networks is None:
        networks = {}
        for network, until in (
            Ban.objects.active().exclude(network="").values_list("network", "until")
        ):
            if until is None or (network in networks and networks[network] is None):
                networks[network] = None
            else:
                networks[network] = max(networks.get(network, 0.0), until.timestamp())
        cache.set(BANNED_NETWORKS_KEY, networks, BANNED_NETWORKS_SECONDS)
    return networks


@dataclass(frozen=True)
class NetworkBan:
    until: datetime | None  # None: for good


def network_ban_of(address: str) -> NetworkBan | None:
    """The ban in force on `address`'s network (the longest, if several), or None."""
    networks = banned_networks()
    now = timezone.now().timestamp()
    ends = [
        networks[network]
        for network in ban_networks_of(address)
        if network in networks and (networks[network] is None or networks[network] > now)
    ]
    if not ends:
        return None
    if None in ends:
        return NetworkBan(until=None)
    return NetworkBan(until=datetime.fromtimestamp(max(ends), tz=UTC))


def refuse_banned_network(*, request, contributor: Contributor | None) -> None:
    """Listens to "contributor.writing": anonymous writes from a banned network are refused,
    from identities it had and from new ones alike."""
    if contributor is not None and not contributor.is_anonymous:
        return
    ban = network_ban_of(network_of(request))
    if ban is None:
        return
    when = "for good" if ban.until is None else f"until {ban.until:%Y-%m-%d %H:%M} UTC"
    raise DomainError(
        f"Contributions from your network are suspended {when}; you can still look around, "
        "or log in to an account in good standing.",
        code="banned",
        status=403,
        banned_until=ban.until,
    )


# --- Audit trail ------------------------------------------------------------------------------


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def target_of(target) -> tuple[str, str]:
    """How the trail names an object: its model's label ("donations.image") and its key; a
    proxy (a validation question) by its concrete model, so one row has one history."""
    return target._meta.concrete_model._meta.label_lower, str(target.pk)


def action_record(
    *,
    actor: AbstractBaseUser | None,
    kind: str,
    target,
    reason: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> ModerationAction:
    """One row of the audit trail, written in the deciding service's transaction."""
    if kind not in ActionKind.values:
        raise ValueError(f"Unknown moderation action {kind!r}")
    target_type, target_id = target if isinstance(target, tuple) else target_of(target)
    return ModerationAction.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        kind=kind,
        target_type=target_type,
        target_id=target_id,
        reason=reason[:500],
        before=before or {},
        after=after or {},
    )


# --- Alerts -----------------------------------------------------------------------------------

# How many of the involved contributors an alert links to (the latest).
ALERT_CONTRIBUTORS = 20


@transaction.atomic
def alert_raise(
    *,
    kind: str,
    target_type: str,
    target_id: str,
    summary: str,
    details: dict | None = None,
    contributor_ids: list[int] | None = None,
    voters_of_image_label: int | None = None,
    reporters_of_case: int | None = None,
) -> Alert:
    """Open an alert, or count a repeat on the open one for the same kind and target; links the
    contributors involved (given, or the latest voters of an image-label or reporters of a case)."""
    from validations.models import Vote

    ids = list(contributor_ids or [])
    if voters_of_image_label is not None:
        ids += (
            Vote.objects.filter(image_label_id=voters_of_image_label)
            .order_by("-pk")
            .values_list("contributor_id", flat=True)[:ALERT_CONTRIBUTORS]
        )
    if reporters_of_case is not None:
        ids += (
            Report.objects.filter(case_id=reporters_of_case)
            .order_by("-pk")
            .values_list("reporter_id", flat=True)[:ALERT_CONTRIBUTORS]
        )
    open_alerts = Alert.objects.filter(
        kind=kind, target_type=target_type, target_id=target_id, state=AlertState.OPEN
    )
    alert = open_alerts.select_for_update().first()
    if alert is None:
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    kind=kind,
                    target_type=target_type,
                    target_id=target_id,
                    summary=summary[:300],
                    details=details or {},
                )
        except IntegrityError:  # raised by another process a moment ago
            alert = open_alerts.select_for_update().get()
            _alert_repeat(alert, summary=summary, details=details)
    else:
        _alert_repeat(alert, summary=summary, details=details)
    if ids:
        alert.contributors.add(*dict.fromkeys(ids))
    transaction.on_commit(lambda: announce("moderation.alert", alert_id=alert.pk))
    return alert


def _alert_repeat(alert: Alert, *, summary: str, details: dict | None) -> None:
    alert.count = F("count") + 1
    alert.summary = summary[:300]
    alert.details = details or alert.details
    alert.last_raised_at = timezone.now()
    alert.save(update_fields=["count", "summary", "details", "last_raised_at"])
    alert.refresh_from_db(fields=["count"])


@transaction.atomic
def alerts_acknowledge(*, alert_ids: list[int], moderator: AbstractBaseUser) -> int:
    """Close open alerts (a new one opens if the trouble goes on); returns how many closed."""
    return Alert.objects.filter(pk__in=alert_ids, state=AlertState.OPEN).update(
        state=AlertState.ACKNOWLEDGED, acknowledged_by=moderator, acknowledged_at=timezone.now()
    )


# --- Revert a contributor (the vandal button) and undo ------------------------------------------


def _their_unsupported_labels(contributor_id: int):
    """Claims they added that nobody else supports (no one else answered yes)."""
    from labels_app.models import Answer, ImageLabel
    from validations.models import Vote

    others_yes = Vote.objects.filter(image_label=OuterRef("pk"), answer=Answer.YES).exclude(
        contributor_id=contributor_id
    )
    return (
        ImageLabel.objects.standing().filter(added_by_id=contributor_id).exclude(Exists(others_yes))
    )


def _their_public_donations(contributor_id: int):
    return Image.objects.filter(
        donor_id=contributor_id, status__in=[ImageStatus.UNLOCKED, ImageStatus.HIDDEN]
    )


def _their_weighing_reports(contributor_id: int):
    return Report.objects.filter(reporter_id=contributor_id, weight__gt=0, case__state="open")


def revert_preview(contributor: Contributor) -> list[tuple[str, int]]:
    """Everything the contributor did, counted, and what a revert would change."""
    from contributors.contributions import contribution_counts

    done = [(count.title, count.count) for count in contribution_counts(contributor)]
    done.append(("Reports", Report.objects.filter(reporter=contributor).count()))
    effects = [
        (
            "Labels they added that nobody else supports (withdrawn)",
            _their_unsupported_labels(contributor.pk).count(),
        ),
        (
            "Public donations (hidden pending review)",
            _their_public_donations(contributor.pk).count(),
        ),
        (
            "Open reports of theirs that weigh (weight taken back)",
            _their_weighing_reports(contributor.pk).count(),
        ),
    ]
    return done + effects


def _revert_check(contributor: Contributor, moderator: AbstractBaseUser) -> None:
    permission_require(moderator, "moderation.add_revert", "revert contributors")
    if contributor.trust_level == TrustLevel.MODERATOR:
        raise DomainError("A moderator's work cannot be reverted.", code="cannot_revert_moderator")


@transaction.atomic
def revert_start(
    *,
    contributor: Contributor,
    moderator: AbstractBaseUser,
    reason: str,
    ban: bool = False,
) -> Revert:
    """Stop counting the contributor's judgements from now on and neutralise the rest of their
    work in the background (revert_run). With `ban`, they are banned for good in the same step."""
    _revert_check(contributor, moderator)
    reason = reason.strip()[:500]
    if not reason:
        raise DomainError("Give the reason for the revert.", code="reason_required")
    contributor = Contributor.objects.select_for_update().get(pk=contributor.pk)
    if (
        Revert.objects.filter(contributor=contributor)
        .exclude(state__in=[RevertState.UNDONE, RevertState.FAILED])
        .exists()
    ):
        raise DomainError(
            "This contributor's work is already reverted; undo that first.",
            code="already_reverted",
            status=409,
        )
    revert = Revert.objects.create(
        contributor=contributor,
        created_by=moderator,
        reason=reason,
        snapshot={"reverted_at": _stamp(contributor.reverted_at)},
    )
    Contributor.objects.filter(pk=contributor.pk).update(reverted_at=timezone.now())
    if ban:
        revert.ban = ban_create(
            contributor=contributor, until=None, reason=reason, moderator=moderator
        )
        revert.save(update_fields=["ban"])
    action_record(
        actor=moderator,
        kind=ActionKind.REVERT,
        target=contributor,
        reason=reason,
        before={"reverted_at": None},
        after={"revert": revert.pk, "ban": bool(ban)},
    )
    transaction.on_commit(lambda: _revert_enqueue(revert.pk, undo=False))
    return revert


def _revert_enqueue(revert_id: int, *, undo: bool) -> None:
    from . import tasks

    (tasks.undo_revert if undo else tasks.run_revert).enqueue(revert_id=revert_id)


def _progress(revert_id: int):
    def step(count: int) -> None:
        Revert.objects.filter(pk=revert_id).update(done=F("done") + count)

    return step


def _judgement_total(contributor_id: int) -> int:
    from annotations.models import AnnotationVote, RefinementAnswer
    from validations.models import Vote

    return sum(
        model.objects.filter(contributor_id=contributor_id).count()
        for model in (Vote, AnnotationVote, RefinementAnswer)
    )


def revert_run(*, revert_id: int) -> Revert:
    """The background half of a revert. Every step works row by row under row locks and
    adds or takes back evidence as deltas, so others' votes arriving meanwhile all count."""
    from annotations.services import annotations_revert_author
    from contributors.services import contributor_claim_for_user
    from labels_app.services import image_labels_withdraw
    from trust.recounts import contributor_recount

    revert = Revert.objects.select_related("contributor", "created_by").get(pk=revert_id)
    if revert.state != RevertState.QUEUED:
        return revert
    contributor_id = revert.contributor_id
    labels = list(_their_unsupported_labels(contributor_id).values_list("pk", flat=True))
    donations = list(_their_public_donations(contributor_id).values_list("pk", "status"))
    total = _judgement_total(contributor_id) + len(labels) + len(donations)
    Revert.objects.filter(pk=revert_id).update(state=RevertState.RUNNING, total=total)
    progress = _progress(revert_id)
    try:
        recounted = contributor_recount(contributor_id=contributor_id, progress=progress)
        withdrawn = image_labels_withdraw(image_label_ids=labels)
        progress(len(labels))
        moderator = contributor_claim_for_user(anonymous=None, user=revert.created_by)
        annotations = annotations_revert_author(contributor_id=contributor_id, moderator=moderator)
        hidden = []
        for image_id, status in donations:
            changed = image_status_set(
                image_id=image_id, to=ImageStatus.PENDING, by=revert.created_by
            )
            if changed is not None and changed[1] == status:
                hidden.append({"pk": str(image_id), "status": status})
        progress(len(donations))
        reports = _reports_weigh_nothing(contributor_id)
    except Exception as error:
        Revert.objects.filter(pk=revert_id).update(state=RevertState.FAILED, error=repr(error))
        raise
    snapshot = {
        **revert.snapshot,
        "labels": withdrawn,
        "annotations": annotations,
        "donations": hidden,
        "reports": reports,
    }
    summary = {
        "judgements_recounted": recounted,
        "labels_withdrawn": len(withdrawn),
        "annotations_restored": sum("new_revision" in row for row in annotations),
        "annotations_hidden": sum("shown" in row for row in annotations),
        "donations_hidden": len(hidden),
        "reports_unweighted": len(reports),
    }
    Revert.objects.filter(pk=revert_id).update(
        state=RevertState.DONE,
        done=total,
        snapshot=snapshot,
        summary=summary,
        finished_at=timezone.now(),
    )
    return Revert.objects.get(pk=revert_id)


@transaction.atomic
def _reports_weigh_nothing(contributor_id: int) -> list[dict]:
    rows = []
    for report in _their_weighing_reports(contributor_id).select_for_update():
        ReportCase.objects.filter(pk=report.case_id).update(score=F("score") - report.weight)
        rows.append({"pk": report.pk, "weight": report.weight})
        Report.objects.filter(pk=report.pk).update(weight=0.0)
    return rows


@transaction.atomic
def revert_undo(*, revert_id: int, moderator: AbstractBaseUser, reason: str = "") -> Revert:
    """Put back what the revert changed (in the background, revert_undo_run)."""
    permission_require(moderator, "moderation.undo_revert", "undo reverts")
    revert = Revert.objects.select_for_update().filter(pk=revert_id).first()
    if revert is None:
        raise DomainError("There is no such revert.", code="not_found", status=404)
    if revert.state != RevertState.DONE:
        raise DomainError(
            "Only a finished revert can be undone "
            f"(this one is {revert.get_state_display().lower()}).",
            code="not_undoable",
            status=409,
        )
    revert.state = RevertState.UNDOING
    revert.undone_by = moderator
    revert.save(update_fields=["state", "undone_by"])
    action_record(
        actor=moderator,
        kind=ActionKind.UNDO,
        target=revert.contributor,
        reason=reason or "Revert undone.",
        before={"revert": revert.pk, "state": RevertState.DONE},
        after={"revert": revert.pk, "state": RevertState.UNDONE},
    )
    transaction.on_commit(lambda: _revert_enqueue(revert.pk, undo=True))
    return revert


def revert_undo_run(*, revert_id: int) -> Revert:
    from annotations.services import annotations_reinstate
    from contributors.services import contributor_claim_for_user
    from labels_app.services import image_labels_reinstate
    from trust.recounts import contributor_recount

    revert = Revert.objects.select_related("undone_by", "ban").get(pk=revert_id)
    if revert.state != RevertState.UNDOING:
        return revert
    snapshot = revert.snapshot
    Revert.objects.filter(pk=revert_id).update(done=0)
    reverted_at = snapshot.get("reverted_at")
    Contributor.objects.filter(pk=revert.contributor_id).update(
        reverted_at=datetime.fromisoformat(reverted_at) if reverted_at else None
    )
    progress = _progress(revert_id)
    contributor_recount(contributor_id=revert.contributor_id, progress=progress)
    image_labels_reinstate(rows=snapshot.get("labels", []))
    moderator = contributor_claim_for_user(anonymous=None, user=revert.undone_by)
    annotations_reinstate(rows=snapshot.get("annotations", []), moderator=moderator)
    for row in snapshot.get("donations", []):
        # Unless a moderator reviewed it meanwhile: their decision stands.
        image = Image.objects.filter(pk=row["pk"], status=ImageStatus.PENDING).first()
        if image is not None:
            image_status_set(image_id=image.pk, to=row["status"], by=revert.undone_by)
    with transaction.atomic():
        for row in snapshot.get("reports", []):
            report = Report.objects.select_for_update().filter(pk=row["pk"], weight=0).first()
            if report is not None and report.case.state == CaseState.OPEN:
                Report.objects.filter(pk=report.pk).update(weight=row["weight"])
                ReportCase.objects.filter(pk=report.case_id).update(
                    score=F("score") + row["weight"]
                )
    if revert.ban is not None and Ban.objects.active().filter(pk=revert.ban_id).exists():
        ban_lift(ban_id=revert.ban_id, moderator=revert.undone_by, reason="The revert was undone.")
    Revert.objects.filter(pk=revert_id).update(
        state=RevertState.UNDONE, undone_at=timezone.now(), done=F("total")
    )
    return Revert.objects.get(pk=revert_id)


# --- Automatic screening of donations ----------------------------------------------------------


def donation_screen_enqueue(*, image_id) -> None:
    """Listens to "image.donated" (after the upload committed): screening happens in the
    background, never in the upload request."""
    if settings.SCREENING_ENABLED:
        from .tasks import screen_donation

        screen_donation.enqueue(image_id=str(image_id))


def donation_screen(*, image_id) -> str:
    """Score a pending donation for nudity and note it for the moderators (returns the
    screening state). A model that cannot load leaves the photo pending, marked unavailable —
    never unlocked."""
    from django.core.files.storage import default_storage

    from donations.models import Screening
    from donations.services import image_screening_record

    from .screening import ScreeningUnavailable, detections_of

    image = Image.objects.select_related("donor").filter(pk=image_id).first()
    if image is None or image.status != ImageStatus.PENDING:
        return ""
    try:
        with default_storage.open(image.file.name, "rb") as stored:
            detections = detections_of(stored.read())
    except ScreeningUnavailable:
        image_screening_record(image_id=image.pk, state=Screening.UNAVAILABLE, score=None)
        return Screening.UNAVAILABLE
    return screening_decide(image=image, detections=detections)


def screening_decide(*, image: Image, detections: list[dict]) -> str:
    """What the detector's findings mean for a pending donation: a high score stays pending,
    marked with the score, and is never unlocked automatically; a clean photo of a trusted
    donor is unlocked at once when SCREENING_AUTO_UNLOCK_TRUSTED is on."""
    from contributors.models import TrustLevel as Level
    from donations.models import Screening
    from donations.services import image_auto_unlock, image_screening_record

    from .screening import nudity_score

    score = nudity_score(detections)
    state = Screening.FLAGGED if score >= settings.SCREENING_FLAG_SCORE else Screening.CLEAN
    image_screening_record(image_id=image.pk, state=state, score=score)
    if (
        state == Screening.CLEAN
        and settings.SCREENING_AUTO_UNLOCK_TRUSTED
        and score <= settings.SCREENING_CLEAN_SCORE
        and image.donor.trust_level in (Level.TRUSTED, Level.MODERATOR)
        and image.near_duplicate_of_id is None
    ):
        image_auto_unlock(
            image_id=image.pk,
            reason=f"Screened clean (nudity score {score:.2f}), donated by a trusted contributor.",
        )
    return state
