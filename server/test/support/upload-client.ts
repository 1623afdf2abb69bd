// A client in a process of its own, for tests that need one: an in-process client shares the
// server's event loop, so it always reads the answer before the server's close resets the
// connection, and hides what real clients see. Prints one JSON line of outcomes.
import { CreateRoomCommand, IvschatClient } from '@aws-sdk/client-ivschat';

const [url, megabytes, rounds] = process.argv.slice(2);
const body = JSON.stringify({ name: 'n'.repeat(Number(megabytes) * 1024 * 1024) });
const client = new IvschatClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, maxAttempts: 1 });
const outcomes: string[] = [];
const describe = (error: unknown) => {
  const e = error as { name?: string; code?: string; cause?: { code?: string } };
  return e.cause?.code ?? e.code ?? e.name ?? String(error);
};
for (let i = 0; i < Number(rounds); i++) {
  try {
    const response = await fetch(`${url}/CreateRoom`, { method: 'POST', body, signal: AbortSignal.timeout(30_000) });
    outcomes.push(`fetch ${response.status} ${response.headers.get('x-amzn-errortype')}`);
    await response.arrayBuffer();
  } catch (error) {
    outcomes.push(`fetch ${describe(error)}`);
  }
  try {
    await client.send(new CreateRoomCommand({ name: 'n'.repeat(Number(megabytes) * 1024 * 1024) }));
    outcomes.push('sdk success');
  } catch (error) {
    outcomes.push(`sdk ${describe(error)}`);
  }
  try {
    // 40 tags of 128 KiB values: the same 5 MB, refused for its size before its 50-tag rule.
    const tags = Object.fromEntries(Array.from({ length: 40 }, (_, k) => [`k${k}`, 'v'.repeat(128 * 1024)]));
    await client.send(new CreateRoomCommand({ tags }));
    outcomes.push('sdk-tags success');
  } catch (error) {
    outcomes.push(`sdk-tags ${describe(error)}`);
  }
}
client.destroy();
console.log(JSON.stringify(outcomes));
