// ARNs as the real service forms them: arn:aws:ivschat:<region>:<account>:<type>/<id>

export type ResourceKind = 'room' | 'logging-configuration';

export interface ParsedArn {
  region: string;
  accountId: string;
  kind: ResourceKind;
  id: string;
}

const ARN_PATTERN = /^arn:aws:ivschat:([a-z0-9-]+):(\d{12}):(room|logging-configuration)\/([a-zA-Z0-9]{12})$/;

export function parseArn(arn: string): ParsedArn | undefined {
  const match = ARN_PATTERN.exec(arn);
  if (!match) return undefined;
  return { region: match[1]!, accountId: match[2]!, kind: match[3] as ResourceKind, id: match[4]! };
}

export class ArnFormat {
  constructor(
    private readonly region: string,
    private readonly accountId: string,
  ) {}

  format(kind: ResourceKind, id: string): string {
    return `arn:aws:ivschat:${this.region}:${this.accountId}:${kind}/${id}`;
  }

  /** The id of an ARN of this region and account and of the given kind, or undefined. */
  idOf(arn: string, kind: ResourceKind): string | undefined {
    const parsed = parseArn(arn);
    if (!parsed || parsed.kind !== kind || parsed.region !== this.region || parsed.accountId !== this.accountId) {
      return undefined;
    }
    return parsed.id;
  }
}
