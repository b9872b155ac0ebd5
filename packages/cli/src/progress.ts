/**
 * Transfer progress on stderr (stdout carries results): on a terminal, one line redrawn in place with a
 * bar, the bytes and the rate; otherwise plain lines, `name: 42% (1.3 MiB of 3.0 MiB)`, at most one a second
 * plus the first and the last, so that logs stay short.
 */
export interface Progress {
  /** `bytes` of the total are done. */
  update(bytes: number): void;
  /** Ends the display (the bar's line is finished, so later output starts on a new line). Idempotent. */
  finish(): void;
}

const BAR_WIDTH = 24;
const REDRAW_INTERVAL_MS = 100;
const LINE_INTERVAL_MS = 1000;

export function progressReporter(label: string, totalBytes: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = performance.now();
  let shownAt = -Infinity;
  let shownPercent = -1;
  let lastBytes = 0;
  let finished = false;
  const percentOf = (bytes: number): number => (totalBytes === 0 ? 100 : Math.floor((bytes / totalBytes) * 100));

  const draw = (bytes: number): void => {
    const percent = percentOf(bytes);
    const filled = Math.round((percent / 100) * BAR_WIDTH);
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? `  ${formatBytes(bytes / seconds)}/s` : '';
    const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}`;
    stream.write(`\r${label} [${bar}] ${String(percent).padStart(3)}%  ${formatBytes(bytes)} of ${formatBytes(totalBytes)}${rate}\x1b[K`);
  };

  const line = (bytes: number): void => {
    stream.write(`${label}: ${percentOf(bytes)}% (${formatBytes(bytes)} of ${formatBytes(totalBytes)})\n`);
  };

  return {
    update(bytes) {
      if (finished) return;
      lastBytes = bytes;
      const now = performance.now();
      const percent = percentOf(bytes);
      if (stream.isTTY) {
        if (now - shownAt < REDRAW_INTERVAL_MS && bytes < totalBytes) return;
        draw(bytes);
      } else {
        if (percent === shownPercent || (now - shownAt < LINE_INTERVAL_MS && bytes < totalBytes && shownPercent >= 0)) return;
        line(bytes);
      }
      shownAt = now;
      shownPercent = percent;
    },
    finish() {
      if (finished) return;
      finished = true;
      if (stream.isTTY) {
        draw(lastBytes);
        stream.write('\n');
      } else if (percentOf(lastBytes) !== shownPercent) {
        line(lastBytes);
      }
    },
  };
}

/** `512 B`, `12.5 KiB`, `3.0 MiB`, `1.2 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `45 s`, `6 min 33 s`, `2 h 5 min`. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
