import { readFileSync } from 'node:fs';

// The server's memory as the kernel counts it, read from /proc (Linux): RSS now and its peak
// (VmHWM) since the process started. Resolution is one page; no scrape, so reading it costs the
// server nothing.

export interface ProcessMemory {
  rssBytes: number;
  peakRssBytes: number;
}

export function processMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(match[1]) * 1024;
  };
  return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
}

/** Samples RSS every `ms` until stopped; returns the highest seen (VmHWM covers the whole life). */
export function watchRss(pid: number, ms = 50): { stop(): number } {
  let peak = processMemory(pid).rssBytes;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, processMemory(pid).rssBytes);
    } catch {
      // the process ended: keep the last peak
    }
  }, ms);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}
