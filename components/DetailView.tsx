// Detail of one machine (Enter on a row): CPU and memory charts across the terminal's width over the
// chosen range ([ and ]: the last hour by sample, the last 24 h by 5 minutes or hour, the period by
// day), the machine's coverage of the period with its gaps, and its cost per day. Esc goes back;
// arrows move to the next machine.
import { useMemo } from 'react';
import { Box, Text } from 'ink';
import { useTheme } from './Theme.js';
import type { DetailHistory, MachineRow } from '../src/console/snapshot.js';
import type { DayCost } from '../src/console/history.js';
import type { TimeWindow } from '../src/billing/coverage.js';
import { ago, duration, money, percent } from '../src/console/format.js';
import { CHART_LABEL_WIDTH, timeChart } from '../src/console/charts.js';
import { HISTORY_RANGES, type HistoryRange } from '../src/console/ui-state.js';
import { fit, textWidth, truncate } from '../src/format/index.js';

export interface DetailViewProps {
  /** The machine's name, and its row when it is still known. */
  name: string;
  machine: MachineRow | undefined;
  /** Its history for the range, when the data side has it (null while it catches up). */
  history: DetailHistory | null;
  currency: string;
  now: number;
  width: number;
  height: number;
}

const GIB = 2 ** 30;
const INDENT = 2;
const RANGE_NAMES: Record<HistoryRange, string> = { hour: 'last hour', day: 'last 24 h', period: 'period' };

/** Columns of the charts' time axis in a detail view `width` wide (the data side buckets to it). */
export function detailChartColumns(width: number): number {
  return Math.max(0, width - INDENT - CHART_LABEL_WIDTH);
}

const pad2 = (n: number) => String(n).padStart(2, '0');
const utc = (t: number) => {
  const d = new Date(t);
  return `${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
};

function resolution(h: DetailHistory): string {
  if (h.stepMs === null) return 'by sample';
  if (h.stepMs >= 86_400_000) return 'by day';
  if (h.stepMs >= 3_600_000) return 'by hour';
  return `by ${Math.round(h.stepMs / 60_000)} min`;
}

/** "11-03 04:10–04:25 (15m)" for each gap, as many as fit on `lines` lines of `width`. */
function gapLines(gaps: readonly TimeWindow[], width: number, lines: number): string[] {
  const items = gaps.map((g) => `${utc(g.start)}–${utc(g.end).slice(6)} (${duration((g.end - g.start) / 1000)})`);
  return packItems(items, width, lines, (n) => `… ${n} more`);
}

/** Items joined with two spaces into at most `lines` lines; the last line says how many were left out. */
function packItems(items: readonly string[], width: number, lines: number, more: (n: number) => string): string[] {
  const out: string[] = [];
  let line: string[] = [];
  const join = (parts: string[]) => parts.join('  ');
  for (let i = 0; i < items.length; i++) {
    if (textWidth(join([...line, items[i]!])) <= width) {
      line.push(items[i]!);
      continue;
    }
    if (out.length + 1 >= lines) {
      // The last line: make room for "… N more" by leaving out items from its end.
      let left = items.length - i;
      while (line.length > 0 && textWidth(join([...line, more(left)])) > width) {
        line.pop();
        left++;
      }
      out.push(truncate(join([...line, more(left)]), width));
      return out;
    }
    out.push(join(line));
    line = [items[i]!];
  }
  if (line.length) out.push(join(line));
  return out;
}

/** The most recent days first to be cut: "11-01 $1.23". */
function costLines(days: readonly DayCost[], currency: string, width: number, lines: number): string[] {
  const items = days.map((d) => `${d.day.slice(5)} ${money(d.cost, currency)}`);
  // Newest days matter most: when they do not all fit, the oldest are left out.
  const packed = packItems([...items].reverse(), width, lines, (n) => `… ${n} earlier`);
  return packed;
}

export function DetailView({ name, machine, history, currency, now, width, height }: DetailViewProps) {
  const theme = useTheme();
  const own = history && history.machine === name ? history : null;
  const inner = width - INDENT;
  // Fixed lines: facts (2), range (1), chart titles (2), coverage (1), gaps (1), cost per day (1-3).
  const days = own?.costPerDay?.length ?? 0;
  const costRows = own?.costPerDay ? Math.min(3, Math.max(1, Math.ceil((days * 14) / Math.max(1, inner)))) : 0;
  const fixed = 5 + (own?.coverage ? 2 : 0) + costRows;
  const chartHeight = Math.max(0, Math.floor((height - fixed) / 2));
  const window = own ? { from: own.from, to: own.to, days: own.range === 'period' } : null;
  const cpuChart = useMemo(() => (own && window ? timeChart(own.points, 'cpu', window, inner, chartHeight) : []), [own, inner, chartHeight]);
  const memChart = useMemo(() => (own && window ? timeChart(own.points, 'mem', window, inner, chartHeight) : []), [own, inner, chartHeight]);
  if (!machine) {
    return (
      <Text wrap="truncate-end" color={theme.tone('warn')}>
        {`  ${name} is no longer in the fleet view (Esc to go back)`}
      </Text>
    );
  }
  const labels = Object.entries(machine.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const size = [machine.cores !== null ? `${machine.cores} cores` : null, machine.memTotalBytes !== null ? `${Math.round(machine.memTotalBytes / GIB)} GiB` : null]
    .filter(Boolean)
    .join(' · ');
  const range = own?.range ?? 'hour';
  const tabs = HISTORY_RANGES.map((r) => (r === range ? `[${RANGE_NAMES[r]}]` : ` ${RANGE_NAMES[r]} `)).join(' ');
  let status = '';
  if (!own || own.state === 'loading') status = 'reading history…';
  else if (own.state === 'error') status = own.message ?? 'history cannot be read';
  else if (own.state === 'tail-only') status = 'live tail only (no history source)';
  const cov = own?.coverage;
  const covered = cov && cov.to > cov.from ? (cov.coveredMs / (cov.to - cov.from)) * 100 : null;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text wrap="truncate-end">
        <Text bold color={theme.tone('accent')}>{`  ${machine.machine}`}</Text>
        {`  ${labels}${size ? `  ${size}` : ''}  last seen ${ago(machine.lastSeen, now)}`}
        {machine.stale ? <Text color={theme.tone('warn')}> stale</Text> : null}
      </Text>
      <Text wrap="truncate-end">
        {`  cost so far ${money(machine.periodCost, currency)} · now ${money(machine.costPerHour, currency)}/h · forecast ${money(machine.forecast, currency)} for the period`}
      </Text>
      <Text wrap="truncate-end">
        <Text bold>{`  ${tabs}`}</Text>
        <Text dimColor>{`  ${own ? resolution(own) : ''} · [ ] range`}</Text>
        {status ? <Text color={theme.tone(own?.state === 'error' ? 'warn' : 'muted')}>{`  ${status}`}</Text> : null}
      </Text>
      {chartHeight >= 3 ? (
        <>
          <Text wrap="truncate-end" bold>
            {`  CPU ${percent(machine.cpu)}`}
          </Text>
          <Box flexDirection="column" height={chartHeight}>
            {cpuChart.map((line, i) => (
              <Text key={i} wrap="truncate-end" color={i < chartHeight - 1 ? theme.tone('accent') : undefined} dimColor={i === chartHeight - 1}>
                {'  ' + line}
              </Text>
            ))}
          </Box>
          <Text wrap="truncate-end" bold>
            {`  Memory ${percent(machine.mem)}`}
          </Text>
          <Box flexDirection="column" height={chartHeight}>
            {memChart.map((line, i) => (
              <Text key={i} wrap="truncate-end" color={i < chartHeight - 1 ? theme.tone('ok') : undefined} dimColor={i === chartHeight - 1}>
                {'  ' + line}
              </Text>
            ))}
          </Box>
        </>
      ) : (
        <Text wrap="truncate-end" dimColor>
          {`  CPU ${percent(machine.cpu)} · memory ${percent(machine.mem)} (taller terminal for charts)`}
        </Text>
      )}
      {cov ? (
        <>
          <Text wrap="truncate-end">
            {`  coverage ${covered === null ? '—' : `${covered.toFixed(covered >= 99.95 || covered === 0 ? 0 : 1)}%`} of the period so far (${duration(cov.coveredMs / 1000)} of ${duration((cov.to - cov.from) / 1000)}) · `}
            <Text color={theme.tone(cov.gaps.length ? 'warn' : 'ok')}>{cov.gaps.length === 0 ? 'no gaps' : `${cov.gaps.length} gap${cov.gaps.length === 1 ? '' : 's'} (UTC):`}</Text>
          </Text>
          <Text wrap="truncate-end" dimColor>
            {fit('  ' + (gapLines(cov.gaps, inner, 1)[0] ?? ''), width)}
          </Text>
        </>
      ) : null}
      {own?.costPerDay
        ? costLines(own.costPerDay, currency, inner - 10, costRows).map((line, i) => (
            <Text key={i} wrap="truncate-end">
              {(i === 0 ? '  cost/day ' : '           ') + line}
            </Text>
          ))
        : null}
    </Box>
  );
}
