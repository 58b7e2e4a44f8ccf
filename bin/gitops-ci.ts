#!/usr/bin/env node
// Entry point: the only place that reads process.env and calls process.exit.
import { availableParallelism } from "node:os";
import { runCli } from "../cli/main.ts";

const code = await runCli(process.argv.slice(2), {
  cwd: process.cwd(),
  env: { ...process.env },
  stdout: process.stdout,
  stderr: process.stderr,
  cpus: availableParallelism(),
  stdoutIsTTY: process.stdout.isTTY,
  stderrIsTTY: process.stderr.isTTY,
});
process.exitCode = code;
