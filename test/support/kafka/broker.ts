/**
 * Single-node Kafka (KRaft, combined broker+controller) for integration tests, built from
 * Maven Central jars: no tarball, no Docker, no ZooKeeper.
 *
 *   const broker = await startKafka();            // first run downloads ~46 MB of jars (cached)
 *   await broker.createTopics([{ topic: 't', numPartitions: 3 }]);
 *   new Kafka({ brokers: broker.brokers, ... });
 *   await broker.restart();                       // same port + data dir: topics/offsets survive
 *   await broker.kill(); await broker.cleanup();
 *
 * Jars: `ensureKafkaJars()` runs `mvn ... copy-dependencies` on ./pom.xml into
 * `$HARBINGER_KAFKA_CACHE` or `~/.cache/harbinger/kafka-<version>` and writes a marker file
 * (`.harbinger-jars-complete`); later calls only check the marker. CI can prefetch with the
 * same mvn line followed by `touch <dir>/.harbinger-jars-complete`.
 *
 * Broker settings: every internal topic has replication factor 1 / min ISR 1, one partition
 * for __consumer_offsets and __transaction_state, `group.initial.rebalance.delay.ms=0`, and
 * `auto.create.topics.enable=false` (tests create topics explicitly so partition counts are
 * deterministic; producing to a missing topic fails fast). Pass `autoCreateTopics: true` to flip it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type ITopicConfig } from 'kafkajs';
import { freePort } from '../ports.js';
import { spawnProcess, trackTempDir, waitFor, type ManagedProcess } from '../process.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const KAFKA_POM = join(HERE, 'pom.xml');
/** Override with HARBINGER_KAFKA_LOG4J=<file> (e.g. an INFO-level copy) when debugging the broker. */
export const KAFKA_LOG4J = process.env.HARBINGER_KAFKA_LOG4J ?? join(HERE, 'log4j.properties');
export const DEFAULT_KAFKA_VERSION = '3.9.1';
export const JARS_MARKER = '.harbinger-jars-complete';
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies';

export interface EnsureJarsOptions {
  /** org.apache.kafka:kafka_2.13 version (default 3.9.1). */
  version?: string;
  /** Default: $HARBINGER_KAFKA_CACHE, else ~/.cache/harbinger/kafka-<version>. */
  cacheDir?: string;
  /** Maven executable (default $HARBINGER_MVN or `mvn` on PATH). */
  mvn?: string;
}

export function defaultKafkaCacheDir(version = DEFAULT_KAFKA_VERSION): string {
  return process.env.HARBINGER_KAFKA_CACHE ?? join(homedir(), '.cache', 'harbinger', `kafka-${version}`);
}

/**
 * The shell line CI can run from the repo root to prefetch the jars (same result as
 * `ensureKafkaJars()`; a no-op when the marker exists). For 3.9.1 it is:
 *
 *   D="${HARBINGER_KAFKA_CACHE:-$HOME/.cache/harbinger/kafka-3.9.1}"; [ -f "$D/.harbinger-jars-complete" ] || { mvn -B -q -f test/support/kafka/pom.xml -Dkafka.version=3.9.1 org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies -DoutputDirectory="$D" -DincludeScope=runtime && touch "$D/.harbinger-jars-complete"; }
 */
export function prefetchCommand(version = DEFAULT_KAFKA_VERSION): string {
  return (
    `D="\${HARBINGER_KAFKA_CACHE:-$HOME/.cache/harbinger/kafka-${version}}"; [ -f "$D/${JARS_MARKER}" ] || ` +
    `{ mvn -B -q -f test/support/kafka/pom.xml -Dkafka.version=${version} ${DEPENDENCY_PLUGIN} ` +
    `-DoutputDirectory="$D" -DincludeScope=runtime && touch "$D/${JARS_MARKER}"; }`
  );
}

/**
 * Returns a folder holding every runtime jar of kafka_2.13:<version> plus slf4j-reload4j,
 * downloading it with Maven on first use. Concurrent callers (parallel test files) are safe:
 * each downloads into its own temp folder and the first to finish renames it into place.
 */
export async function ensureKafkaJars(opts: EnsureJarsOptions = {}): Promise<string> {
  const version = opts.version ?? DEFAULT_KAFKA_VERSION;
  const cacheDir = opts.cacheDir ?? defaultKafkaCacheDir(version);
  if (existsSync(join(cacheDir, JARS_MARKER))) return cacheDir;

  await mkdir(dirname(cacheDir), { recursive: true });
  const staging = `${cacheDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const removeStaging = trackTempDir(staging);
  try {
    const mvn = spawnProcess('mvn', opts.mvn ?? process.env.HARBINGER_MVN ?? 'mvn', [
      '-B',
      '-q',
      '-f',
      KAFKA_POM,
      `-Dkafka.version=${version}`,
      DEPENDENCY_PLUGIN,
      `-DoutputDirectory=${staging}`,
      '-DincludeScope=runtime',
    ]);
    await mvn.exited;
    const info = mvn.exitInfo();
    if (info?.code !== 0) {
      throw new Error(
        `ensureKafkaJars: mvn copy-dependencies for kafka_2.13:${version} failed ` + `(code ${info?.code}, signal ${info?.signal}):\n${mvn.logs()}`,
      );
    }
    const jars = (await readdir(staging)).filter((f) => f.endsWith('.jar'));
    if (!jars.includes(`kafka_2.13-${version}.jar`)) {
      throw new Error(`ensureKafkaJars: kafka_2.13-${version}.jar missing after mvn; got ${jars.join(', ')}`);
    }
    await writeFile(join(staging, JARS_MARKER), `kafka_2.13 ${version}\n${jars.sort().join('\n')}\n`);
    if (existsSync(join(cacheDir, JARS_MARKER))) return cacheDir; // someone else won the race
    // An unmarked cacheDir is an interrupted download: replace it.
    await rm(cacheDir, { recursive: true, force: true });
    try {
      await rename(staging, cacheDir);
    } catch (err) {
      if (!existsSync(join(cacheDir, JARS_MARKER))) throw err;
    }
    return cacheDir;
  } finally {
    await removeStaging();
  }
}

export interface StartKafkaOptions {
  /** kafka_2.13 version (default 3.9.1). */
  version?: string;
  /** Folder of jars; default `await ensureKafkaJars({ version })`. */
  jarsDir?: string;
  /**
   * Holds server.properties and the log dirs. Default: a new temp dir, removed by cleanup()
   * (and on process exit). A given dir is never removed; if it is already formatted the
   * broker just starts on it (`format -g` ignores formatted dirs).
   */
  dataDir?: string;
  /** PLAINTEXT listener port (default: a free one). */
  port?: number;
  /** CONTROLLER listener port (default: a free one). */
  controllerPort?: number;
  /** -Xmx in MB (default 512). */
  heapMb?: number;
  /** auto.create.topics.enable (default false). */
  autoCreateTopics?: boolean;
  /** Extra/overriding server.properties entries. */
  properties?: Record<string, string | number | boolean>;
  /** Startup timeout per attempt in ms (default 60000). */
  startTimeoutMs?: number;
  /** Extra JVM flags, appended after the harness defaults (e.g. `['-XX:+UseG1GC']`). */
  jvmArgs?: string[];
  /** `java` executable (default $JAVA_HOME/bin/java if set, else `java`). */
  java?: string;
}

export interface KafkaBroker {
  /** `['127.0.0.1:<port>']`, ready for `new Kafka({ brokers })`. */
  readonly brokers: string[];
  readonly port: number;
  readonly controllerPort: number;
  readonly dataDir: string;
  readonly clusterId: string;
  readonly version: string;
  readonly jarsDir: string;
  /** SIGTERM (controlled shutdown), SIGKILL after 20 s; resolves once the JVM has exited. Keeps dataDir. */
  stop(): Promise<void>;
  /** SIGKILL (simulated crash); resolves once the JVM has exited. Keeps dataDir. */
  kill(): Promise<void>;
  /**
   * stop() (if running) then start again on the same ports and dataDir; resolves when the broker
   * answers metadata again. Topics and committed offsets survive. Also works after kill().
   */
  restart(): Promise<void>;
  /** Last ~200 lines of broker output (WARN and above, plus start/stop lines). */
  logs(): string;
  /** Creates topics (replication factor 1) and waits until they have leaders. */
  createTopics(topics: { topic: string; numPartitions: number; configEntries?: { name: string; value: string }[] }[]): Promise<void>;
  /** kill() if still running, then remove dataDir if startKafka created it. */
  cleanup(): Promise<void>;
}

/** 16 random bytes, base64url (22 chars), never starting with '-' (the CLI would read a flag). */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export function buildServerProperties(p: {
  port: number;
  controllerPort: number;
  logDir: string;
  autoCreateTopics: boolean;
  extra?: Record<string, string | number | boolean>;
}): string {
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${p.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${p.port},CONTROLLER://127.0.0.1:${p.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${p.port}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name': 'PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'log.dirs': p.logDir,
    'num.partitions': 1,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': p.autoCreateTopics,
    'delete.topic.enable': true,
    // After kill() the controller refuses the restarted broker (DUPLICATE_BROKER_REGISTRATION)
    // until the dead incarnation's session expires: 9 s by default, 3 s here.
    'broker.heartbeat.interval.ms': 500,
    'broker.session.timeout.ms': 3000,
    // Small footprint on a 2-core CI box.
    'num.network.threads': 2,
    'num.io.threads': 2,
    'background.threads': 2,
    'num.recovery.threads.per.data.dir': 1,
    'log.cleaner.threads': 1,
    'log.cleaner.dedupe.buffer.size': 8 * 1024 * 1024,
    ...p.extra,
  };
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join('\n')}\n`;
}

function adminClient(brokers: string[]): Kafka {
  return new Kafka({
    clientId: 'harbinger-test-broker-harness',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  });
}

/** Resolves when the broker answers DescribeCluster (with itself in it) and Metadata. */
async function waitUntilServing(proc: ManagedProcess, brokers: string[], timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      const admin = adminClient(brokers).admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length < 1 || cluster.controller === null) return false;
        await admin.listTopics();
        return true;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
    timeoutMs,
    {
      description: `kafka ${brokers.join(',')} to answer metadata`,
      intervalMs: 200,
      context: () => `kafka logs (last lines):\n${proc.logs()}`,
      abortIf: () => {
        const info = proc.exitInfo();
        return info === undefined ? undefined : `kafka exited (code ${info.code}, signal ${info.signal})`;
      },
    },
  );
}

function javaBin(opts: StartKafkaOptions): string {
  if (opts.java) return opts.java;
  const home = process.env.JAVA_HOME;
  return home && existsSync(join(home, 'bin', 'java')) ? join(home, 'bin', 'java') : 'java';
}

function looksLikeBindFailure(logs: string): boolean {
  return /address already in use|failed to bind/i.test(logs);
}

export async function startKafka(opts: StartKafkaOptions = {}): Promise<KafkaBroker> {
  const version = opts.version ?? DEFAULT_KAFKA_VERSION;
  const jarsDir = opts.jarsDir ?? (await ensureKafkaJars({ version }));
  const java = javaBin(opts);
  const heapMb = opts.heapMb ?? 512;
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  const classpath = `${jarsDir}/*`; // expanded by Java itself: we spawn without a shell
  const jvmArgs = [
    `-Xmx${heapMb}m`,
    // C1 only + serial GC: ~40% faster JVM start on a 2-core box; throughput is irrelevant here.
    '-XX:TieredStopAtLevel=1',
    '-XX:+UseSerialGC',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${KAFKA_LOG4J}`,
    ...(opts.jvmArgs ?? []),
    '-cp',
    classpath,
  ];

  const ownsDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'harbinger-kafka-')));
  const removeDataDir = ownsDataDir ? trackTempDir(dataDir) : async () => undefined;
  await mkdir(dataDir, { recursive: true });
  const configPath = join(dataDir, 'server.properties');
  const clusterId = newClusterId();
  const portsGiven = opts.port !== undefined && opts.controllerPort !== undefined;

  const launch = (): ManagedProcess => spawnProcess('kafka', java, [...jvmArgs, 'kafka.Kafka', configPath], { cwd: dataDir });

  let proc: ManagedProcess | undefined;
  let port = 0;
  let controllerPort = 0;
  try {
    for (let attempt = 1; ; attempt++) {
      port = opts.port ?? (await freePort());
      controllerPort = opts.controllerPort ?? (await freePort());
      while (controllerPort === port) controllerPort = await freePort();
      await writeFile(
        configPath,
        buildServerProperties({
          port,
          controllerPort,
          logDir: join(dataDir, 'logs'),
          autoCreateTopics: opts.autoCreateTopics ?? false,
          ...(opts.properties ? { extra: opts.properties } : {}),
        }),
      );
      // Ports are not part of the formatted state, so formatting once and retrying is fine.
      const format = spawnProcess('kafka-storage-format', java, [...jvmArgs, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', configPath, '-g']);
      await format.exited;
      if (format.exitInfo()?.code !== 0) {
        throw new Error(`kafka StorageTool format failed (${JSON.stringify(format.exitInfo())}):\n${format.logs()}`);
      }
      proc = launch();
      try {
        await waitUntilServing(proc, [`127.0.0.1:${port}`], startTimeoutMs);
        break;
      } catch (err) {
        await proc.stop(2000);
        if (!portsGiven && attempt < 3 && looksLikeBindFailure(proc.logs())) continue;
        throw err;
      }
    }
  } catch (err) {
    await removeDataDir();
    throw err;
  }

  // A reused (already formatted) dataDir keeps its original cluster id: report that one.
  const meta = await readFile(join(dataDir, 'logs', 'meta.properties'), 'utf8').catch(() => '');
  const formattedId = /^cluster\.id=(.+)$/m.exec(meta)?.[1]?.trim() ?? clusterId;

  const brokers = [`127.0.0.1:${port}`];
  let current: ManagedProcess = proc;
  let cleaned = false;

  const stop = async (): Promise<void> => {
    await current.stop(20_000);
  };
  const kill = async (): Promise<void> => {
    // ManagedProcess has no SIGKILL method, so signal the pid directly (setpriv execs java, same
    // pid); stop(0) then only awaits the exit (and would SIGKILL at once if the signal was lost).
    if (current.exitInfo() === undefined && current.pid !== undefined) {
      try {
        process.kill(current.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await current.stop(0);
  };

  const broker: KafkaBroker = {
    brokers,
    port,
    controllerPort,
    dataDir,
    clusterId: formattedId,
    version,
    jarsDir,
    stop,
    kill,
    async restart() {
      if (cleaned) throw new Error('kafka broker: restart() after cleanup()');
      await stop();
      const next = launch();
      current = next;
      try {
        await waitUntilServing(next, brokers, startTimeoutMs);
      } catch (err) {
        await next.stop(2000);
        throw err;
      }
    },
    logs: () => current.logs(),
    async createTopics(topics) {
      const admin = new Kafka({
        clientId: 'harbinger-test-broker-harness',
        brokers,
        logLevel: logLevel.NOTHING,
        retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 10 },
      }).admin();
      await admin.connect();
      try {
        const specs: ITopicConfig[] = topics.map((t) => ({
          topic: t.topic,
          numPartitions: t.numPartitions,
          replicationFactor: 1,
          ...(t.configEntries ? { configEntries: t.configEntries } : {}),
        }));
        await admin.createTopics({ topics: specs, waitForLeaders: true, timeout: 10_000 });
        // waitForLeaders covers the partitions; also make sure metadata lists every topic.
        await waitFor(
          async () => {
            const md = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
            const byName = new Map(md.topics.map((t) => [t.name, t.partitions]));
            return topics.every((t) => {
              const parts = byName.get(t.topic);
              return parts !== undefined && parts.length === t.numPartitions && parts.every((p) => p.leader >= 0);
            });
          },
          10_000,
          { description: 'created topics to have leaders', context: () => current.logs() },
        );
      } finally {
        await admin.disconnect();
      }
    },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      await kill();
      await removeDataDir();
    },
  };
  return broker;
}
