import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { CAPACITY_MODEL_KIND, type CapacityModel } from '../lib/capacity-model.ts';
import { plan, USABLE_MEMORY_SHARE, type PlanAnswer, type PlanRequest } from '../lib/capacity-plan.ts';
import { parseDurationMs } from '../lib/duration.ts';

// `npm run plan`: reads a capacity model (npm run capacity) and answers how many nodes a deployment
// needs; the arithmetic is lib/capacity-plan.ts.

export const PLAN_USAGE = `Usage: npm run plan -- --viewers N --rooms N --rate N --p99 D [options]

  --viewers N             concurrent viewers across all rooms
  --rooms N               rooms they are split over
  --rate N                messages/s per room (each is delivered to every viewer of its room)
  --p99 D                 delivery p99 to hold, e.g. 250ms
  --churn N/min           viewers joining per minute in steady state (each one a token and a handshake), e.g. 3000/min
  --model FILE            the capacity model (default results/capacity-model.json)
  --cores-per-machine N   one chatstorm worker per core (default: the model machine's cores)
  --memory-per-machine N  in GiB (default: the model machine's memory); ${USABLE_MEMORY_SHARE * 100} % of it is planned for
  --headroom P            spare capacity to keep on every resource, in % (default 20)
  --json                  the answer as JSON on stdout
  --help`;

class PlanUsageError extends Error {}

const positive = (flag: string) => z.coerce.number({ message: `--${flag}: a number` }).positive(`--${flag}: above zero`);

function parse(argv: string[]) {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        viewers: { type: 'string' },
        rooms: { type: 'string' },
        rate: { type: 'string' },
        p99: { type: 'string' },
        churn: { type: 'string' },
        model: { type: 'string', default: 'results/capacity-model.json' },
        'cores-per-machine': { type: 'string' },
        'memory-per-machine': { type: 'string' },
        headroom: { type: 'string', default: '20' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    throw new PlanUsageError((error as Error).message);
  }
  if (values.help) return { help: true as const };
  for (const flag of ['viewers', 'rooms', 'rate', 'p99']) if (values[flag] === undefined) throw new PlanUsageError(`--${flag} is required`);
  const schema = z.object({
    viewers: positive('viewers').int('--viewers: a whole number'),
    rooms: positive('rooms').int('--rooms: a whole number'),
    rate: positive('rate'),
    p99: z.string().transform((text, ctx) => {
      try {
        const ms = parseDurationMs(text);
        if (ms > 0) return ms;
      } catch {
        // reported below
      }
      ctx.addIssue({ code: 'custom', message: `--p99 ${text}: a duration above zero, e.g. 250ms` });
      return z.NEVER;
    }),
    churn: z
      .string()
      .transform((text, ctx) => {
        const m = /^(\d+(?:\.\d+)?)\s*\/\s*(min|s)$/.exec(text.trim());
        if (!m) {
          ctx.addIssue({ code: 'custom', message: `--churn ${text}: joins per minute or second, e.g. 3000/min or 50/s` });
          return z.NEVER;
        }
        return Number(m[1]) * (m[2] === 's' ? 60 : 1);
      })
      .optional(),
    cores: positive('cores-per-machine').int('--cores-per-machine: a whole number').optional(),
    memory: positive('memory-per-machine').optional(),
    headroom: z.coerce.number({ message: '--headroom: a number' }).min(0, '--headroom: 0 or more'),
  });
  const p = schema.safeParse({
    viewers: values.viewers,
    rooms: values.rooms,
    rate: values.rate,
    p99: values.p99,
    churn: values.churn,
    cores: values['cores-per-machine'],
    memory: values['memory-per-machine'],
    headroom: values.headroom,
  });
  if (!p.success) throw new PlanUsageError(p.error.issues.map((i) => i.message).join('\n'));
  if (p.data.rooms > p.data.viewers) throw new PlanUsageError(`--rooms ${p.data.rooms} is more than --viewers ${p.data.viewers}`);
  return { help: false as const, ...p.data, model: values.model as string, json: Boolean(values.json) };
}

function readModel(file: string): CapacityModel {
  let model: unknown;
  try {
    model = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new PlanUsageError(missing ? `--model ${file}: no such file (measure one with npm run capacity)` : `--model ${file}: ${(error as Error).message}`);
  }
  const m = model as Partial<CapacityModel>;
  if (m.kind !== CAPACITY_MODEL_KIND || !m.figures || !m.curve || !m.measured) throw new PlanUsageError(`--model ${file}: not a capacity model written by npm run capacity`);
  return model as CapacityModel;
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');
const UNITS: Record<string, (x: number) => string> = { bytes: (x) => `${(x / 1024 ** 3).toFixed(1)} GiB` };

export function formatAnswer(a: PlanAnswer, r: PlanRequest, model: CapacityModel, file: string): string {
  const lines = [
    `plan: ${n(r.viewers)} viewers in ${n(r.rooms)} room(s) at ${r.ratePerRoom} msg/s per room, p99 ≤ ${r.p99Ms} ms` + (r.churnPerMinute ? `, ${n(r.churnPerMinute)} joins/min` : ''),
    `  model         ${file} (measured ${model.measuredAt} on ${model.machine.cores} core(s), ${model.target.kind} target)`,
  ];
  if (a.refused) {
    lines.push(`  CANNOT ANSWER ${a.refused}`);
  } else {
    lines.push(
      `  answer        ${n(a.nodes!)} node(s): ${n(a.machines!)} machine(s) of ${r.coresPerMachine} core(s), each running chatstorm --workers ${a.workersPerMachine}`,
      `  binds         ${a.binding}, with ${a.headroomPercent!.toFixed(0)} % headroom (${r.headroomPercent} % asked)`,
    );
    for (const need of a.needs) {
      const fmt = UNITS[need.unit] ?? ((x: number) => `${n(x)} ${need.unit}`);
      lines.push(`    ${need.resource.padEnd(14)} needs ${fmt(need.demand)}; a node gives ${fmt(need.perNode)} → ${need.nodes} node(s), ${need.utilisationPercent.toFixed(0)} % used`);
    }
    if (a.backplane) lines.push(`  backplane     ${n(a.backplane.messagesPerSecondPerNode)} bus messages/s per node, ${(a.backplane.coreShare * 100).toFixed(1)} % of its core`);
  }
  for (const e of a.extrapolations) lines.push(`  EXTRAPOLATED  ${e}`);
  for (const note of a.notes) lines.push(`  note          ${note}`);
  return lines.join('\n');
}

function main(): number {
  let args: ReturnType<typeof parse>;
  let model: CapacityModel;
  try {
    args = parse(process.argv.slice(2));
    if (args.help) {
      process.stdout.write(`${PLAN_USAGE}\n`);
      return 0;
    }
    model = readModel(args.model);
  } catch (error) {
    if (!(error instanceof PlanUsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${PLAN_USAGE}\n`);
    return 2;
  }
  const request: PlanRequest = {
    viewers: args.viewers,
    rooms: args.rooms,
    ratePerRoom: args.rate,
    p99Ms: args.p99,
    churnPerMinute: args.churn ?? 0,
    coresPerMachine: args.cores ?? model.machine.cores,
    memoryPerMachineBytes: args.memory !== undefined ? args.memory * 1024 ** 3 : model.machine.totalMemoryBytes,
    headroomPercent: args.headroom,
  };
  const answer = plan(model, request);
  process.stdout.write(args.json ? `${JSON.stringify({ request, answer }, null, 2)}\n` : `${formatAnswer(answer, request, model, args.model)}\n`);
  return answer.refused ? 1 : 0;
}

process.exit(main());
