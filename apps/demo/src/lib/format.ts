/** Formatting for people: sizes, percentages, short ids, clock times. */

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** Whole percent, 100 only when complete (99.6% is not done). */
export function percent(done: number, total: number): number {
  if (total <= 0) return 100;
  return done >= total ? 100 : Math.min(99, Math.floor((done / total) * 100));
}

/** The last part of an identity (`8:backchannel:<uuid>`), short enough to tell people apart. */
export function shortId(identity: string): string {
  const tail = identity.split(':').at(-1) ?? identity;
  return tail.slice(0, 8);
}

export function clockTime(date: Date): string {
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}
