/** On-call hours for tests that need a role to be off hours whenever they run. */

/** Hours (runbook YAML, flow style) that exclude today, yesterday and tomorrow: one whole day three days from now, UTC. */
export function offHours(): string {
  const day = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"][(new Date().getUTCDay() + 3) % 7];
  return `[{ days: [${day}], start: "00:00", end: "23:59", timezone: UTC }]`;
}
