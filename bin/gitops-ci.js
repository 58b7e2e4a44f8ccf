#!/usr/bin/env node
// Launcher: gitops-ci is TypeScript run by Node's built-in type stripping (Node >= 22.18). On an
// older Node, say so instead of failing with ERR_UNKNOWN_FILE_EXTENSION.
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `gitops-ci needs Node.js >= 22.18 (this is ${process.versions.node}).\n` +
      "  hint: in a checkout, run it through npm (`npm run gitops-ci -- <command>` uses the Node 24 of `npm ci`), or use the task image\n",
  );
  process.exit(2);
}
await import("./gitops-ci.ts");
