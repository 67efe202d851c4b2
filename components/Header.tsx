// Header: broker state (with a badge), topic, group, machine count, the clock; then the fleet's cost
// per hour right now, period-to-date cost and forecast with its interval (WHAT-IF first when the
// prices are the --rates card's, not the ledger's), budgets forecast past 80% or 100%, and the
// pipeline's lag in one word, and a warning when the ledger says offsets will never be billed; under
// `meter up`, a third line for a process that died.

import { memo } from 'react';
import { Box, Text } from 'ink';
import { useTheme } from './Theme.js';
import { STATUS_TONE } from './LagPane.js';
import { unbilledTotal, type ConsoleSnapshot } from '../src/console/snapshot.js';
import { clock, duration, money, rate } from '../src/console/format.js';
import { firstThatFits, textWidth, thousands } from '../src/format/index.js';

/** Rows the header takes for this snapshot. */
export function headerRows(snapshot: ConsoleSnapshot): number {
  return snapshot.pipeline.length > 0 ? 3 : 2;
}

export interface HeaderProps {
  snapshot: ConsoleSnapshot;
  paused: boolean;
  width: number;
}

function BrokerBadge({ broker, now }: { broker: ConsoleSnapshot['broker']; now: number }) {
  const theme = useTheme();
  if (broker.state === 'connected') return <Text color={theme.tone('ok')}>● connected</Text>;
  if (broker.state === 'connecting') return <Text color={theme.tone('muted')}>○ connecting</Text>;
  const since = broker.since !== null ? ` ${duration((now - broker.since) / 1000)}` : '';
  return (
    <Text color={theme.tone('warn')} inverse bold>
      {` ◌ RECONNECTING${since} `}
    </Text>
  );
}

export const Header = memo(function Header({ snapshot, paused, width }: HeaderProps) {
  const theme = useTheme();
  const { broker, fleet, lag, now } = snapshot;
  const stale = snapshot.machines.reduce((n, m) => n + (m.stale ? 1 : 0), 0);
  const time = clock(now);
  const badgeWidth = broker.state === 'connected' ? 11 : broker.state === 'connecting' ? 12 : 22;
  const pausedText = paused ? ' PAUSED ' : '';
  // Line 1: what is watched, as much of it as fits; the clock stays at the right edge.
  const room = width - 6 - badgeWidth - pausedText.length - time.length - 2;
  const n = `${thousands(snapshot.machines.length)} machines`;
  const staleText = stale ? ` (${stale} stale)` : '';
  const where = firstThatFits(
    [
      `  topic ${snapshot.topic} · group ${snapshot.group} · ${n}${staleText}`,
      `  ${snapshot.topic} · group ${snapshot.group} · ${n}${staleText}`,
      `  ${snapshot.topic} · group ${snapshot.group} · ${n}`,
      `  ${snapshot.topic} · ${snapshot.group} · ${n}`,
    ],
    Math.max(0, room),
  );
  const gap = Math.max(1, room - textWidth(where) + 1);
  // Line 2: money and lag; the lag status is never the part that is cut.
  const currency = fleet.currency;
  const status = lag.state === 'loading' ? '…' : lag.status;
  const lagText = `lag ${thousands(lag.totalLag)} `;
  // Samples a second as the live source reads them: accepted into the ledger, or the topic's tail.
  const tail = snapshot.tailRate !== null ? ` · ${snapshot.liveFrom === 'ledger' ? 'ledger' : 'tail'} ${rate(snapshot.tailRate)}` : '';
  // Offsets the ledger will never bill (lost to retention, passed over by a reset): never silent.
  const unbilled = unbilledTotal(snapshot.ledger.unbilledOffsets);
  const unbilledText = unbilled > 0 ? ` · ⚠ ${thousands(unbilled)} unbilled` : '';
  const ledgerOk = snapshot.ledger.state === 'ok';
  const perHour = money(fleet.costPerHour, currency);
  const period = money(fleet.periodCost, currency);
  const forecast = money(fleet.forecast, currency);
  // The forecast's interval, or that it stands on short history; narrower forms drop the level, then all of it.
  const hasInterval = fleet.forecastLower !== null && fleet.forecastUpper !== null;
  const range = hasInterval ? `${money(fleet.forecastLower, currency)}–${money(fleet.forecastUpper, currency)}` : '';
  const spread = hasInterval ? ` (${fleet.forecastLevel ?? 80}% ${range})` : fleet.forecastShortHistory ? ' (short history)' : '';
  const spreadNarrow = hasInterval ? ` (${range})` : fleet.forecastShortHistory ? ' (short)' : '';
  // Prices from the --rates card rather than the ledger's: said first, and never the part that is cut.
  const whatIfText = fleet.whatIf ? 'WHAT-IF' : '';
  const whatIfWidth = whatIfText ? whatIfText.length + 1 : 0;
  const over = snapshot.budgets.filter((b) => b.level === 'over').length;
  const warn = snapshot.budgets.filter((b) => b.level === 'warn').length;
  const budgetText = over || warn ? `budgets ${[over ? `${over} over` : '', warn ? `${warn} >80%` : ''].filter(Boolean).join(' ')} · ` : '';
  const costs = firstThatFits(
    ledgerOk
      ? [
          `fleet ${perHour}/h now · period ${period} · forecast ${forecast}${spread} · ${budgetText}`,
          `${perHour}/h now · period ${period} · forecast ${forecast}${spread} · ${budgetText}`,
          `${perHour}/h · period ${period} · fcst ${forecast}${spreadNarrow} · ${budgetText}`,
          `${perHour}/h · period ${period} · fcst ${forecast} · ${budgetText}`,
          `${perHour}/h · period ${period} · fcst ${forecast} · `,
        ]
      : [`costs: ledger ${snapshot.ledger.state} · `],
    Math.max(0, width - whatIfWidth - lagText.length - status.length - textWidth(unbilledText)),
  );
  const tailShown = whatIfWidth + textWidth(costs) + lagText.length + status.length + textWidth(unbilledText) + tail.length <= width ? tail : '';
  return (
    <Box flexDirection="column" width={width} height={headerRows(snapshot)}>
      <Text wrap="truncate-end">
        <Text bold>meter </Text>
        <BrokerBadge broker={broker} now={now} />
        {where}
        {' '.repeat(gap)}
        {paused ? (
          <Text inverse bold color={theme.tone('warn')}>
            {pausedText}
          </Text>
        ) : null}
        {` ${time}`}
      </Text>
      <Text wrap="truncate-end">
        {whatIfText ? (
          <Text bold inverse color={theme.tone('warn')}>
            {whatIfText}
          </Text>
        ) : null}
        {whatIfText ? ' ' : ''}
        {costs}
        {lagText}
        <Text bold color={theme.tone(STATUS_TONE[lag.status])}>
          {status}
        </Text>
        {unbilledText ? (
          <Text bold color={theme.tone('warn')}>
            {unbilledText}
          </Text>
        ) : null}
        {tailShown ? <Text dimColor>{tailShown}</Text> : null}
      </Text>
      {snapshot.pipeline.length > 0 ? (
        <Text wrap="truncate-end" color={theme.tone('error')} bold>
          {snapshot.pipeline
            .map((p) => `⚠ ${p.name} ${p.state === 'failed' ? 'died twice' : 'died, restarted once'} (${p.lastExit ?? 'exited'}), log ${p.logFile}`)
            .join(' · ')}
        </Text>
      ) : null}
    </Box>
  );
});
