import { fileURLToPath } from 'node:url';
import { superviseWorkers, type WorkerListening } from './cluster/workers.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { startServer, UwsFallbackError } from './server.ts';

let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(error.message.startsWith('Usage') ? 0 : 2);
  }
  throw error;
}

const log = createLogger(config.logLevel);
if (config.workers > 1) {
  process.exit(await superviseWorkers(config, fileURLToPath(import.meta.url), process.argv.slice(2), log));
}
const starting = startServer(config, log);
// Handlers go in before the server prints that it listens: a signal sent on seeing that line
// must not meet the default action (exit without closing sockets or flushing the store).
let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  starting
    .then((server) => server.close())
    .then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
// Token key rotation without dropping live sockets (tokens/token-keys.ts); it logs its own outcome.
process.on('SIGHUP', () => void starting.then((server) => server.reloadTokenKeys()).catch(() => {}));
// A worker under --workers: its supervisor waits for this, and when the supervisor is gone (killed
// without a chance to forward a signal) the worker stops rather than serve on unsupervised.
if (process.send) {
  process.on('disconnect', () => stop('supervisor gone'));
}
try {
  const server = await starting;
  if (process.send) {
    const listening: WorkerListening = { type: 'listening', url: server.url, metricsUrl: server.metricsUrl, nodeId: config.nodeId ?? '' };
    process.send(listening);
  }
} catch (error) {
  if (error instanceof UwsFallbackError) {
    console.error(error.message);
    process.exit(3);
  }
  log.fatal({ err: error }, 'chatstorm failed to start');
  process.exit(1);
}
