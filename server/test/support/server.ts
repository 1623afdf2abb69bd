import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IvschatClient } from '@aws-sdk/client-ivschat';
import { loadConfig } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/server.ts';

export interface TestServer extends RunningServer {
  readonly dataDir: string;
  readonly wsUrl: string;
  /** An official control-plane client pointed at this server; destroyed by stop(). */
  readonly client: IvschatClient;
  /** Closes the server and the client; removes the data dir unless keepData. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/**
 * A real chatstorm on a random free port of 127.0.0.1, in this process, with its own data dir.
 * `args` are command-line flags, exactly as a user would pass them (e.g. ['--api-quotas', 'off']).
 * Quotas are off unless a test turns them on, so tests may call the API at any rate.
 */
export async function startTestServer(args: string[] = [], options: { dataDir?: string } = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'chatstorm-test-')));
  const hasQuotaFlag = args.includes('--api-quotas') || args.includes('--bench');
  const config = loadConfig(
    ['--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, ...(hasQuotaFlag ? [] : ['--api-quotas', 'off']), ...args],
    { CHATSTORM_LOG_LEVEL: process.env.CHATSTORM_TEST_LOG_LEVEL ?? 'silent' },
  );
  const server = await startServer(config);
  const client = new IvschatClient({
    endpoint: server.url,
    region: config.region,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    // Tests assert on the first answer; the SDK's retries would hide throttling and 500s.
    maxAttempts: 1,
  });
  return Object.assign(Object.create(null), server, {
    dataDir,
    wsUrl: server.url.replace(/^http/, 'ws'),
    client,
    async stop({ keepData = false } = {}) {
      client.destroy();
      await server.close();
      if (!keepData && !options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  }) as TestServer;
}
