// The clock is injected so that tests move time instead of sleeping through TTLs.
export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

export function iso(ms: number): string {
  return new Date(ms).toISOString()
}
