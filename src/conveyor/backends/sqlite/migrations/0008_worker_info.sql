-- What operators see of a worker: where it runs and how many jobs it may run at once
-- (recorded when it registers; NULL for workers registered before this migration).
ALTER TABLE conveyor_workers ADD COLUMN host TEXT;
ALTER TABLE conveyor_workers ADD COLUMN pid INTEGER;
ALTER TABLE conveyor_workers ADD COLUMN concurrency INTEGER;
