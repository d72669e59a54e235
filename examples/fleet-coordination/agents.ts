/**
 * Fleet coordination: a slot is held by the first vehicle whose reservation the execution order puts first;
 * a vehicle's projection lists the slots it holds. Conflicting reservations share the slot key, so every agent
 * sees them in the same order and picks the same winner.
 */
import { registerAgents, type Reducer } from '../../processors/index.ts';
import type { ProcessorRegistry } from '../../topology/registry.ts';

export interface Reservation {
  vehicle: string;
  slot: string;
}

export type FleetState = { holder: string } | { holds: string[] };

export const slotReducer: Reducer<FleetState> = (state, decision) => {
  const r = decision.payloadJson as Reservation;
  if (decision.key.startsWith('slot:')) {
    if (state && 'holder' in state) {
      return { state, actions: [{ action: 'rejected', slot: r.slot, vehicle: r.vehicle, heldBy: state.holder }] };
    }
    return { state: { holder: r.vehicle }, actions: [{ action: 'granted', slot: r.slot, vehicle: r.vehicle }] };
  }
  const holds = state && 'holds' in state ? state.holds : [];
  return { state: { holds: [...holds, r.slot] } };
};

export function register(registry: ProcessorRegistry): void {
  registerAgents(registry, new Map([['slots', slotReducer as Reducer<unknown>]]));
}
