-- The operators' job listing (dashboard, CLI): keyset pages in id order, newest or oldest
-- first, for one state, queue or job name. A SQLite index holds the rowid after its columns,
-- so each of these is ordered by id within a value: a page reads about as many index entries
-- as it shows jobs, at any depth. (State and queue together: conveyor_jobs_state_queue.)
CREATE INDEX conveyor_jobs_state ON conveyor_jobs (state);
CREATE INDEX conveyor_jobs_queue ON conveyor_jobs (queue);
CREATE INDEX conveyor_jobs_name ON conveyor_jobs (name);

-- The jobs each audited operator action changed, so a job's page lists the actions that
-- touched it.
CREATE TABLE conveyor_audit_jobs (
    job_id    INTEGER NOT NULL,
    audit_id  INTEGER NOT NULL,
    PRIMARY KEY (job_id, audit_id)
) WITHOUT ROWID;

-- A job's dependants, resolved or not (conveyor_dependencies_open has the unresolved ones).
CREATE INDEX conveyor_dependencies_dependants ON conveyor_dependencies (depends_on);
