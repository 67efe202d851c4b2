// One snapshot as plain text, for `--once` without --json and for stdout that is not a terminal:
// the header, every machine, the cost totals and the lag, with no selection and no height limit.
import { Box, Text } from 'ink';
import { Header } from './Header.js';
import { FleetPane } from './FleetPane.js';
import { CostPane } from './CostPane.js';
import { LagPane } from './LagPane.js';
import { costRows, fleetRows, lagRows, type ConsoleSnapshot } from '../src/console/snapshot.js';

export function PlainSnapshot({ snapshot, width }: { snapshot: ConsoleSnapshot; width: number }) {
  const fleet = fleetRows(snapshot.machines, '', { key: 'name', reverse: false });
  const cost = snapshot.costs ? costRows(snapshot.costs, snapshot.machines, '', { key: 'cost', reverse: false }) : [];
  const lag = lagRows(snapshot.lag, { key: 'partition', reverse: false });
  const lagHeight = 1 + lag.length + 1 + 1 + Math.max(1, snapshot.lag.members.length);
  return (
    <Box flexDirection="column" width={width}>
      <Header snapshot={snapshot} paused={false} width={width} />
      <Text> </Text>
      <Text bold>Fleet</Text>
      <FleetPane rows={fleet} currency={snapshot.fleet.currency} now={snapshot.now} width={width} height={fleet.length + 2} selected={-1} scroll={0} active={false} />
      <Text> </Text>
      <Text bold>Cost</Text>
      <CostPane costs={snapshot.costs} lines={cost} ledger={snapshot.ledger} by={snapshot.costs?.by ?? 'machine'} width={width} height={cost.length + 3} selected={-1} scroll={0} active={false} />
      <Text> </Text>
      <Text bold>Lag</Text>
      <LagPane lag={snapshot.lag} rows={lag} group={snapshot.group} width={width} height={lagHeight} selected={-1} scroll={0} active={false} />
    </Box>
  );
}
