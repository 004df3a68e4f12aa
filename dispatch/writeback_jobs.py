"""Names of the jobs that make one helpdesk call each (see ``HelpdeskSync``)."""

NOTE_JOB = "helpdesk.note"
STATUS_JOB = "helpdesk.status"
TIME_FIELD_JOB = "helpdesk.time"
