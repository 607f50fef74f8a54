"""``/api/v1/jobs``: the progress of long-running work (a plan run), polled by pages."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from soko.api.deps import SettingsDep, StoreDep
from soko.errors import ErrorCode, SokoError
from soko.jobs import Job, JobStatus, get_job, list_jobs
from soko.settings import Settings, in_shop_zone

router = APIRouter(tags=["jobs"])
MAX_ID = 2**31 - 1  # the id column's range on every database


class JobPublic(BaseModel):
    id: int
    kind: str = Field(description="What the job does, e.g. `plan`.")
    status: JobStatus = Field(description="`running`, then `done` or `failed`.")
    done: int = Field(description="Steps done so far.")
    total: int = Field(description="Steps in all; 0 while not known.")
    message: str = Field(description="What the job is doing now, for people.")
    started_at: dt.datetime
    finished_at: dt.datetime | None
    result: dict[str, Any] | None = Field(description="What a finished job produced.")
    error: str | None = Field(default=None, description="Why a failed job failed.")


class JobsPublic(BaseModel):
    items: list[JobPublic]


def job_public(job: Job, settings: Settings) -> JobPublic:
    return JobPublic(
        id=job.id,
        kind=job.kind,
        status=job.status,
        done=job.done,
        total=job.total,
        message=job.message,
        started_at=in_shop_zone(job.started_at, settings),
        finished_at=in_shop_zone(job.finished_at, settings) if job.finished_at else None,
        result=job.result,
        error=job.error,
    )


@router.get("/jobs/{job_id}", response_model=JobPublic)
def read_job(
    job_id: Annotated[int, Path(ge=1, le=MAX_ID)], store: StoreDep, settings: SettingsDep
) -> JobPublic:
    """One job's status and progress; pages poll this while it runs."""
    job = get_job(store.engine, job_id)
    if job is None:
        raise SokoError(ErrorCode.not_found, f"There is no job {job_id}.")
    return job_public(job, settings)


@router.get("/jobs", response_model=JobsPublic)
def read_jobs(
    store: StoreDep,
    settings: SettingsDep,
    kind: Annotated[str | None, Query(description="Only jobs of this kind.")] = None,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JobsPublic:
    """The newest jobs first."""
    jobs = list_jobs(store.engine, kind=kind, status=status, limit=limit)
    return JobsPublic(items=[job_public(j, settings) for j in jobs])
