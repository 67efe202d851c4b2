// Tests that need a tool the machine may lack (tmux, kcat...). On a developer's machine a missing tool
// skips the test with the package to install; under CI=true, where .ci/run installs everything, it
// fails instead, so a missing install step cannot pass unnoticed.
import { spawnSync } from 'node:child_process';

export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * For a test's `skip` option: false when `command` is installed, else the reason to skip. Under
 * CI=true a missing command throws, failing the test file with the same reason.
 */
export function skipWithout(command: string, debianPackage: string): false | string {
  if (hasCommand(command)) return false;
  const reason = `${command} is not installed (apt-get install ${debianPackage})`;
  if (process.env.CI === 'true') throw new Error(`${reason}, and CI=true runs every test: install it in .ci/run`);
  return reason;
}
