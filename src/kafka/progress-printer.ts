// Prints the local broker's progress (jar download, format, start) for people, shared by
// `meter kafka` and `meter up`.
import type { BrokerProgress } from './local-broker.js';

function formatBytes(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.round(bytes / 1e3)} kB`;
}

/**
 * Progress on stderr (stdout carries the result): on a terminal the download count updates in place;
 * elsewhere (CI logs) a line every 2 seconds at most.
 */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): { onProgress: (p: BrokerProgress) => void; end: () => void } {
  const tty = Boolean(stream.isTTY);
  let inPlace = false;
  let lastLine = 0;
  const endLine = () => {
    if (inPlace) stream.write('\n');
    inPlace = false;
  };
  return {
    onProgress: (p) => {
      if (p.stage === 'fetch') {
        const line = `  downloaded ${p.files ?? 0} files, ${formatBytes(p.bytes ?? 0)}`;
        if (tty) {
          const width = Math.max(20, (stream.columns || 80) - 1);
          stream.write(`\r${`${line}  ${p.message}`.slice(0, width).padEnd(width)}`);
          inPlace = true;
        } else if (Date.now() - lastLine >= 2000) {
          stream.write(`${line}\n`);
          lastLine = Date.now();
        }
        return;
      }
      endLine();
      stream.write(`${p.stage === 'done' ? '  ' : ''}${p.message}\n`);
    },
    end: endLine,
  };
}
