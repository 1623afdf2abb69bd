import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { backlogLimitMs, backlogSummary, generatorBoundBy, isGeneratorBound, stepBacklog } from '../runner/generator-bound.ts';
import { BacklogClock, procAddresses, procPort, ReceiveBacklog, targetEndpoints, tcpQueues } from '../runner/receive-backlog.ts';
import { waitFor } from './support/wait-for.ts';

// The generator's receive backlog: the /proc parser, the bytes-to-ms clock, and the rule that
// says whether the generator or the server was the limit (generator-bound.ts).

// Target 127.0.0.1:8080 (1F90) and [::1]:8080. Columns as the kernel writes them (sl right-aligned
// to 4, then the fixed layout); rows past 9999 widen sl, which the parser must not mind.
const TCP = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     ',
  // the server's listening socket: not ESTABLISHED
  '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 100 1 0000000000000000 100 0 0 10 0                     ',
  // a generator socket to the target: 0x200 unread
  '   1: 0100007F:A000 0100007F:1F90 01 00000000:00000200 00:00000000 00000000  1000        0 101 1 0000000000000000 20 4 30 10 -1                    ',
  // the server's end of it: 0x1000 queued to send, 0x10 unread by the server — not the generator's
  '   2: 0100007F:1F90 0100007F:A000 01 00001000:00000010 01:00000014 00000000  1000        0 102 1 0000000000000000 20 4 30 10 -1                    ',
  // a generator socket closing (FIN_WAIT1): not counted
  '   3: 0100007F:A001 0100007F:1F90 04 00000000:00000999 00:00000000 00000000  1000        0 103 1 0000000000000000 20 4 30 10 -1                    ',
  // another server on 8081: unrelated
  '   4: 0100007F:A002 0100007F:1F91 01 00000000:00007000 00:00000000 00000000  1000        0 104 1 0000000000000000 20 4 30 10 -1                    ',
  // the same port on another address: unrelated
  '   5: 0200007F:A003 0200007F:1F90 01 00000000:00008000 00:00000000 00000000  1000        0 105 1 0000000000000000 20 4 30 10 -1                    ',
  // a row whose sl is wider than 4: the generator again, 0x1
  '10000: 0100007F:A004 0100007F:1F90 01 00000000:00000001 00:00000000 00000000  1000        0 106 1 0000000000000000 20 4 30 10 -1                    ',
  '',
].join('\n');

const TCP6 = [
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  // generator over ::1: 0x300 unread
  '   0: 00000000000000000000000001000000:B000 00000000000000000000000001000000:1F90 01 00000000:00000300 00:00000000 00000000  1000        0 200 1 0000000000000000 20 4 30 10 -1',
  // its server end: 0x2000 to send
  '   1: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:B000 01 00002000:00000000 00:00000000 00000000  1000        0 201 1 0000000000000000 20 4 30 10 -1',
  // a dual-stack server socket accepting 127.0.0.1 (::ffff:127.0.0.1): 0x400 to send
  '   2: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:A005 01 00000400:00000000 00:00000000 00000000  1000        0 202 1 0000000000000000 20 4 30 10 -1',
  // TIME_WAIT to the target: not counted
  '   3: 00000000000000000000000001000000:B001 00000000000000000000000001000000:1F90 06 00000000:00000050 03:00001770 00000000     0        0 0 3 0000000000000000',
].join('\n');

describe('receive backlog', () => {
  it('encodes addresses and ports as /proc writes them (IPv4, its IPv4-mapped form, IPv6 loopback)', () => {
    assert.deepEqual(procAddresses('127.0.0.1'), ['0100007F', '0000000000000000FFFF00000100007F']);
    assert.deepEqual(procAddresses('::1'), ['00000000000000000000000001000000']);
    assert.equal(procPort(8080), '1F90');
    assert.throws(() => procAddresses('localhost'), /not an IP address/);
  });

  it('sums the unread bytes of the generator’s ESTABLISHED sockets to the target over tcp and tcp6, and the server’s own sockets apart', async () => {
    const targets = await targetEndpoints(['ws://127.0.0.1:8080/', 'ws://[::1]:8080/']);
    const q = tcpQueues([TCP, TCP6], targets);
    assert.equal(q.clientRecvBytes, 0x200 + 0x1 + 0x300, 'generator sockets only: not the server’s own, not FIN_WAIT/TIME_WAIT, not another port or address');
    assert.equal(q.clientSockets, 3);
    assert.equal(q.serverSendBytes, 0x1000 + 0x2000 + 0x400);
    assert.equal(q.serverRecvBytes, 0x10);
    assert.equal(q.serverSockets, 3);
    assert.equal(q.lines, 11, 'every socket listed, whatever its state');
    const remote = tcpQueues([TCP], await targetEndpoints(['ws://127.0.0.1:8081/']));
    assert.equal(remote.clientRecvBytes, 0x7000);
    assert.equal(remote.serverSendBytes, null, 'no socket here is the server’s: its queues are unknown, not zero');
    assert.deepEqual(tcpQueues(['  sl  local_address rem_address   st tx_queue rx_queue\n'], targets), { clientRecvBytes: 0, serverSendBytes: null, serverRecvBytes: null, clientSockets: 0, serverSockets: 0, lines: 0 });
  });

  it('resolves localhost to the loopback addresses a client may actually connect to', async () => {
    const forms = (await targetEndpoints(['ws://localhost:8080/'])).map((e) => e.address);
    assert.ok(forms.includes('0100007F') || forms.includes('00000000000000000000000001000000'), JSON.stringify(forms));
    assert.ok(forms.every((f) => /^[0-9A-F]+$/.test(f)));
  });

  it('reads the real kernel queues: bytes a server wrote that a client has not read count as the client’s backlog', async (t) => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const { port } = server.address() as net.AddressInfo;
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect({ port, host: 'localhost' });
    t.after(() => client.destroy());
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    client.pause();
    const serverSide = await accepted;
    t.after(() => serverSide.destroy());
    // More than a paused Node socket takes into its own buffer (its high-water mark) and than the
    // client's kernel queue holds: the rest waits in the server's send queue.
    const total = 8 * 1024 * 1024;
    serverSide.write(Buffer.alloc(total, 1));
    const sampler = await ReceiveBacklog.open([`ws://localhost:${port}/`]);
    let last = sampler.sample();
    await waitFor(
      () => (last = sampler.sample()) != null && last.clientRecvBytes > 64 * 1024 && (last.serverSendBytes ?? 0) > 0,
      () => `unread bytes on the client and a queue on the server, saw ${JSON.stringify(last)}`,
      5000,
    );
    assert.equal(last!.clientSockets, 1);
    assert.equal(last!.serverSockets, 1, 'the server’s own socket is the server side');
    assert.ok(last!.clientRecvBytes + last!.serverSendBytes! <= total);
    client.resume();
    await waitFor(() => sampler.sample()?.clientRecvBytes === 0, 'the client to have read its backlog', 5000);
  });

  it('turns unread bytes into ms of the traffic reaching the generator, also while a worker reads nothing', () => {
    const clock = new BacklogClock();
    assert.equal(clock.next(0, 100_000, 1), 0);
    assert.equal(clock.next(50_000, 50_000, 1), 500, 'half a second of 100 kB/s waits');
    assert.equal(clock.next(150_000, 0, 1), 1500, 'a stalled reader: nothing read, the queue grew by a second’s worth');
    assert.equal(clock.next(0, 150_000, 1), 0, 'drained');
    assert.equal(new BacklogClock().next(10, 0, 1), 1000, 'bytes that just arrived with nothing read');
  });

  it('calls the generator the limit on its backlog when known, whatever its CPU, and on its CPU only when the backlog is unknown', () => {
    const p99 = 100;
    assert.equal(backlogLimitMs(p99), 25);
    assert.equal(generatorBoundBy({ backlogMs: 40, cpuBusy: false, lagging: false }, p99), 'backlog');
    assert.equal(isGeneratorBound({ backlogMs: 3, cpuBusy: true, lagging: false }, p99), false, 'a busy CPU that reads in time is not the bottleneck');
    assert.equal(isGeneratorBound({ backlogMs: 25, cpuBusy: true, lagging: false }, p99), false, 'the limit itself is not over it');
    assert.equal(generatorBoundBy({ backlogMs: null, cpuBusy: true, lagging: false }, p99), 'cpu');
    assert.equal(isGeneratorBound({ backlogMs: null, cpuBusy: false, lagging: false }, p99), false);
    assert.equal(generatorBoundBy({ backlogMs: 1, cpuBusy: false, lagging: true }, p99), 'event-loop lag');
  });

  it('judges a step on the median of its own intervals and says where the backlog sat', () => {
    const points = [
      { t: 1, viewers: 100, generatorBacklogMs: 0, serverSendQueueBytes: 0 },
      { t: 2, viewers: 100, generatorBacklogMs: 2, serverSendQueueBytes: 500_000 },
      { t: 3, viewers: 100, generatorBacklogMs: 80, serverSendQueueBytes: 0 },
      { t: 4, viewers: 100, generatorBacklogMs: 60, serverSendQueueBytes: 0 },
      { t: 5, viewers: 100, generatorBacklogMs: null, serverSendQueueBytes: null },
      { t: 6, viewers: 100, generatorBacklogMs: 90, serverSendQueueBytes: 0 },
    ];
    assert.deepEqual(stepBacklog(points, 2000, 0), { median: 1, max: 2 });
    assert.deepEqual(stepBacklog(points, 2000, 1), { median: 70, max: 80 });
    assert.deepEqual(stepBacklog(points, 2000, 2), { median: 90, max: 90 }, 'an unknown interval is skipped, not a zero');
    assert.equal(stepBacklog([{ t: 1, generatorBacklogMs: null }], 1000, 0), null);
    // Rate steps begin after the join (Plan.stepsFromMs): step 1 is then the seconds after it.
    assert.deepEqual(stepBacklog(points, 2000, 0, 2000), { median: 70, max: 80 });
    assert.equal(backlogSummary([points[0]!, points[0]!, points[1]!], 100).sat, 'neither');
    assert.equal(backlogSummary([points[1]!, points[1]!], 100).sat, 'server', '5,000 bytes queued per connection');
    // The same bytes spread over 5,000 connections are 100 bytes each: frames in flight, not a backlog.
    assert.equal(backlogSummary([{ ...points[1]!, viewers: 5000 }, { ...points[1]!, viewers: 5000 }], 100).sat, 'neither');
    assert.equal(backlogSummary(points.slice(2), 100).sat, 'generator');
    assert.equal(backlogSummary([{ t: 1, generatorBacklogMs: null }], 100).sat, 'unknown');
  });
});
