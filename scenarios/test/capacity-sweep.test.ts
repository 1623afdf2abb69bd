import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { CapacityModel } from '../lib/capacity-model.ts';
import type { RunResult } from '../lib/results.ts';
import { runScript, tempDir, type Finished } from './support/processes.ts';

// npm run capacity end to end: a seconds-long sweep against the embedded server, real processes and sockets.

/** `npm run capacity -- <args>`, stopped (and failed) if it outlives the deadline. */
function runCapacity(args: string[], timeoutMs: number): Promise<Finished> {
  return runScript('capacity-cli.ts', args, timeoutMs).finished;
}

const SMALL = ['--viewers', '40,80', '--rate', '4', '--rooms', '1', '--ramp', '1s', '--hold', '4s', '--window', '1s', '--windows', '2', '--storm', '60', '--token-rounds', '2', '--token-round', '300ms', '--workers', '1'];
const FIGURES = ['deliveriesPerSecondAtSlo', 'memoryPerConnectionBytes', 'handshakesPerSecond', 'createChatTokenPerSecond', 'cpuMicrosPerDelivery', 'bytesPerDelivery'] as const;

describe('npm run capacity', () => {
  it('sweeps the embedded server and writes a model with every figure, its spread and what bound it, and a results file with the steps, the knee and the bound', async (t) => {
    const dir = tempDir(t);
    const modelFile = path.join(dir, 'model.json');
    const resultFile = path.join(dir, 'sweep.json');
    const run = await runCapacity([...SMALL, '--model', modelFile, '--out', resultFile], 150_000);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /step 2\/2: 80 viewers, 1 room\(s\), 4 msg\/s per room → /);

    const model = JSON.parse(readFileSync(modelFile, 'utf8')) as CapacityModel;
    assert.equal(model.kind, 'chatstorm-capacity-model');
    for (const name of FIGURES) {
      const f = model.figures[name];
      assert.ok(f, `figure ${name} is in the model`);
      assert.equal(typeof f.value, 'number', `${name} has a value: ${JSON.stringify(f)}`);
      assert.ok(['server', 'generator', 'none'].includes(f.boundBy), `${name} says what bound it: ${f.boundBy}`);
      assert.ok(f.unit.length > 0, `${name} has a unit`);
      assert.ok(f.spread && f.spread.n >= 2, `${name} has a spread over repeated samples: ${JSON.stringify(f.spread)}`);
    }
    assert.equal(model.curve.points.length, 2);
    assert.ok('knee' in model.curve);
    assert.equal(typeof model.generatorBound, 'boolean');
    assert.equal(model.measured.maxViewersPerRoom, 80);

    const result = JSON.parse(readFileSync(resultFile, 'utf8')) as RunResult;
    assert.equal(result.steps?.length, 2);
    assert.ok(result.capacity && 'knee' in result.capacity, 'the results carry capacity.knee');
    assert.ok(['server', 'generator', 'none'].includes(result.capacity!.boundBy!));
  });

  it('stops at the first step that crosses the SLO (here the server’s CPU), names the crossing, and writes a model without a deliveries figure', async (t) => {
    const dir = tempDir(t);
    const modelFile = path.join(dir, 'model.json');
    const run = await runCapacity([...SMALL, '--storm', '0', '--token-rounds', '0', '--server-cpu', '0.001', '--model', modelFile, '--out', path.join(dir, 'sweep.json')], 120_000);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, /step 1\/2: .* crossed the SLO: server CPU \d+ % > 0.001 %/);
    assert.doesNotMatch(run.output, /step 2\/2/);
    const model = JSON.parse(readFileSync(modelFile, 'utf8')) as CapacityModel;
    assert.equal(model.figures.deliveriesPerSecondAtSlo.value, null);
    assert.equal(model.figures.deliveriesPerSecondAtSlo.boundBy, 'server');
    assert.match(model.stoppedBy, /step 1 .* crossed the SLO: server CPU/);
    assert.equal(model.figures.handshakesPerSecond.value, null);
    assert.match(model.figures.handshakesPerSecond.note!, /no connection storm ran/);
  });

  for (const [args, message] of [
    [['--loss', '2'], /--loss 2: a ratio from 0 to 1, or a percentage/],
    [['--hold', '2s', '--window', '1s', '--windows', '3'], /--hold 2000 ms is too short for 3 settled windows of 1000 ms/],
    [['--transport', 'tcp'], /--transport: ws or raw/],
    [['--viewers', '100,abc'], /--viewers 100,abc: a comma-separated list of positive numbers/],
    [['--receive', 'count', '--transport', 'ws'], /--receive count reads the WebSocket framing itself: it needs --transport raw/],
    [['--bus', '/nonexistent/bus.json'], /--bus \/nonexistent\/bus.json: ENOENT/],
  ] as [string[], RegExp][]) {
    it(`refuses ${args.join(' ')} with a usage error that says why, before starting anything`, async () => {
      const run = await runCapacity(args, 30_000);
      assert.equal(run.code, 2, run.output);
      assert.match(run.output, message);
      assert.doesNotMatch(run.output, /chatstorm started/);
    });
  }
});
