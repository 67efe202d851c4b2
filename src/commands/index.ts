// Every command the binary offers. Only commands that work are listed.
import type { CommandModule } from 'yargs';
import { agentCommand } from './agent.js';
import { kafkaCommand } from './kafka.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [agentCommand, kafkaCommand];
