// Header: broker state (with a badge), topic, group, machine count, the clock; then the fleet's cost
// per hour right now, period-to-date cost and forecast, and the pipeline's lag in one word.
import { memo } from 'react';
import { Box, Text } from 'ink';
import { useTheme } from './Theme.js';
import { STATUS_TONE } from './LagPane.js';
import type { ConsoleSnapshot } from '../src/console/snapshot.js';
import { clock, count, duration, money, rate, textWidth } from '../src/console/format.js';

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
  const where = `  ${snapshot.topic} · group ${snapshot.group} · ${count(snapshot.machines.length)} machines${stale ? ` (${stale} stale)` : ''}`;
  const time = clock(now);
  const badgeWidth = broker.state === 'connected' ? 11 : broker.state === 'connecting' ? 12 : 22;
  const pausedText = paused ? ' PAUSED ' : '';
  const gap = Math.max(1, width - 6 - badgeWidth - textWidth(where) - pausedText.length - time.length - 1);
  const currency = fleet.currency;
  const costs =
    snapshot.ledger.state === 'ok'
      ? `${money(fleet.costPerHour, currency)}/h now · period ${money(fleet.periodCost, currency)} · forecast ${money(fleet.forecast, currency)}`
      : `costs: ledger ${snapshot.ledger.state}`;
  return (
    <Box flexDirection="column" width={width} height={2}>
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
        {`fleet ${costs} · lag ${count(lag.totalLag)} `}
        <Text bold color={theme.tone(STATUS_TONE[lag.status])}>
          {lag.state === 'loading' ? '…' : lag.status}
        </Text>
        {snapshot.tailRate !== null ? <Text dimColor>{` · tail ${rate(snapshot.tailRate)}`}</Text> : null}
      </Text>
    </Box>
  );
});
