-- Runs the script named by -D script=PATH and prints why it failed:
-- miltertest 2.11.0~beta2 (Debian) exits 1 on a Lua error without saying
-- what it was.
local ok, why = pcall(dofile, script)
if not ok then
  mt.echo("FAILED: " .. tostring(why))
  error(why)
end
