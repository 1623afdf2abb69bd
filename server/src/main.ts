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
try {
  const server = await startServer(config, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (error) {
  if (error instanceof UwsFallbackError) {
    console.error(error.message);
    process.exit(3);
  }
  log.fatal({ err: error }, 'chatstorm failed to start');
  process.exit(1);
}
