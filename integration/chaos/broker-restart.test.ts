/**
 * Chaos (issue #7): SIGKILL the Kafka broker (a private one) mid-workload and start it again on its data folder;
 * nothing lost or doubled, agents agree. See broker-chaos.ts; the SIGTERM variant is broker-stop.test.ts.
 */
import { brokerRestartTest } from './broker-chaos.ts';

brokerRestartTest('SIGKILL the Kafka broker mid-workload, start it again on its data folder', 'SIGKILL');
