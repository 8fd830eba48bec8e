import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ALERTMANAGER_BIN } from './alertmanager.js';
import { HAPROXY_BIN } from './haproxy.js';
import { POSTGRES_BIN } from './postgres.js';
import { PROMETHEUS_BIN } from './prometheus.js';

/** The browser the on-call page is tested in (Debian's package; puppeteer-core drives it). */
export const CHROMIUM_BIN = process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium';

/**
 * Integration suites run the real binaries. Without one, a suite is skipped with what to install,
 * printed, so a fresh clone's `npm test` passes and says what it did not run; under CI (CI=true)
 * nothing is skipped: a missing binary fails the suite, since `.ci/run` installs them all.
 */
function executable(path: string): boolean {
  const candidates = path.includes('/') ? [path] : (process.env['PATH'] ?? '').split(delimiter).map((d) => join(d, path));
  return candidates.some((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const INSTALL: Record<string, string> = {
  prometheus: `${PROMETHEUS_BIN} (apt-get install prometheus, or set PROMETHEUS_BIN)`,
  alertmanager: `${ALERTMANAGER_BIN} (apt-get install prometheus-alertmanager, or set ALERTMANAGER_BIN)`,
  haproxy: `${HAPROXY_BIN} (apt-get install haproxy, or set HAPROXY_BIN)`,
  promtool: 'promtool (apt-get install prometheus)',
  java: 'java (a JDK 17, for the Kafka broker)',
  mvn: 'mvn (Maven, to fetch the Kafka broker jars)',
  chromium: `${CHROMIUM_BIN} (apt-get install chromium, or set CHROMIUM_BIN)`,
  postgres: `${POSTGRES_BIN} (apt-get install postgresql, or set POSTGRES_BIN_DIR)`,
};

const BINARY: Record<string, string> = {
  prometheus: PROMETHEUS_BIN,
  alertmanager: ALERTMANAGER_BIN,
  haproxy: HAPROXY_BIN,
  promtool: 'promtool',
  java: 'java',
  mvn: 'mvn',
  chromium: CHROMIUM_BIN,
  postgres: POSTGRES_BIN,
};

/** True when the suite must be skipped; prints why once. Use as `describe.skipIf(missing('prometheus'))(...)`. */
export function missing(...tools: (keyof typeof INSTALL)[]): boolean {
  if (process.env['CI'] === 'true') return false;
  const absent = tools.filter((t) => !executable(BINARY[t]!));
  if (absent.length === 0) return false;
  process.stderr.write(`[skipped] needs ${absent.map((t) => INSTALL[t]).join('; ')}\n`);
  return true;
}
