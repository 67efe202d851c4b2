// The kafkajs patch (patches/kafkajs+2.2.4.patch) is applied at install by patch-package. An install
// that skipped install scripts has an unpatched kafkajs, whose idle connections spin: say so once.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Logger } from '../log/logger.js';

export const PATCH_MARK = 'meter: with nothing pending';

export function kafkajsPatched(): boolean {
  try {
    const require = createRequire(import.meta.url);
    return readFileSync(require.resolve('kafkajs/src/network/requestQueue/index.js'), 'utf8').includes(PATCH_MARK);
  } catch {
    return false;
  }
}

export function warnIfKafkajsUnpatched(logger: Logger): void {
  if (kafkajsPatched()) return;
  logger.warn('kafkajs is not patched (install scripts were skipped), so idle connections keep a CPU busy; reinstall with npm install --allow-scripts=meter (README, "Install on a host")');
}
