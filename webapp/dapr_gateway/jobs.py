"""Jobs of the Dapr scheduler: a job calls ``/job/<name>`` of this app once at its due time."""

from __future__ import annotations

from datetime import datetime, timezone

from .connection import Connection
from .errors import NotFound, Unavailable
from .sdk import ConstantFailurePolicy, Job
from .values import _any_json


class JobOperations(Connection):
    """Schedule, read and delete jobs."""

    def schedule_job(self, name: str, due: datetime, data: dict, ttl: str | None = None) -> None:
        """Create or replace job ``name`` that calls ``/job/<name>`` once at ``due``; a firing the app does not
        accept (no 2xx) is tried again every ``job_retry_interval_seconds``, ``job_max_retries`` times."""
        policy = ConstantFailurePolicy(max_retries=self.settings.job_max_retries,
                                       interval_seconds=self.settings.job_retry_interval_seconds)
        job = Job(name=name, due_time=due.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  data=_any_json(data), ttl=ttl, failure_policy=policy)
        try:
            self.client.schedule_job_alpha1(job, overwrite=True)
        except Exception as err:
            raise self._fail(err, f"schedule job {name}") from err

    def delete_job(self, name: str) -> None:
        """Delete job ``name``; deleting a missing job is not an error."""
        try:
            self.client.delete_job_alpha1(name)
        except Exception as err:
            error = self._fail(err, f"delete job {name}")
            if not isinstance(error, NotFound):
                raise error from err

    def get_job(self, name: str) -> dict | None:
        """The job's name, due time, schedule and retry policy (``retry``: interval and retries, None when the
        scheduler's default applies), or None when there is no such job."""
        try:
            job = self.client.get_job_alpha1(name)
        except Exception as err:
            error = self._fail(err, f"get job {name}")
            if isinstance(error, (NotFound, Unavailable)) and "not found" in str(error).lower():
                return None
            if isinstance(error, NotFound):
                return None
            raise error from err
        policy = job.failure_policy
        retry = None
        if isinstance(policy, ConstantFailurePolicy):
            retry = {"interval_seconds": policy.interval_seconds, "max_retries": policy.max_retries}
        return {"name": job.name, "due_time": job.due_time, "schedule": job.schedule, "retry": retry}
