/** Hostile runbook files for the validation bounds: shared by test/validate-bounds.test.ts and bench/validate.ts. */

/** Just under the input limit (MAX_RUNBOOK_BYTES in src/runbook/source.ts). */
export const HOSTILE_SIZE = 2 * 1024 * 1024 - 1024;

/** A valid start: everything a runbook needs, so what follows is the only problem. */
export const HOSTILE_HEAD = `apiVersion: gantry/v1
metadata: { name: hostile, service: web }
environments:
  production: { url: https://app.example.com }
deploy:
  provider: command
  deploy: ./deploy.sh
  rollback: ./rollback.sh
`;

/** `head`, then `unit(i)` for i = 0, 1, … while the whole (with `tail`) stays within `size`; and how many units. */
export function repeatUnits(
  head: string,
  unit: (i: number) => string,
  tail = "",
  size = HOSTILE_SIZE,
): { text: string; count: number } {
  const parts = [head];
  let length = head.length + tail.length;
  let count = 0;
  for (;;) {
    const next = unit(count);
    if (length + next.length > size) break;
    parts.push(next);
    length += next.length;
    count++;
  }
  parts.push(tail);
  return { text: parts.join(""), count };
}
