// Every command the binary offers. Only commands that work are listed.
import type { CommandModule } from 'yargs';
import { agentCommand } from './agent.js';
import { kafkaCommand } from './kafka.js';
import { workerCommand } from './worker.js';
import { invoiceCommand } from './invoice.js';
import { consoleCommand } from './console.js';
import { upCommand } from './up.js';
import { budgetsCommand } from './budgets.js';
import { ledgerCommand } from './ledger.js';
import { ratesCommand } from './rates.js';
import { dlqCommand } from './dlq.js';
import { forecastCommand } from './forecast.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [agentCommand, kafkaCommand, workerCommand, invoiceCommand, consoleCommand, budgetsCommand, forecastCommand, ratesCommand, dlqCommand, ledgerCommand, upCommand];
