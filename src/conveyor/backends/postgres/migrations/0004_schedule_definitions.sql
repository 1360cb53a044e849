-- Cron schedules keep their whole definition (expression, time zone, policy and the job row to
-- insert, as JSON text compared as written), so any leader fires any stored schedule without
-- the code that declared it. Rows stored before have none until an application that declares
-- them stores it.
ALTER TABLE conveyor_schedules ADD COLUMN definition text;
