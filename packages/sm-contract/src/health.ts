/** What sddc's node health monitor reads from sm. */
import type { Cluster, HaConfig } from '@cx/api-schemas';
import type { Machine } from './machines.js';

/** A machine as the health monitor needs it. */
export type WatchedMachine = Pick<Machine, 'id' | 'name' | 'pool' | 'role' | 'phase' | 'createdAt'>;
/** A cluster the health monitor watches: its policy (in `cluster.health` and the pools), machines and ha-configs. */
export interface HealthTarget {
  cluster: Cluster;
  machines: WatchedMachine[];
  haConfigs?: HaConfig[];
}
