// Stops a local cluster whose owner (a test run, the demo, the benchmark) died without stopping
// it: `node cluster/watchdog.ts <owner-pid> <pgid>...`. Exits once the groups are gone.
import { isGroupAlive, stopProcessGroup } from "./daemon.ts";

const [ownerArg, ...groupArgs] = process.argv.slice(2);
const owner = Number(ownerArg);
const groups = groupArgs.map(Number).filter((pgid) => Number.isInteger(pgid) && pgid > 0);

function ownerAlive(): boolean {
  try {
    process.kill(owner, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

for (;;) {
  if (!groups.some(isGroupAlive)) break;
  if (!ownerAlive()) {
    // The API server first: it needs etcd to shut down cleanly.
    for (const pgid of groups) await stopProcessGroup(pgid).catch(() => undefined);
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}
