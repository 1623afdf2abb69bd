import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';

// Configuration is read once, here, from flags and environment (flags win) and then frozen.
// Nothing else in the server reads process.env or process.argv.

const bool = z
  .union([z.boolean(), z.enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])])
  .transform((v) => v === true || v === '1' || v === 'true' || v === 'yes' || v === 'on');

const positiveInt = z.coerce.number().int().positive();

const ConfigSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  dataDir: z.string().min(1).default('./.chatstorm'),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1')
    .default('us-east-1'),
  accountId: z.string().regex(/^\d{12}$/, '12 digits').default('123456789012'),
  /** base64 of 32 bytes; when absent a key is generated once and kept in the data dir. */
  tokenKey: z.string().optional(),
  /** A JSON file {"current": base64, "previous": [base64…]}, re-read on SIGHUP (tokens/token-keys.ts). */
  tokenKeyFile: z.string().min(1).optional(),
  tokenLifetimeSeconds: positiveInt.default(3600),
  /**
   * Seconds in one minute of sessionDurationInMinutes. 60 is the real service; less compresses
   * time so that session-expiry churn can be load-tested (and tested) without waiting minutes.
   */
  sessionMinuteSeconds: positiveInt.max(60).default(60),
  reviewTimeoutMs: positiveInt.default(200),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  metricsPort: z.coerce.number().int().min(0).max(65535).optional(),
  /** Rooms that get per-room metric series; 0 (the default) keeps every label set fixed. */
  metricsRoomLabels: z.coerce.number().int().min(0).max(1000).default(0),
  /** Lifts every cap the real service imposes, for benchmarking. Each cap below can also be set alone. */
  bench: bool.default(false),
  maxConnections: positiveInt.optional(),
  maxRoomMessageRate: positiveInt.optional(),
  maxRooms: positiveInt.optional(),
  apiQuotas: bool.optional(),
  /**
   * Bytes a receiver may have waiting in its send buffer; past it the receiver is a slow consumer
   * and is disconnected (never silently skipped, which would lose messages without a trace).
   */
  maxBackpressureBytes: positiveInt.default(1024 * 1024),
  /**
   * A receiver whose send buffer stays at or above a sixteenth of maxBackpressureBytes this long is
   * a slow consumer too, whatever its size: the buffer is a queue, so this bounds how late a
   * connected viewer's messages can be, and how long a backlog survives an overload. A viewer that
   * reads keeps its buffer near empty; one that falls behind by a few frames and catches up is
   * never near this.
   */
  slowConsumerMs: positiveInt.default(1000),
  idleTimeoutSeconds: z.coerce.number().int().min(0).max(960).default(120),
  /**
   * A control-plane request body must arrive within this many seconds of its head, or the client
   * is answered and the connection cut (slowloris). uWebSockets.js itself drops, silently, a
   * request arriving slower than about 16 KB/s 8 to 12 s after it began; the default comes before
   * that, so that a slow sender is told why.
   */
  httpBodyTimeoutSeconds: positiveInt.max(300).default(5),
  allowUwsFallback: bool.default(false),
  /** Redis shared by every node (store, quotas, cross-node fan-out): what lets more than one process serve. */
  /**
   * Processes serving the one port (SO_REUSEPORT, which uWebSockets.js sets on Linux), under a
   * supervisor (cluster/workers.ts). auto = the cores of this machine.
   */
  workers: z
    .union([z.literal('auto'), positiveInt.max(256)])
    .transform((value) => (value === 'auto' ? availableParallelism() : value))
    .default(1),
  /**
   * The `node` label on every metric. Absent on a lone node, whose series keep the label sets they
   * always had; workers get <id or hostname:port>-w<i>. Prometheus label values stay readable with this alphabet.
   */
  nodeId: z.string().regex(/^[A-Za-z0-9_.:@-]{1,100}$/, 'letters, digits and _ . : @ - (at most 100)').optional(),
  /** Records token ids to disk so a token stays single-use across restarts. */
  persistUsedTokens: bool.default(true),
  /**
   * Redis shared by every node of one service: rooms, logging configurations, tags, used tokens,
   * the fleet-wide quotas and the message bus between nodes (redis/, bus/redis-bus.ts). Absent: the
   * embedded store and bus, one node.
   */
  redisUrl: z.string().regex(/^rediss?:\/\/\S+$/, 'a Redis URL such as redis://127.0.0.1:6379').optional(),
  /** none: any credentials work (local use); sigv4: every API request must be signed by one of accessKeys. */
  auth: z.enum(['none', 'sigv4']).default('none'),
  accessKeys: z
    .union([z.string(), z.array(z.string())])
    // The environment variable holds them comma-separated; the flag is repeated.
    .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((item) => item.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[A-Za-z0-9_.-]+:[^\s,]+$/, 'ID:SECRET, e.g. AKIDLOCAL:s3cret (no spaces or commas)')))
    .transform((items) => items.map((item) => ({ accessKeyId: item.slice(0, item.indexOf(':')), secretAccessKey: item.slice(item.indexOf(':') + 1) })))
    .default([]),
}).superRefine((config, issues) => {
  if (config.auth === 'sigv4' && config.accessKeys.length === 0) {
    issues.addIssue({ code: 'custom', path: ['auth'], message: 'sigv4 needs at least one --access-key ID:SECRET (or CHATSTORM_ACCESS_KEYS=ID:SECRET,…)' });
  }
  if (config.auth === 'none' && config.accessKeys.length > 0) {
    // Keys without verification would look like protection that is not there.
    issues.addIssue({ code: 'custom', path: ['accessKeys'], message: 'access keys are only checked with --auth sigv4; add it, or drop the keys' });
  }
  const ids = config.accessKeys.map((key) => key.accessKeyId);
  const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
  if (repeated) issues.addIssue({ code: 'custom', path: ['accessKeys'], message: `access key id ${repeated} is given twice` });
  if (config.workers > 1 && config.redisUrl === undefined) {
    // Without a shared backplane each worker would have its own rooms, tokens and subscribers:
    // a token from one would be refused by the next, a message reach a fraction of the room.
    issues.addIssue({
      code: 'custom',
      path: ['workers'],
      message: `${config.workers} workers must share rooms, tokens and fan-out through Redis: give --redis-url redis://host:6379 (CHATSTORM_REDIS_URL), or run --workers 1`,
    });
  }
  if (config.workers > 1 && config.port === 0) {
    issues.addIssue({ code: 'custom', path: ['workers'], message: 'workers share one port: give a fixed --port (0 would give each worker a different one)' });
  }
  if (config.tokenKey !== undefined && config.tokenKeyFile !== undefined) {
    issues.addIssue({ code: 'custom', path: ['tokenKeyFile'], message: 'give either --token-key or --token-key-file, not both' });
  }
});

export type ChatstormConfig = Readonly<
  Omit<z.infer<typeof ConfigSchema>, 'maxConnections' | 'maxRoomMessageRate' | 'maxRooms' | 'apiQuotas'> & {
    /** Test-only (see TEST_ONLY_FLAGS): KiB retained per SEND_MESSAGE; 0 or absent in every real use. */
    testLeakKibPerMessage?: number;
    limits: Readonly<{
      maxConnections: number;
      maxRoomMessageRate: number;
      maxRooms: number;
      maxLoggingConfigurations: number;
      apiQuotas: boolean;
    }>;
  }
>;

// The real service's caps (ivs-chat-protocol.md §5).
export const SERVICE_LIMITS = {
  maxConnections: 50_000,
  maxRoomMessageRate: 100,
  maxRooms: 50_000,
  maxLoggingConfigurations: 10,
} as const;

const FLAGS = {
  port: { env: 'PORT', flag: 'port', about: 'TCP port for the API, WebSocket and /metrics (0 = any free port) [8080]' },
  host: { env: 'HOST', flag: 'host', about: 'address to listen on; 0.0.0.0 in containers [127.0.0.1]' },
  dataDir: { env: 'CHATSTORM_DATA_DIR', flag: 'data-dir', about: 'rooms, tags, logging configurations, token key, chat logs [./.chatstorm]' },
  region: { env: 'CHATSTORM_REGION', flag: 'region', about: 'region in ARNs [us-east-1]' },
  accountId: { env: 'CHATSTORM_ACCOUNT_ID', flag: 'account-id', about: 'account id in ARNs [123456789012]' },
  tokenKey: { env: 'CHATSTORM_TOKEN_KEY', flag: 'token-key', about: 'base64 32-byte chat token key; nodes that share it accept the same tokens' },
  tokenKeyFile: { env: 'CHATSTORM_TOKEN_KEY_FILE', flag: 'token-key-file', about: 'JSON {"current": key, "previous": [keys]}, re-read on SIGHUP: rotation' },
  tokenLifetimeSeconds: { env: 'CHATSTORM_TOKEN_LIFETIME_SECONDS', flag: 'token-lifetime-seconds', about: 'chat token lifetime, capped by the session [3600]' },
  sessionMinuteSeconds: { env: 'CHATSTORM_SESSION_MINUTE_SECONDS', flag: 'session-minute-seconds', about: 'seconds per session minute, to compress session expiry [60]' },
  reviewTimeoutMs: { env: 'CHATSTORM_REVIEW_TIMEOUT_MS', flag: 'review-timeout-ms', about: 'message review handler timeout [200]' },
  logLevel: { env: 'CHATSTORM_LOG_LEVEL', flag: 'log-level', about: 'fatal|error|warn|info|debug|trace|silent [info]' },
  metricsPort: { env: 'METRICS_PORT', flag: 'metrics-port', about: 'also serve /metrics on this port' },
  metricsRoomLabels: { env: 'CHATSTORM_METRICS_ROOM_LABELS', flag: 'metrics-room-labels', about: 'per-room metric series for the first N rooms, the rest as "_other" (max 1000) [0]' },
  bench: { env: 'CHATSTORM_BENCH', flag: 'bench', about: 'lift every cap of the real service (quotas, room rate, connections)' },
  maxConnections: { env: 'CHATSTORM_MAX_CONNECTIONS', flag: 'max-connections', about: 'concurrent WebSocket connections [50000]' },
  maxRoomMessageRate: { env: 'CHATSTORM_MAX_ROOM_MESSAGE_RATE', flag: 'max-room-message-rate', about: 'highest maximumMessageRatePerSecond a room may have [100]' },
  maxRooms: { env: 'CHATSTORM_MAX_ROOMS', flag: 'max-rooms', about: 'rooms that may exist [50000]' },
  apiQuotas: { env: 'CHATSTORM_API_QUOTAS', flag: 'api-quotas', about: 'on|off: the real per-operation request quotas [on]' },
  maxBackpressureBytes: { env: 'CHATSTORM_MAX_BACKPRESSURE_BYTES', flag: 'max-backpressure-bytes', about: 'send buffer at which a slow consumer is cut (checked each second, ten times a second while a buffer fills) [1048576]' },
  slowConsumerMs: { env: 'CHATSTORM_SLOW_CONSUMER_MS', flag: 'slow-consumer-ms', about: 'cut a receiver whose send buffer held 1/16 of --max-backpressure-bytes or more this long [1000]' },
  idleTimeoutSeconds: { env: 'CHATSTORM_IDLE_TIMEOUT_SECONDS', flag: 'idle-timeout-seconds', about: 'close sockets silent this long; pings keep live ones open [120]' },
  httpBodyTimeoutSeconds: { env: 'CHATSTORM_HTTP_BODY_TIMEOUT_SECONDS', flag: 'http-body-timeout-seconds', about: 'cut an HTTP request whose body has not arrived this long after its head [5]' },
  workers: { env: 'CHATSTORM_WORKERS', flag: 'workers', about: 'N|auto: processes on the one port, each with metrics on --metrics-port+i [1]' },
  nodeId: { env: 'CHATSTORM_NODE_ID', flag: 'node-id', about: 'the node label on every metric [none; workers: <node-id or hostname:port>-w<i>]' },
  allowUwsFallback: { env: 'CHATSTORM_ALLOW_UWS_FALLBACK', flag: 'allow-uws-fallback', about: 'run even on the pure-JS uWebSockets.js fallback (slow)' },
  persistUsedTokens: { env: 'CHATSTORM_PERSIST_USED_TOKENS', flag: 'persist-used-tokens', about: 'true|false: remember used tokens across restarts [true]' },
  redisUrl: { env: 'CHATSTORM_REDIS_URL', flag: 'redis-url', about: 'redis://host:port shared by every node: one service (store, tokens, quotas, message bus); needed for --workers > 1' },
  auth: { env: 'CHATSTORM_AUTH', flag: 'auth', about: 'none|sigv4: verify AWS SigV4 on every API request [none]' },
  accessKeys: { env: 'CHATSTORM_ACCESS_KEYS', flag: 'access-key', about: 'ID:SECRET accepted with --auth sigv4; repeat the flag (env: comma-separated)' },
} as const satisfies Record<keyof z.input<typeof ConfigSchema>, { env: string; flag: string; about: string }>;

/**
 * TEST ONLY, never for users: flags a test passes to make a deliberately broken server (the soak
 * verdict's leaking-server test, scenarios/test/soak-leak.test.ts). They stay out of FLAGS so that
 * --help never shows them and no environment variable can switch them on by accident.
 */
const TEST_ONLY_FLAGS = {
  testLeakKibPerMessage: { flag: 'test-leak-kib-per-message', schema: z.coerce.number().int().min(0).max(65_536) },
} as const;

const BOOLEAN_FLAGS = new Set(['bench', 'allow-uws-fallback']);
const REPEATABLE_FLAGS = new Set(['access-key']);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const USAGE = `Usage: chatstorm [options]   (every option also reads from the environment variable shown)

${Object.values(FLAGS)
  .map(({ env, flag, about }) => `  --${flag}${BOOLEAN_FLAGS.has(flag) ? '' : ' <value>'}`.padEnd(36) + env.padEnd(34) + about)
  .join('\n')}
  --help`;

export function loadConfig(
  argv: readonly string[] = process.argv.slice(2),
  env: Readonly<Record<string, string | undefined>> = process.env,
): ChatstormConfig {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { help: { type: 'boolean' } };
  for (const { flag } of Object.values(FLAGS)) {
    options[flag] = { type: BOOLEAN_FLAGS.has(flag) ? 'boolean' : 'string', multiple: REPEATABLE_FLAGS.has(flag) };
  }
  for (const { flag } of Object.values(TEST_ONLY_FLAGS)) options[flag] = { type: 'string' };
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (values.help) throw new ConfigError(USAGE);
  const testOnly: { testLeakKibPerMessage?: number } = {};
  for (const [key, { flag, schema }] of Object.entries(TEST_ONLY_FLAGS)) {
    if (values[flag] === undefined) continue;
    const parsed = schema.safeParse(values[flag]);
    if (!parsed.success) throw new ConfigError(`invalid configuration:\n  --${flag}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    testOnly[key as keyof typeof TEST_ONLY_FLAGS] = parsed.data;
  }

  const raw: Record<string, unknown> = {};
  for (const [key, { env: name, flag }] of Object.entries(FLAGS)) {
    const value = values[flag] ?? (env[name] === '' ? undefined : env[name]);
    if (value !== undefined) raw[key] = value;
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]) as keyof typeof FLAGS;
      const names = FLAGS[key] ? `--${FLAGS[key].flag} / ${FLAGS[key].env}` : key;
      return `  ${names}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const { maxConnections, maxRoomMessageRate, maxRooms, apiQuotas, ...rest } = parsed.data;
  const unlimited = Number.MAX_SAFE_INTEGER;
  const bench = rest.bench;
  return Object.freeze({
    ...rest,
    ...testOnly,
    limits: Object.freeze({
      maxConnections: maxConnections ?? (bench ? unlimited : SERVICE_LIMITS.maxConnections),
      maxRoomMessageRate: maxRoomMessageRate ?? (bench ? unlimited : SERVICE_LIMITS.maxRoomMessageRate),
      maxRooms: maxRooms ?? (bench ? unlimited : SERVICE_LIMITS.maxRooms),
      maxLoggingConfigurations: SERVICE_LIMITS.maxLoggingConfigurations,
      apiQuotas: apiQuotas ?? !bench,
    }),
  });
}
