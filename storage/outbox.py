"""The delivery outbox (DESIGN §7, §9): report deliveries written with a run, sent after commit.

A failed send stays pending with its error, attempt count and next attempt time; after
`max_attempts` it is marked failed. Functions take a Session and never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.tables import Delivery

FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)


def add_delivery(
    session: Session,
    *,
    run_id: int | None,
    from_run_id: int | None,
    channel: str,
    format: str,  # noqa: A002 - the column's name
    target: str,
    subject: str,
    payload: str,
    now: datetime,
) -> Delivery:
    """Queue one delivery in status pending."""
    delivery = Delivery(
        run_id=run_id,
        from_run_id=from_run_id,
        channel=channel,
        format=format,
        target=target,
        subject=subject,
        payload=payload,
        status="pending",
        attempts=0,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    return delivery


def due_deliveries(session: Session, *, now: datetime, include_failed: bool = False) -> list[int]:
    """Return the ids of deliveries to send now, oldest first.

    Pending ones whose next attempt time has come; with `include_failed` (``outbox retry``),
    every pending and failed one at once.
    """
    query = select(Delivery.id).order_by(Delivery.id)
    if include_failed:
        query = query.where(Delivery.status.in_(("pending", "failed")))
    else:
        query = query.where(
            Delivery.status == "pending",
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
        )
    return list(session.scalars(query))


def mark_sent(session: Session, delivery: Delivery, *, now: datetime) -> None:
    """Record a successful send."""
    delivery.attempts += 1
    delivery.status = "sent"
    delivery.sent_at = now
    delivery.last_error = None
    delivery.next_attempt_at = None


def mark_attempt_failed(
    session: Session, delivery: Delivery, *, error: str, now: datetime, max_attempts: int
) -> None:
    """Record a failed send: retry later with doubling backoff, or give up after max_attempts."""
    delivery.attempts += 1
    delivery.last_error = error[:2000]
    if delivery.attempts >= max_attempts:
        delivery.status = "failed"
        delivery.next_attempt_at = None
        return
    delivery.status = "pending"
    delay = min(FIRST_RETRY * 2 ** (delivery.attempts - 1), LONGEST_RETRY)
    delivery.next_attempt_at = now + delay


def list_deliveries(session: Session, *, include_sent: bool) -> list[Delivery]:
    """Return deliveries for `outbox`, newest first (pending and failed, or all)."""
    query = select(Delivery).order_by(Delivery.id.desc())
    if not include_sent:
        query = query.where(Delivery.status.in_(("pending", "failed")))
    return list(session.scalars(query))
