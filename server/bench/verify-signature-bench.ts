// What --auth sigv4 costs per control-plane request: verifies N CreateChatToken requests signed by
// the SDK's signer, in process (no sockets, so the figure is the verification alone), and prints
// microseconds per request; writes the figures as JSON too.
//   node --import tsx server/bench/verify-signature-bench.ts [N] [out.json]
import { writeFileSync } from 'node:fs';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { SignatureVerifier, type ReceivedRequest } from '../src/control-plane/verify-signature.ts';
import { createMetrics } from '../src/metrics.ts';

const count = Math.min(Number(process.argv[2] ?? 5000), 100_000);
const out = process.argv[3] ?? 'verify-signature-bench.json';
const key = { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench/secret+key' };
const signer = new SignatureV4({ credentials: key, region: 'us-east-1', service: 'ivschat', sha256: Sha256 });
const verifier = new SignatureVerifier([key], 'us-east-1', createMetrics({ uwsFallback: false, version: 'bench' }));

const requests: { received: ReceivedRequest; body: Buffer }[] = [];
for (let i = 0; i < Math.min(count, 1000); i++) {
  const body = JSON.stringify({
    roomIdentifier: 'arn:aws:ivschat:us-east-1:123456789012:room/AbCdEfGhIjKl',
    userId: `viewer-${i}`,
    capabilities: ['SEND_MESSAGE'],
    attributes: { displayName: `Viewer ${i}` },
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: '/CreateChatToken',
      headers: { host: '127.0.0.1:8080', 'content-type': 'application/json', 'content-length': String(body.length) },
      body,
    }),
  );
  requests.push({ received: { method: 'POST', path: '/CreateChatToken', query: '', headers: signed.headers }, body: Buffer.from(body) });
}

for (let i = 0; i < 200; i++) await verifier.verify(requests[i % requests.length]!.received, requests[i % requests.length]!.body);
const started = process.hrtime.bigint();
const cpuStarted = process.cpuUsage();
for (let i = 0; i < count; i++) {
  const { received, body } = requests[i % requests.length]!;
  await verifier.verify(received, body);
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuStarted);
const result = {
  requests: count,
  wallSeconds: Number(seconds.toFixed(3)),
  microsecondsPerVerify: Number(((seconds / count) * 1e6).toFixed(1)),
  cpuMicrosecondsPerVerify: Number(((cpu.user + cpu.system) / count).toFixed(1)),
  verifiesPerSecond: Math.round(count / seconds),
};
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(
  `verified ${count} signed CreateChatToken requests: ${result.microsecondsPerVerify} µs each (${result.cpuMicrosecondsPerVerify} µs CPU), ${result.verifiesPerSecond}/s on one core → ${out}`,
);
