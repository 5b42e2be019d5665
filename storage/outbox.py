"""The delivery outbox (DESIGN §7, §9): deliveries written with a run, claimed, then sent.

A sender claims a delivery before it sends it: one conditional UPDATE (pending -> sending, with
the sender's name and the time) that only one process can win, on SQLite and PostgreSQL alike,
so `run`, `outbox retry`, `report` and `schedule` running at once never send a row twice. A claim
older than CLAIM_LEASE belongs to a process that died mid-send: it may be claimed again (the
message may then arrive twice, with the same Message-ID: DESIGN §9's at-least-once). A failed
send goes back to pending with its error and the time of the next attempt; after `max_attempts`
it is failed. Functions take a Session and never commit; claim and finish in write transactions
(`storage.db.write_transaction`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from storage.statuses import DeliveryKind, DeliveryStatus
from storage.tables import Delivery

FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
# Longer than any send can take (SMTP and webhook timeouts are seconds; a site rebuild minutes):
# a claim this old was left by a process that died, not one still sending.
CLAIM_LEASE = timedelta(minutes=15)
MAX_ERROR_CHARS = 2000
# Listed by `outbox` without --all: everything not yet delivered and not given up by the user.
OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.FAILED)


def add_delivery(
    session: Session,
    *,
    run_id: int | None,
    from_run_id: int | None,
    kind: DeliveryKind,
    channel: str,
    format: str,  # noqa: A002 - the column's name
    target: str,
    now: datetime,
    target_key: str | None = None,
    subject: str = "",
    payload: str = "",
) -> Delivery:
    """Queue one delivery in status pending (a report's subject is filled in when it is sent)."""
    delivery = Delivery(
        run_id=run_id,
        from_run_id=from_run_id,
        kind=kind,
        channel=channel,
        format=format,
        target=target,
        target_key=target_key,
        subject=subject,
        payload=payload,
        status=DeliveryStatus.PENDING,
        attempts=0,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    return delivery


def _claimable(now: datetime, *, retry_now: bool, lease: timedelta) -> ColumnElement[bool]:
    """Rows a sender may take: due pending ones (every pending and failed one with `retry_now`),
    and rows whose claim is older than the lease."""
    pending: ColumnElement[bool] = Delivery.status == DeliveryStatus.PENDING
    if not retry_now:
        due = or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now)
        pending = and_(pending, due)
    abandoned = and_(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_at < now - lease)
    if retry_now:
        return or_(pending, abandoned, Delivery.status == DeliveryStatus.FAILED)
    return or_(pending, abandoned)


def due_deliveries(
    session: Session,
    *,
    now: datetime,
    retry_now: bool = False,
    lease: timedelta = CLAIM_LEASE,
) -> list[int]:
    """Return the ids of deliveries a sender could claim now, oldest first.

    Pending ones whose next attempt time has come, and abandoned claims; with `retry_now`
    (`outbox retry`), every pending and failed one at once. Another process may claim any of
    them first: `claim` decides.
    """
    query = (
        select(Delivery.id)
        .where(_claimable(now, retry_now=retry_now, lease=lease))
        .order_by(Delivery.id)
    )
    return list(session.scalars(query))


def claim(
    session: Session,
    delivery_id: int,
    *,
    owner: str,
    now: datetime,
    retry_now: bool = False,
    lease: timedelta = CLAIM_LEASE,
) -> Delivery | None:
    """Claim one delivery for `owner` and return it, or None when it is not claimable (any more).

    One conditional UPDATE: when two processes race for a row, exactly one changes it (SQLite
    serialises writers; PostgreSQL re-checks the WHERE clause on the row the winner committed).
    """
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, _claimable(now, retry_now=retry_now, lease=lease))
        .values(status=DeliveryStatus.SENDING, claimed_by=owner, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        return None
    return session.get_one(Delivery, delivery_id, populate_existing=True)


def _rowcount(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def _finish(session: Session, delivery: Delivery, *, owner: str, **values: object) -> bool:
    """Update a delivery `owner` still holds and release its claim; False when it was taken over
    (its lease ran out and another sender claimed it): then nothing is changed."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery.id,
            Delivery.status == DeliveryStatus.SENDING,
            Delivery.claimed_by == owner,
        )
        .values(claimed_by=None, claimed_at=None, **values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def mark_sent(
    session: Session, delivery: Delivery, *, owner: str, subject: str, now: datetime
) -> bool:
    """Record a successful send of a delivery `owner` claimed; False if its claim was taken over."""
    return _finish(
        session,
        delivery,
        owner=owner,
        status=DeliveryStatus.SENT,
        attempts=delivery.attempts + 1,
        subject=subject,
        sent_at=now,
        last_error=None,
        next_attempt_at=None,
    )


def mark_attempt_failed(
    session: Session,
    delivery: Delivery,
    *,
    owner: str,
    error: str,
    now: datetime,
    max_attempts: int,
) -> DeliveryStatus | None:
    """Record a failed send: pending again with doubling backoff, or failed after max_attempts.

    Returns the new status, or None when the claim was taken over (nothing is changed).
    """
    attempts = delivery.attempts + 1
    if attempts >= max_attempts:
        status, next_attempt = DeliveryStatus.FAILED, None
    else:
        status = DeliveryStatus.PENDING
        next_attempt = now + min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)
    finished = _finish(
        session,
        delivery,
        owner=owner,
        status=status,
        attempts=attempts,
        last_error=error[:MAX_ERROR_CHARS],
        next_attempt_at=next_attempt,
    )
    return status if finished else None


@dataclass(frozen=True, slots=True)
class Cancelled:
    """What `cancel` did: `status` is the delivery's status before (None: no such delivery)."""

    delivery_id: int
    status: DeliveryStatus | None

    @property
    def done(self) -> bool:
        """True when the delivery was pending or failed and is now cancelled."""
        return self.status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


def cancel(
    session: Session, delivery_id: int, *, now: datetime, lease: timedelta = CLAIM_LEASE
) -> Cancelled:
    """Cancel a delivery that should never be sent: pending, failed, or an abandoned claim.

    A delivery being sent right now, or already sent, is left alone (see `Cancelled.status`).
    """
    before = session.scalar(select(Delivery.status).where(Delivery.id == delivery_id))
    if before is None:
        return Cancelled(delivery_id, None)
    abandoned = and_(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_at < now - lease)
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            or_(Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.FAILED)), abandoned),
        )
        .values(status=DeliveryStatus.CANCELLED, next_attempt_at=None, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) == 1:
        # An abandoned claim counts as pending: nothing is sending it.
        status = DeliveryStatus(before)
        return Cancelled(
            delivery_id,
            DeliveryStatus.PENDING if status == DeliveryStatus.SENDING else status,
        )
    return Cancelled(delivery_id, DeliveryStatus(before))


def purge(session: Session) -> int:
    """Delete the failed and cancelled deliveries; return how many."""
    result = session.execute(
        delete(Delivery)
        .where(Delivery.status.in_((DeliveryStatus.FAILED, DeliveryStatus.CANCELLED)))
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def list_deliveries(session: Session, *, include_sent: bool) -> list[Delivery]:
    """Return deliveries for `outbox`, newest first (pending, sending and failed, or all)."""
    query = select(Delivery).order_by(Delivery.id.desc())
    if not include_sent:
        query = query.where(Delivery.status.in_(OPEN_STATUSES))
    return list(session.scalars(query))


def count_deliveries(session: Session) -> int:
    """Return how many deliveries the outbox holds, whatever their status."""
    return int(session.scalar(select(func.count()).select_from(Delivery)) or 0)
