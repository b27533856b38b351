/** What a deploy provider's templates see besides the run's values: the release, a canary's weight. */

/** `release` values: the version to serve and, when known, the one before it. */
export function releaseValues(v: { version: string; previousVersion?: string }): Record<string, unknown> {
  return { version: v.version, ...(v.previousVersion ? { previousVersion: v.previousVersion } : {}) };
}

/** `canary.weight`, in percent (one decimal), when a canary step fills the template. */
export function canaryValues(weight: number | undefined): Record<string, unknown> {
  return weight !== undefined ? { canary: { weight: Math.round(weight * 1000) / 10 } } : {};
}
