-- The operators' job listing (dashboard, CLI): keyset pages in id order, newest or oldest
-- first, for one state, queue or job name. Each index is ordered by id within a value, so a
-- page reads about as many entries as it shows jobs at any depth, whatever the data's shape
-- (state and queue together: conveyor_jobs_state_queue). The state index leaves out the
-- states every job passes through (available, running, completed), so claiming and
-- completing never write to it; those listings walk the primary key or the running index.
CREATE INDEX conveyor_jobs_state ON conveyor_jobs (state, id)
    WHERE state IN ('pending', 'scheduled', 'retryable', 'discarded', 'cancelled');
CREATE INDEX conveyor_jobs_queue ON conveyor_jobs (queue, id);
CREATE INDEX conveyor_jobs_name ON conveyor_jobs (name, id);

-- The jobs each audited operator action changed, so a job's page lists the actions that
-- touched it.
CREATE TABLE conveyor_audit_jobs (
    job_id    bigint NOT NULL,
    audit_id  bigint NOT NULL,
    PRIMARY KEY (job_id, audit_id)
);

-- A job's dependants, resolved or not (conveyor_dependencies_open has the unresolved ones).
CREATE INDEX conveyor_dependencies_dependants ON conveyor_dependencies (depends_on, job_id);
