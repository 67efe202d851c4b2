// What a running agent knows about itself, read at scrape time by --metrics (agent-metrics.ts).
// Plain fields and getters, so an agent without --metrics never loads the metrics library.

export interface AgentStats {
  samplesTaken: number;
  samplesPublished(): number;
  spoolBytes(): number;
  spoolRecords(): number;
  droppedAtBound(): number;
  lostInRecovery(): number;
  /** Epoch ms of the last acknowledged send, 0 before the first. */
  lastPublishMs(): number;
  brokerConnected(): boolean;
  clockSteps(): number;
  /** Called with each produce request's latency in seconds, once metrics are on. */
  observePublish: ((seconds: number) => void) | undefined;
}
