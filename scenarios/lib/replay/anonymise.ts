// Recorded chat is people's words: by default a replay sends random text of the same shape instead
// — the same length in code points (what maximumMessageLength counts), whitespace where the
// original had it, the same attribute keys with values of the same length — so the server does
// the same work without the log's content ever leaving the machine it was read on.

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';


/** Code points, as IVS counts Content length (an emoji is one). */
export function codePoints(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out.push(text.slice(i, i + 2));
        i++;
        continue;
      }
    }
    out.push(text[i]!);
  }
  return out;
}

export function codePointLength(text: string): number {
  return codePoints(text).length;
}

/** UTF-8 bytes of a string, as the server counts the attribute budget. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

export function randomText(shape: string, random: () => number): string {
  let out = '';
  for (const c of codePoints(shape)) {
    // The random text must never be the recorded text, even by chance for a one-letter message.
    if (c === ' ' || c === '\n' || c === '\t') out += c;
    else {
      let r = LETTERS[Math.floor(random() * LETTERS.length)]!;
      if (r === c) r = LETTERS[(LETTERS.indexOf(r) + 1) % LETTERS.length]!;
      out += r;
    }
  }
  return out;
}

export function anonymiseAttributes(attributes: Record<string, string>, random: () => number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(attributes)) out[key] = randomText(attributes[key]!, random);
  return out;
}
