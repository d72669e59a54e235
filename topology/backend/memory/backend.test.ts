/**
 * The memory backend passes the same contract as the kafka backend (topology/backend/contract.ts).
 */
import { backendContract } from '../contract.ts';
import { MemoryBackend } from './backend.ts';

backendContract('memory', async () => new MemoryBackend());
