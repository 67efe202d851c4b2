// One spool line per record, each checked on its own, so a torn or damaged tail is found and cut:
//
//   <crc32 of the rest, 8 hex>\t<JSON key>\t<value>\t<state JSON or nothing>\n
//
// A record may carry the host sampler's state (its counters and clocks after the sample), so taking
// a sample, spooling it and advancing the counters is one write: after a kill at any instant the
// last whole line is both the last sample and the state to continue from. A line with an empty key
// is a marker: state only (an agent's first start), never published. Lines of the first format,
// `<JSON key>\t<value>` without a check, are still read, so an upgrade loses nothing spooled.
import { crc32 } from 'node:zlib';

export type SpoolLine =
  | { kind: 'record'; key: string; value: string; state: string | undefined }
  | { kind: 'marker'; state: string };

const HEX = /^[0-9a-f]{8}$/;

export function encodeLine(key: string | null, value: string, state?: string): string {
  const body = `${key === null ? '' : JSON.stringify(key)}\t${value}\t${state ?? ''}`;
  return `${crc32(body).toString(16).padStart(8, '0')}\t${body}\n`;
}

/** Parses one line (without its newline); undefined when it is damaged. */
export function decodeLine(line: string): SpoolLine | undefined {
  if (line.startsWith('"')) return decodeLegacy(line);
  const firstTab = line.indexOf('\t');
  if (firstTab !== 8 || !HEX.test(line.slice(0, 8))) return undefined;
  const body = line.slice(9);
  if (crc32(body) !== Number.parseInt(line.slice(0, 8), 16)) return undefined;
  const keyEnd = body.indexOf('\t');
  const stateStart = body.lastIndexOf('\t');
  if (keyEnd < 0 || stateStart === keyEnd) return undefined;
  const state = body.slice(stateStart + 1) || undefined;
  if (keyEnd === 0) return state ? { kind: 'marker', state } : undefined;
  const key = parseKey(body.slice(0, keyEnd));
  if (key === undefined) return undefined;
  return { kind: 'record', key, value: body.slice(keyEnd + 1, stateStart), state };
}

function decodeLegacy(line: string): SpoolLine | undefined {
  const tab = line.indexOf('\t');
  if (tab < 0) return undefined;
  const key = parseKey(line.slice(0, tab));
  return key === undefined ? undefined : { kind: 'record', key, value: line.slice(tab + 1), state: undefined };
}

function parseKey(text: string): string | undefined {
  try {
    const key: unknown = JSON.parse(text);
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}
