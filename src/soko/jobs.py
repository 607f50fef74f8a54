"""Long-running jobs (a plan run, an import): start, report progress, finish or fail.

Work that takes more than a moment records itself in the ``jobs`` table so a
page can show its progress while it runs (``GET /api/v1/jobs/{id}``, polled
by ``static/jobs.js``) and anyone can see afterwards how it ended. Each call
commits at once in its own transaction, so progress is visible to other
connections while the job's own work is still uncommitted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from soko.errors import ErrorCode, SokoError
from soko.settings import local_now
from soko.store.tables import Job as JobRow
from soko.store.tables import table_of

MAX_MESSAGE = 500
MAX_ERROR = 2000


class JobStatus(StrEnum):
    running = "running"
    done = "done"
    failed = "failed"


@dataclass(frozen=True)
class Job:
    """One job as pages and the API see it (mirrors the JSON of ``GET /api/v1/jobs/{id}``)."""

    id: int
    kind: str
    status: JobStatus
    done: int
    total: int
    message: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    result: dict[str, Any] | None
    error: str | None = None

    @property
    def fraction(self) -> float | None:
        """Share done in [0, 1], or None while the total is not known."""
        if self.total <= 0:
            return None
        return min(1.0, max(0.0, self.done / self.total))


_jobs = table_of(JobRow)


def _check_counts(done: int, total: int) -> None:
    if done < 0 or total < 0:
        raise SokoError(
            ErrorCode.validation_error,
            f"A job's progress must not be negative (done={done}, total={total}).",
        )


def start_job(engine: Engine, kind: str, *, total: int = 0, message: str = "") -> int:
    """Record a job that starts now; returns its id for the later calls."""
    if not kind.strip():
        raise SokoError(ErrorCode.validation_error, "A job needs a kind (e.g. 'plan').")
    _check_counts(0, total)
    now = local_now()
    with engine.begin() as conn:
        result = conn.execute(
            _jobs.insert()
            .values(
                kind=kind.strip()[:40],
                status=JobStatus.running.value,
                done=0,
                total=total,
                message=message[:MAX_MESSAGE],
                started_at=now,
                updated_at=now,
            )
            .returning(_jobs.c.id)
        )
        return int(result.scalar_one())


def report_progress(
    engine: Engine, job_id: int, *, done: int, total: int, message: str = ""
) -> None:
    """Record how far a running job has got (``done`` of ``total`` steps)."""
    _check_counts(done, total)
    with engine.begin() as conn:
        _update_running(
            conn,
            job_id,
            done=done,
            total=total,
            message=message[:MAX_MESSAGE],
            updated_at=local_now(),
        )


def finish_job(engine: Engine, job_id: int, *, result: dict[str, Any] | None = None) -> None:
    """Mark a job done; its progress reads complete and ``result`` is kept for the page."""
    now = local_now()
    with engine.begin() as conn:
        row = conn.execute(
            select(_jobs.c.total, _jobs.c.done).where(_jobs.c.id == job_id)
        ).one_or_none()
        if row is None:
            raise _unknown(job_id)
        total = max(row.total, row.done)
        _update_running(
            conn,
            job_id,
            status=JobStatus.done.value,
            done=total,
            total=total,
            result=result,
            finished_at=now,
            updated_at=now,
        )


def fail_job(engine: Engine, job_id: int, *, error: str) -> None:
    """Mark a job failed with the reason a user will read."""
    now = local_now()
    with engine.begin() as conn:
        _update_running(
            conn,
            job_id,
            status=JobStatus.failed.value,
            error=error[:MAX_ERROR],
            finished_at=now,
            updated_at=now,
        )


def get_job(engine: Engine, job_id: int) -> Job | None:
    """The job with ``job_id``, or None when there is none."""
    with engine.connect() as conn:
        row = conn.execute(select(_jobs).where(_jobs.c.id == job_id)).one_or_none()
    return None if row is None else _job_of(row._mapping)


def list_jobs(
    engine: Engine, *, kind: str | None = None, status: JobStatus | None = None, limit: int = 50
) -> list[Job]:
    """The newest jobs first, optionally of one kind and status."""
    query = select(_jobs).order_by(_jobs.c.id.desc()).limit(limit)
    if kind:
        query = query.where(_jobs.c.kind == kind)
    if status is not None:
        query = query.where(_jobs.c.status == status.value)
    with engine.connect() as conn:
        return [_job_of(row._mapping) for row in conn.execute(query)]


def _update_running(conn: Connection, job_id: int, **values: Any) -> None:
    """Update a job that is still running; a finished job is never changed again."""
    changed = conn.execute(
        update(_jobs)
        .where(_jobs.c.id == job_id, _jobs.c.status == JobStatus.running.value)
        .values(**values)
    ).rowcount
    if changed:
        return
    status = conn.execute(select(_jobs.c.status).where(_jobs.c.id == job_id)).scalar_one_or_none()
    if status is None:
        raise _unknown(job_id)
    raise SokoError(
        ErrorCode.validation_error, f"Job {job_id} has already ended ({status}); it cannot change."
    )


def _unknown(job_id: int) -> SokoError:
    return SokoError(ErrorCode.not_found, f"There is no job {job_id}.")


def _job_of(row: Any) -> Job:
    return Job(
        id=row["id"],
        kind=row["kind"],
        status=JobStatus(row["status"]),
        done=row["done"],
        total=row["total"],
        message=row["message"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        result=row["result"],
        error=row["error"],
    )
