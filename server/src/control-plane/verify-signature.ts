import { createHash, timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest as UwsRequest } from 'uWebSockets.js';
import type { Context } from '../context.ts';
import { ApiError, apiErrors } from '../errors.ts';
import type { AuthRefusalReason, Metrics } from '../metrics.ts';

// --auth sigv4: AWS Signature Version 4 on every control-plane request, checked the way AWS does
// and refused with the common error types AWS answers (all HTTP 403 on restJson services such as
// IVS Chat). The signature is recomputed with the AWS SDK's own signer, so that whatever the SDK
// signs verifies, rather than with a second, hand-written implementation of the algorithm.

const SERVICE = 'ivschat';
const ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS refuses a request whose X-Amz-Date is more than 5 minutes from its own clock, either way. */
const MAX_SKEW_MS = 5 * 60 * 1000;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

export interface AccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** What verification needs of a request, copied out of uWS's request object. */
export interface ReceivedRequest {
  /** Upper case, as it is signed. */
  method: string;
  /** As on the wire, still percent-encoded: the SDK signs the path it sends. */
  path: string;
  query: string;
  /** Lower-case names; repeated headers joined with commas, as SigV4 canonicalizes them. */
  headers: Record<string, string>;
}

class Refusal {
  constructor(
    readonly reason: AuthRefusalReason,
    readonly error: ApiError,
  ) {}
}

/**
 * For --auth sigv4, a function that reads the headers of a request now (uWS's request object is
 * valid only during its callback) and returns the check to run once the whole body is in; it
 * throws the ApiError to answer. Undefined with --auth none.
 */
export function requestAuthenticator(ctx: Context): ((req: UwsRequest) => (body: Buffer) => Promise<void>) | undefined {
  if (ctx.config.auth !== 'sigv4') return undefined;
  const verifier = new SignatureVerifier(ctx.config.accessKeys, ctx.config.region, ctx.metrics);
  return (req) => {
    const received = receivedRequest(req);
    return (body) => verifier.verify(received, body);
  };
}

export function receivedRequest(req: UwsRequest): ReceivedRequest {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  req.forEach((name, value) => {
    headers[name] = name in headers ? `${headers[name]},${value.trim()}` : value.trim();
  });
  return { method: req.getMethod().toUpperCase(), path: req.getUrl(), query: req.getQuery() ?? '', headers };
}

export class SignatureVerifier {
  /** One signer per key: the signer caches its derived signing key per day. */
  private readonly signers = new Map<string, SignatureV4>();

  constructor(
    keys: readonly AccessKey[],
    private readonly region: string,
    private readonly metrics: Metrics,
    private readonly now: () => number = Date.now,
  ) {
    for (const credentials of keys) {
      this.signers.set(
        credentials.accessKeyId,
        // applyChecksum off: the signer must not add an x-amz-content-sha256 header the client did not sign.
        new SignatureV4({ credentials, region, service: SERVICE, sha256: Sha256, uriEscapePath: true, applyChecksum: false }),
      );
    }
  }

  /** Resolves when `received` with `body` is signed by a known key within the clock window; else throws the ApiError to answer. */
  async verify(received: ReceivedRequest, body: Buffer): Promise<void> {
    const refusal = await this.check(received, body);
    if (refusal) {
      this.metrics.apiAuthRefusals.labels(refusal.reason).inc();
      throw refusal.error;
    }
  }

  private async check(received: ReceivedRequest, body: Buffer): Promise<Refusal | undefined> {
    const { headers } = received;
    const authorization = headers.authorization;
    if (!authorization) return new Refusal('missing_authentication', apiErrors.missingAuthentication());

    const parsed = parseAuthorization(authorization, headers['x-amz-date']);
    if (parsed instanceof Refusal) return parsed;
    const { accessKeyId, scope, signedHeaders, signature, amzDate } = parsed;

    const signer = this.signers.get(accessKeyId);
    // Temporary credentials (a session token) are never ours: only the configured long-term keys are.
    if (!signer || headers['x-amz-security-token'] !== undefined) {
      return new Refusal('unrecognized_client', apiErrors.unrecognizedClient());
    }

    const [date, region, service, terminator] = scope;
    const invalid = (message: string) => new Refusal('invalid_signature', apiErrors.invalidSignature(message));
    if (date !== amzDate.slice(0, 8)) {
      return invalid(
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
      );
    }
    if (region !== this.region) return invalid('Credential should be scoped to a valid region.');
    if (service !== SERVICE) return invalid(`Credential should be scoped to correct service: '${SERVICE}'.`);
    if (terminator !== 'aws4_request') return invalid(`Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'.`);

    const signedAt = dateOfAmzDate(amzDate);
    const now = this.now();
    if (signedAt < now - MAX_SKEW_MS) {
      return new Refusal(
        'signature_expired',
        apiErrors.invalidSignature(`Signature expired: ${amzDate} is now earlier than ${amzDateOf(now - MAX_SKEW_MS)} (${amzDateOf(now)} - 5 min.)`),
      );
    }
    if (signedAt > now + MAX_SKEW_MS) {
      return new Refusal(
        'signature_expired',
        apiErrors.invalidSignature(`Signature not yet current: ${amzDate} is still later than ${amzDateOf(now + MAX_SKEW_MS)} (${amzDateOf(now)} + 5 min.)`),
      );
    }

    // The signer takes a client's x-amz-content-sha256 on trust; the body received must be the one it names.
    const claimedHash = headers['x-amz-content-sha256'];
    if (claimedHash !== undefined && claimedHash !== createHash('sha256').update(body).digest('hex')) {
      return invalid('The provided x-amz-content-sha256 header does not match the SHA-256 of the request body.');
    }

    const toSign: Record<string, string> = {};
    for (const name of signedHeaders) {
      const value = headers[name];
      if (value !== undefined) toSign[name] = value;
    }
    const request = new HttpRequest({
      method: received.method,
      protocol: 'http:',
      hostname: headers.host ?? '',
      path: received.path,
      query: queryOf(received.query),
      headers: toSign,
      body,
    });
    const resigned = await signer.sign(request, {
      signingDate: new Date(signedAt),
      signingRegion: this.region,
      signingService: SERVICE,
      // Sign exactly what the client says it signed, even a header the SDK would leave out.
      signableHeaders: new Set(signedHeaders),
    });
    const expected = /Signature=([0-9a-f]+)$/.exec(String(resigned.headers.authorization))?.[1] ?? '';
    const given = Buffer.from(signature, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected, 'utf8'))) {
      return new Refusal('invalid_signature', apiErrors.invalidSignature());
    }
    return undefined;
  }
}

interface ParsedAuthorization {
  accessKeyId: string;
  /** date, region, service, terminator. */
  scope: [string, string, string, string];
  signedHeaders: string[];
  signature: string;
  amzDate: string;
}

/** `AWS4-HMAC-SHA256 Credential=ID/YYYYMMDD/region/service/aws4_request, SignedHeaders=a;b, Signature=hex`. */
function parseAuthorization(header: string, amzDate: string | undefined): ParsedAuthorization | Refusal {
  const incomplete = (message: string) => new Refusal('incomplete_signature', apiErrors.incompleteSignature(message));
  const space = header.indexOf(' ');
  const algorithm = space < 0 ? header : header.slice(0, space);
  if (algorithm !== ALGORITHM) return incomplete(`Unsupported Authorization Type: only ${ALGORITHM} is accepted.`);

  const params = new Map<string, string>();
  for (const part of header.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const problems = ['Credential', 'Signature', 'SignedHeaders']
    .filter((name) => !params.get(name))
    .map((name) => `Authorization header requires '${name}' parameter.`);
  if (amzDate === undefined) problems.push("Authorization header requires existence of a 'X-Amz-Date' header.");
  if (problems.length > 0) return incomplete(problems.join(' '));
  if (!AMZ_DATE.test(amzDate!)) return incomplete(`Date must be in ISO-8601 'basic format'. Got '${amzDate}'.`);

  const credential = params.get('Credential')!;
  const parts = credential.split('/');
  if (parts.length !== 5 || parts.some((part) => part === '')) {
    return incomplete(`Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'.`);
  }
  const signedHeaders = params.get('SignedHeaders')!.split(';');
  if (!signedHeaders.includes('host')) return incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  return { accessKeyId, scope: [date, region, service, terminator], signedHeaders, signature: params.get('Signature')!, amzDate: amzDate! };
}

function dateOfAmzDate(amzDate: string): number {
  const [, y, mo, d, h, mi, s] = AMZ_DATE.exec(amzDate)!;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
}

function amzDateOf(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** Decoded names and values (the signer encodes them again, its own way); repeated names as arrays. */
function queryOf(query: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of new URLSearchParams(query)) {
    const seen = out[name];
    out[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return out;
}
