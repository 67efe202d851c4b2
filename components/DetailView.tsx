// Detail of one machine (Enter on a row): CPU and memory over the recent window as line charts, and
// its cost so far and forecast for the period. Esc goes back; arrows move to the next machine.
import { useMemo } from 'react';
import { Box, Text } from 'ink';
import { useTheme } from './Theme.js';
import type { MachineHistory, MachineRow } from '../src/console/snapshot.js';
import { ago, duration, money, percent } from '../src/console/format.js';
import { percentChart } from '../src/console/charts.js';

export interface DetailViewProps {
  /** The machine's name, and its row when it is still known. */
  name: string;
  machine: MachineRow | undefined;
  /** Its whole recent history, when the data side has it (null while it catches up). */
  history: MachineHistory | null;
  currency: string;
  now: number;
  width: number;
  height: number;
}

const GIB = 2 ** 30;

export function DetailView({ name, machine, history, currency, now, width, height }: DetailViewProps) {
  const theme = useTheme();
  // Two lines of facts, then two charts with a title line each.
  const chartHeight = Math.max(0, Math.floor((height - 4) / 2));
  const own = history && history.machine === name ? history : null;
  const cpuChart = useMemo(() => percentChart(own?.cpu ?? [], width - 2, chartHeight), [own?.cpu, width, chartHeight]);
  const memChart = useMemo(() => percentChart(own?.mem ?? [], width - 2, chartHeight), [own?.mem, width, chartHeight]);
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
  const size = [
    machine.cores !== null ? `${machine.cores} cores` : null,
    machine.memTotalBytes !== null ? `${Math.round(machine.memTotalBytes / GIB)} GiB` : null,
  ]
    .filter(Boolean)
    .join(' · ');
  const times = own?.ends ?? [];
  const span = times.length >= 2 ? duration((times[times.length - 1]! - times[0]!) / 1000) : null;
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
      {chartHeight >= 2 ? (
        <>
          <Text wrap="truncate-end" bold>
            {`  CPU ${percent(machine.cpu)}${span ? ` · last ${span}` : ''}`}
          </Text>
          <Box flexDirection="column" height={chartHeight}>
            {cpuChart.map((line, i) => (
              <Text key={i} wrap="truncate-end" color={theme.tone('accent')}>
                {'  ' + line}
              </Text>
            ))}
          </Box>
          <Text wrap="truncate-end" bold>
            {`  Memory ${percent(machine.mem)}${span ? ` · last ${span}` : ''}`}
          </Text>
          <Box flexDirection="column" height={chartHeight}>
            {memChart.map((line, i) => (
              <Text key={i} wrap="truncate-end" color={theme.tone('ok')}>
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
    </Box>
  );
}
