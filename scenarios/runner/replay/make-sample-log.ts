import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { seededRandom } from '../../lib/seeded-random.ts';

// Writes a made-up "launch stream" log in the IVS Chat logging record shape, one <room id>.jsonl
// per room, so the replay can be tried (and its fidelity figures reproduced) without a real log:
//   node --import tsx scenarios/runner/replay/make-sample-log.ts DIR [--seconds 60]
// Room 0 is the main stream: a steady murmur, a build-up and a burst when "it" happens at 60 % of
// the span, moderators deleting spam and kicking a troll; two side rooms chat quietly. Seeded: the
// same arguments give the same file.

const args = process.argv.slice(2);
const dir = args[0];
if (!dir) {
  process.stderr.write('usage: node --import tsx scenarios/runner/replay/make-sample-log.ts DIR [--seconds 60]\n');
  process.exit(2);
}
const seconds = Number(args[args.indexOf('--seconds') + 1] ?? 60) || 60;
const random = seededRandom(42);
const T0 = Date.parse('2026-11-20T20:00:00Z');
const WORDS = ['gg', 'lets go', 'hype', 'wow', 'first time here', 'hello from Lisbon', 'is it live?', 'LOL', 'no way', 'clip it', '🔥🔥🔥', 'W'];
let ids = 0;
const newId = () => (++ids).toString(36).toUpperCase().padStart(12, '0');
const iso = (ms: number) => `${new Date(Math.floor(ms)).toISOString().slice(0, -1)}${String(Math.floor((ms % 1) * 1e6)).padStart(6, '0')}Z`;

function room(name: string, senders: number, rateAt: (s: number) => number, moderated: boolean): number {
  const lines: string[] = [];
  const sent: { id: string; user: string }[] = [];
  let t = 0;
  while (t < seconds * 1000) {
    // Poisson arrivals at the rate of the moment.
    t += (-Math.log(1 - random()) / Math.max(0.1, rateAt(t / 1000))) * 1000;
    if (t >= seconds * 1000) break;
    // A few regulars say most of it.
    const user = `viewer-${Math.floor(senders * random() ** 2)}`;
    const id = newId();
    const content = WORDS[Math.floor(random() * WORDS.length)]!;
    const attributes: Record<string, string> = random() < 0.3 ? { badge: random() < 0.5 ? 'subscriber' : 'vip' } : {};
    lines.push(
      JSON.stringify({
        event_timestamp: iso(T0 + t + 20),
        type: 'MESSAGE',
        version: '1.0',
        payload: { Type: 'MESSAGE', Id: id, RequestId: newId(), Attributes: attributes, Content: content, SendTime: iso(T0 + t), Sender: { UserId: user, Attributes: {} } },
      }),
    );
    sent.push({ id, user });
    if (moderated && random() < 0.02 && sent.length > 3) {
      const target = sent[sent.length - 1 - Math.floor(random() * 3)]!;
      const kick = random() < 0.3;
      const at = T0 + t + 400;
      lines.push(
        JSON.stringify({
          event_timestamp: iso(at),
          type: 'EVENT',
          version: '1.0',
          payload: {
            Type: 'EVENT',
            Id: newId(),
            RequestId: random() < 0.5 ? '' : newId(),
            EventName: kick ? 'aws:DISCONNECT_USER' : 'aws:DELETE_MESSAGE',
            Attributes: kick ? { UserId: target.user, Reason: 'spam' } : { MessageId: target.id, MessageID: target.id, Reason: 'spam' },
            SendTime: iso(at),
          },
        }),
      );
    }
  }
  writeFileSync(path.join(dir!, `${name}.jsonl`), `${lines.join('\n')}\n`);
  return lines.length;
}

mkdirSync(dir, { recursive: true });
const peak = seconds * 0.6;
const main = room('LaunchMain01', 120, (s) => 4 + 30 * Math.exp(-(((s - peak) / 3) ** 2)) + (s > peak - 10 && s < peak ? (s - peak + 10) : 0), true);
const side1 = room('LaunchSide01', 15, () => 1.5, false);
const side2 = room('LaunchSide02', 8, (s) => (s < seconds / 2 ? 0.5 : 2), false);
process.stdout.write(`wrote ${main + side1 + side2} records over ${seconds} s in ${dir}\n`);
