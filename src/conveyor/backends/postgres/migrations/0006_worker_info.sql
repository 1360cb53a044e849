-- What operators see of a worker: where it runs and how many jobs it may run at once
-- (recorded when it registers; NULL for workers registered before this migration).
ALTER TABLE conveyor_workers ADD COLUMN host text;
ALTER TABLE conveyor_workers ADD COLUMN pid integer;
ALTER TABLE conveyor_workers ADD COLUMN concurrency integer;
